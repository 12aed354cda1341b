// GEMM throughput of chainrule's native backend (every core, and one thread) against its
// WebAssembly backend (two threads and one), TensorFlow.js (wasm and cpu backends, when
// `npm run bench:setup` installed it) and PyTorch when the system Python has it (default
// threading, and one thread), on square sizes and the shapes an MNIST MLP's training step
// multiplies.
//
//   node dist/bench/gemm.js
//
// Each figure is the best of many timed runs after warm-up: the development VM shares its
// host's cores, so a second thread sometimes gets no core of its own for seconds at a time
// and medians wander by tens of percent. Medians are kept in the rows for comparison.

import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import type { Kernels, MatmulSpec } from '../src/backend/kernels.js';
import { createNativeKernels, loadNativeAddon } from '../src/backend/native/index.js';
import { createWasmKernels, createWasmKernelsSync } from '../src/backend/wasm/index.js';
import { alignedColumns } from './columns.js';
import { progress } from './progress.js';
import { SYSTEM_PYTHON } from './python.js';
import { loadTfjs, type TF } from './tfjs.js';

export interface GemmShape {
  label: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

export interface GemmBenchRow extends GemmShape {
  backend: string;
  /** From the best run. */
  gflops: number;
  medianGflops: number;
  bestMs: number;
}

const square = (size: number): GemmShape => ({
  label: `${size}³`,
  m: size,
  n: size,
  k: size,
  transA: false,
  transB: false,
});

/** Squares, then the forward and both gradient products of a 784-1024-10 MLP at batch 128. */
export const GEMM_SHAPES: readonly GemmShape[] = [
  square(256),
  square(512),
  square(1024),
  { label: '128x784 · 784x1024', m: 128, n: 1024, k: 784, transA: false, transB: false },
  { label: '(784x128)ᵀ · 128x1024', m: 784, n: 1024, k: 128, transA: true, transB: false },
  { label: '128x1024 · (784x1024)ᵀ', m: 128, n: 784, k: 1024, transA: false, transB: true },
  { label: '128x1024 · 1024x10', m: 128, n: 10, k: 1024, transA: false, transB: false },
  { label: '(1024x128)ᵀ · 128x10', m: 1024, n: 10, k: 128, transA: true, transB: false },
  { label: '128x10 · (1024x10)ᵀ', m: 128, n: 1024, k: 10, transA: false, transB: true },
];

const flops = (s: GemmShape): number => 2 * s.m * s.n * s.k;

/** The row every ratio is taken from: the native backend with its default threads. */
const OURS = 'chainrule-native';

const WARMUP_MS = 300;
/**
 * Timing is spread over rounds that each visit every shape and backend, so that all of them
 * sample the same stretch of time on a machine whose load changes by the second.
 */
const ROUNDS = 3;
const ROUND_MS = 300;
const MIN_RUNS_PER_ROUND = 3;

function random(length: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

/** Stored operand shapes: A is [k, m] when transposed, B is [n, k] when transposed. */
function operandShapes(s: GemmShape): { a: [number, number]; b: [number, number] } {
  return { a: s.transA ? [s.k, s.m] : [s.m, s.k], b: s.transB ? [s.n, s.k] : [s.k, s.n] };
}

/** A backend ready to multiply one shape's operands. */
interface Session {
  run(): void;
  stop(): void;
}

interface Contender {
  backend: string;
  start(shape: GemmShape): Promise<Session>;
}

function kernelsContender(backend: string, kernels: Kernels): Contender {
  return {
    backend,
    start: async (shape) => {
      const { a, b } = operandShapes(shape);
      const left = random(a[0] * a[1], 1);
      const right = random(b[0] * b[1], 2);
      const out = new Float32Array(shape.m * shape.n);
      const spec: MatmulSpec = { batch: 1, aBatchStride: 0, bBatchStride: 0, ...shape };
      return { run: () => kernels.matmul(left, right, out, spec), stop: () => {} };
    },
  };
}

function tfjsContender(tf: TF, backend: 'wasm' | 'cpu'): Contender {
  return {
    backend: `tfjs-${backend}`,
    start: async (shape) => {
      await tf.setBackend(backend);
      await tf.ready();
      const { a, b } = operandShapes(shape);
      const left = tf.tensor2d(random(a[0] * a[1], 1), a);
      const right = tf.tensor2d(random(b[0] * b[1], 2), b);
      return {
        run: () => {
          const product = tf.matMul(left, right, shape.transA, shape.transB);
          product.dataSync();
          product.dispose();
        },
        stop: () => {
          left.dispose();
          right.dispose();
        },
      };
    },
  };
}

function timeFor(run: () => void, ms: number, minRuns: number): number[] {
  const times: number[] = [];
  const end = performance.now() + ms;
  while (times.length < minRuns || performance.now() < end) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return times;
}

function row(shape: GemmShape, backend: string, times: number[]): GemmBenchRow {
  const sorted = [...times].sort((x, y) => x - y);
  const best = sorted[0];
  const median = sorted[sorted.length >> 1];
  return {
    ...shape,
    backend,
    gflops: flops(shape) / best / 1e6,
    medianGflops: flops(shape) / median / 1e6,
    bestMs: best,
  };
}

// Timed inside Python with the same rounds, with torch's default threading or one thread.
const TORCH_SCRIPT = `
import json, sys, time, torch
shapes = json.loads(sys.argv[1])
if int(sys.argv[2]) > 0: torch.set_num_threads(int(sys.argv[2]))
warmup, rounds, round_s, min_runs = ${WARMUP_MS / 1000}, ${ROUNDS}, ${ROUND_MS / 1000}, ${MIN_RUNS_PER_ROUND}
times = [[] for _ in shapes]
for r in range(rounds):
    for i, s in enumerate(shapes):
        a = torch.rand(*((s['k'], s['m']) if s['transA'] else (s['m'], s['k']))) * 2 - 1
        b = torch.rand(*((s['n'], s['k']) if s['transB'] else (s['k'], s['n']))) * 2 - 1
        run = lambda: torch.matmul(a.t() if s['transA'] else a, b.t() if s['transB'] else b)
        end = time.perf_counter() + (warmup if r == 0 else 0)
        while time.perf_counter() < end: run()
        end = time.perf_counter() + round_s
        count = 0
        while count < min_runs or time.perf_counter() < end:
            t = time.perf_counter(); run(); times[i].append((time.perf_counter() - t) * 1000); count += 1
print(json.dumps(times))
`;

/** Environment that holds torch and its BLAS to one thread. */
export const ONE_THREAD_ENV = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };

/** PyTorch's rows: default threading (threads 0) or one thread. */
function benchTorch(shapes: readonly GemmShape[], threads: 0 | 1): GemmBenchRow[] {
  if (spawnSync(SYSTEM_PYTHON, ['-c', 'import torch']).status !== 0) return [];
  progress(`GEMM: PyTorch, ${threads ? '1 thread' : 'default threading'}`);
  // Every timing comes back, which can pass spawnSync's default 1 MiB output limit.
  const result = spawnSync(SYSTEM_PYTHON, ['-c', TORCH_SCRIPT, JSON.stringify(shapes), String(threads)], {
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
    env: threads ? { ...process.env, ...ONE_THREAD_ENV } : process.env,
  });
  if (result.status !== 0)
    throw new Error(`PyTorch benchmark failed: ${result.error?.message ?? result.stderr}`);
  const times: number[][] = JSON.parse(result.stdout);
  return shapes.map((shape, i) => row(shape, threads ? 'torch-1t' : 'torch', times[i]));
}

/** Measures every shape on every available backend. */
export async function runGemmBench(shapes: readonly GemmShape[] = GEMM_SHAPES): Promise<GemmBenchRow[]> {
  const single = await createWasmKernels({ threads: 1 });
  const double = await createWasmKernels({ threads: 2 });
  const contenders: Contender[] = [];
  if (loadNativeAddon().loaded) {
    const native = createNativeKernels(createWasmKernelsSync());
    contenders.push(kernelsContender(OURS, native));
    contenders.push(
      kernelsContender('chainrule-native-1t', createNativeKernels(createWasmKernelsSync(), { threads: 1 })),
    );
  } else {
    process.stderr.write('chainrule native skipped: the addon is not built (see `npx chainrule info`)\n');
  }
  contenders.push(
    kernelsContender('chainrule-wasm-2t', double),
    kernelsContender('chainrule-wasm-1t', single),
  );
  const tf = loadTfjs();
  if (tf) contenders.push(tfjsContender(tf, 'wasm'), tfjsContender(tf, 'cpu'));
  const runs = shapes.flatMap((shape) =>
    contenders.map((contender) => ({ shape, contender, times: [] as number[] })),
  );
  try {
    for (let round = 0; round < ROUNDS; round++) {
      progress(
        `GEMM: round ${round + 1} of ${ROUNDS} over ${shapes.length} shapes and ${contenders.length} backends`,
      );
      for (const { shape, contender, times } of runs) {
        const session = await contender.start(shape);
        if (round === 0) timeFor(session.run, WARMUP_MS, 1);
        times.push(...timeFor(session.run, ROUND_MS, MIN_RUNS_PER_ROUND));
        session.stop();
      }
    }
  } finally {
    await single.close();
    await double.close();
  }
  return [
    ...runs.map(({ shape, contender, times }) => row(shape, contender.backend, times)),
    ...benchTorch(shapes, 0),
    ...benchTorch(shapes, 1),
  ];
}

/** One line per shape: GFLOP/s per backend, then chainrule native over each peer. */
export function formatGemmTable(rows: readonly GemmBenchRow[]): string {
  const backends = [...new Set(rows.map((r) => r.backend))];
  const peers = backends.filter((b) => b !== OURS);
  const labels = [...new Set(rows.map((r) => r.label))];
  const find = (label: string, backend: string) =>
    rows.find((r) => r.label === label && r.backend === backend);
  const header = ['shape', ...backends, ...peers.map((p) => `native/${p.replace('chainrule-', '')}`)];
  const lines = labels.map((label) => {
    const ours = find(label, OURS)?.gflops;
    const figures = backends.map((b) => find(label, b)?.gflops.toFixed(1) ?? '-');
    const ratios = peers.map((p) => {
      const theirs = find(label, p)?.gflops;
      return ours && theirs ? `${(ours / theirs).toFixed(2)}x` : '-';
    });
    return [label, ...figures, ...ratios];
  });
  return [
    'GEMM, float32, GFLOP/s (best of several runs); ratios are chainrule native (default threads) over each peer',
    ...alignedColumns(header, lines),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatGemmTable(await runGemmBench()));
}
