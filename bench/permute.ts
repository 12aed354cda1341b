// Permuting copies, x.permute(dims) laid out contiguously, on chainrule's native backend
// (every core, and one thread) against PyTorch's x.permute(dims).contiguous() (default
// threading, and one thread), measured in the same run: a square transpose and the window
// layouts a locally connected layer moves between ([batch, taps, positions] <-> [positions,
// taps, batch]) at the unsupervised-local row's sizes, batch 200 (positives and negatives).
//
//   node dist/bench/permute.js

import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createNativeKernels, loadNativeAddon } from '../src/backend/native/index.js';
import { createWasmKernelsSync } from '../src/backend/wasm/index.js';
import { contiguousStrides } from '../src/ops/broadcast.js';
import { sizeOf } from '../src/tensor/tensor.js';
import { alignedColumns } from './columns.js';
import { ONE_THREAD_ENV } from './gemm.js';
import { SYSTEM_PYTHON } from './python.js';

export interface PermuteCase {
  label: string;
  shape: number[];
  dims: number[];
}

export const PERMUTE_CASES: readonly PermuteCase[] = [
  { label: 'transpose 2000x2000', shape: [2000, 2000], dims: [1, 0] },
  { label: 'local 1: [200, 100, 16]', shape: [200, 100, 16], dims: [2, 1, 0] },
  { label: 'local 2: [200, 512, 9]', shape: [200, 512, 9], dims: [2, 1, 0] },
  { label: 'local 3: [200, 880, 4]', shape: [200, 880, 4], dims: [2, 1, 0] },
];

export interface PermuteBenchRow {
  label: string;
  runner: string;
  /** Millions of elements moved per second, from the best run. */
  melementsPerSecond: number;
}

const RUNS = 40;

function nativeRows(threads: number | undefined, runner: string): PermuteBenchRow[] {
  const kernels = createNativeKernels(createWasmKernelsSync(), threads ? { threads } : {});
  return PERMUTE_CASES.map(({ label, shape, dims }) => {
    const size = sizeOf(shape);
    const data = Float32Array.from({ length: size }, (_, i) => i % 1000);
    const strides = contiguousStrides(shape);
    const view = { data, offset: 0, strides: dims.map((d) => strides[d]) };
    const permuted = dims.map((d) => shape[d]);
    // One output for every run, written before the first: PyTorch's caching allocator hands
    // .contiguous() memory it has touched before, and a fresh array would add page faults
    // to our side only.
    const out = new Float32Array(size).fill(0);
    let best = Number.POSITIVE_INFINITY;
    for (let run = 0; run < RUNS; run++) {
      const start = performance.now();
      kernels.copy(view, out, permuted);
      best = Math.min(best, performance.now() - start);
    }
    return { label, runner, melementsPerSecond: size / best / 1e3 };
  });
}

const TORCH_SCRIPT = `
import json, sys, time, torch
cases, runs = json.loads(sys.argv[1]), ${RUNS}
if int(sys.argv[2]) > 0: torch.set_num_threads(int(sys.argv[2]))
best = []
for c in cases:
    x = torch.rand(*c['shape'])
    times = []
    for _ in range(runs):
        t = time.perf_counter(); x.permute(*c['dims']).contiguous(); times.append(time.perf_counter() - t)
    best.append(min(times) * 1000)
print(json.dumps(best))
`;

function torchRows(threads: 0 | 1, runner: string): PermuteBenchRow[] {
  if (spawnSync(SYSTEM_PYTHON, ['-c', 'import torch']).status !== 0) return [];
  const result = spawnSync(
    SYSTEM_PYTHON,
    ['-c', TORCH_SCRIPT, JSON.stringify(PERMUTE_CASES), String(threads)],
    {
      encoding: 'utf8',
      env: threads ? { ...process.env, ...ONE_THREAD_ENV } : process.env,
    },
  );
  if (result.status !== 0)
    throw new Error(`PyTorch benchmark failed: ${result.error?.message ?? result.stderr}`);
  const best: number[] = JSON.parse(result.stdout);
  return PERMUTE_CASES.map(({ label, shape }, i) => ({
    label,
    runner,
    melementsPerSecond: sizeOf(shape) / best[i] / 1e3,
  }));
}

export function runPermuteBench(): PermuteBenchRow[] {
  if (!loadNativeAddon().loaded) {
    process.stderr.write('permute: chainrule native skipped, the addon is not built\n');
    return [];
  }
  return [
    ...nativeRows(undefined, 'native'),
    ...nativeRows(1, 'native-1t'),
    ...torchRows(0, 'torch'),
    ...torchRows(1, 'torch-1t'),
  ];
}

/** One line per case: M elements/s per runner, then native over torch at matching threads. */
export function formatPermuteTable(rows: readonly PermuteBenchRow[]): string {
  const runners = [...new Set(rows.map((r) => r.runner))];
  const of = (label: string, runner: string) =>
    rows.find((r) => r.label === label && r.runner === runner)?.melementsPerSecond;
  const ratio = (label: string, ours: string, theirs: string) => {
    const [a, b] = [of(label, ours), of(label, theirs)];
    return a && b ? `${(a / b).toFixed(2)}x` : '-';
  };
  const header = ['case', ...runners, 'native/torch', 'native-1t/torch-1t'];
  const lines = PERMUTE_CASES.map(({ label }) => [
    label,
    ...runners.map((r) => of(label, r)?.toFixed(0) ?? '-'),
    ratio(label, 'native', 'torch'),
    ratio(label, 'native-1t', 'torch-1t'),
  ]);
  return [
    'Permuting copies, float32, M elements/s (best of 40 runs); ratios are chainrule native over PyTorch',
    ...alignedColumns(header, lines),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatPermuteTable(runPermuteBench()));
}
