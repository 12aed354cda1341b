// GEMM throughput of the WebAssembly kernels in Chromium: the relaxed-SIMD build (fused
// multiply-add) against the plain SIMD128 build, both single-threaded in one page (the
// playground's setting), on bench/gemm.ts's shapes. Prints GFLOP/s and relaxed/plain.
//
//   npm run bench:browser          (or node dist/bench/browser-gemm.js after npm run build)
//
// Timing is spread over rounds that each visit every shape and both builds, as in gemm.ts, so
// that both sample the same stretch of a machine whose load changes by the second, and within
// a shape the two builds take turns sample by sample; each figure is the best sample (medians
// are kept in the rows). Beside them, bench/fma-peak.c measures what one core can do at all
// with 128-bit vectors, fused and as a multiply beside an add, which bounds relaxed/plain.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LIBRARY_PATH, openLibraryPage } from '../test/helpers/chromium-page.js';
import { alignedColumns } from './columns.js';
import { GEMM_SHAPES, type GemmShape } from './gemm.js';
import { progress } from './progress.js';

const BUILDS = ['relaxed', 'plain'] as const;
type Build = (typeof BUILDS)[number];

interface BuildFigures {
  /** From the best sample (each the mean of the runs that fill a few milliseconds). */
  gflops: number;
  medianGflops: number;
  bestMs: number;
}

export interface BrowserGemmRow extends GemmShape {
  relaxed: BuildFigures;
  plain: BuildFigures;
  /** The median over back-to-back pairs of samples of plain time / relaxed time. */
  pairedSpeedup: number;
}

/** One core's 128-bit floating-point peak in GFLOP/s, from bench/fma-peak.c. */
export interface CorePeak {
  fusedMultiplyAdd: number;
  /** A multiply beside an add on their own pipes, counted as one multiply-add. */
  multiplyThenAdd: number;
}

export interface BrowserGemm {
  rows: BrowserGemmRow[];
  /** Null where it could not be measured; `peakSkipped` says why. */
  corePeak: CorePeak | null;
  peakSkipped?: string;
}

const WARMUP_MS = 300;
const ROUNDS = 3;
const ROUND_MS = 600;
const MIN_PAIRS_PER_ROUND = 3;

interface RoundPlan {
  url: string;
  shapes: readonly GemmShape[];
  builds: readonly Build[];
  warmupMs: number;
  roundMs: number;
  minPairs: number;
}

/**
 * One round in the page: every shape, for `roundMs` each (after a warm-up in the first round),
 * timing the builds alternately so that each pair of samples sees the same load. Returns the
 * sample times in ms, [shape][build][sample]. Runs in Chromium, so it uses nothing from this
 * module's scope.
 */
async function pageRound(plan: RoundPlan): Promise<number[][][]> {
  const page = globalThis as unknown as { benchKernels?: Record<string, unknown>; warm?: boolean };
  if (!page.benchKernels) {
    const wasm = await import(plan.url);
    page.benchKernels = {};
    for (const build of plan.builds)
      page.benchKernels[build] = await wasm.createWasmKernels({ threads: 1, build });
  }
  // Pages see a coarse clock (100 µs steps in Chromium without cross-origin isolation), so a
  // sample times as many runs as fill SAMPLE_MS and records their mean.
  const SAMPLE_MS = 5;
  const sample = (run: () => void): number => {
    const start = performance.now();
    let runs = 0;
    let elapsed = 0;
    for (; elapsed < SAMPLE_MS; elapsed = performance.now() - start, runs++) run();
    return elapsed / runs;
  };
  let state = 1;
  const random = (length: number) =>
    Float32Array.from({ length }, () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 31 - 1;
    });
  const result = plan.shapes.map((shape) => {
    const a = random(shape.m * shape.k);
    const b = random(shape.k * shape.n);
    const out = new Float32Array(shape.m * shape.n);
    const spec = { batch: 1, aBatchStride: 0, bBatchStride: 0, ...shape };
    const runs = plan.builds.map((build) => {
      const kernels = page.benchKernels![build] as { matmul(...args: unknown[]): void };
      return () => kernels.matmul(a, b, out, spec);
    });
    if (!page.warm) {
      const end = performance.now() + plan.warmupMs;
      while (performance.now() < end) for (const run of runs) sample(run);
    }
    const times = runs.map(() => [] as number[]);
    const end = performance.now() + plan.roundMs;
    while (times[0].length < plan.minPairs || performance.now() < end) {
      runs.forEach((run, i) => {
        times[i].push(sample(run));
      });
    }
    return times;
  });
  page.warm = true;
  return result;
}

const median = (values: readonly number[]): number => [...values].sort((x, y) => x - y)[values.length >> 1];

function figures(shape: GemmShape, times: readonly number[]): BuildFigures {
  const flops = 2 * shape.m * shape.n * shape.k;
  const best = Math.min(...times);
  return { gflops: flops / best / 1e6, medianGflops: flops / median(times) / 1e6, bestMs: best };
}

/** Compiles and runs bench/fma-peak.c with the system's C compiler (x86-64 with FMA only). */
export function measureCorePeak(): CorePeak | string {
  if (process.arch !== 'x64') return `the peak program is x86-64 code; this is ${process.arch}`;
  const source = fileURLToPath(new URL('../../bench/fma-peak.c', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'chainrule-fma-peak-'));
  try {
    const binary = join(dir, 'fma-peak');
    const compiler = process.env.CC ?? 'cc';
    const build = spawnSync(compiler, ['-O2', '-mavx2', '-mfma', '-ffp-contract=off', source, '-o', binary], {
      encoding: 'utf8',
    });
    if (build.status !== 0)
      return `${compiler} could not build bench/fma-peak.c: ${(build.stderr || String(build.error)).trim()}`;
    const run = spawnSync(binary, { encoding: 'utf8' });
    const [fused, separate] = run.stdout.trim().split(' ').map(Number);
    if (run.status !== 0 || !(fused > 0 && separate > 0))
      return `bench/fma-peak.c failed (a CPU without FMA?): ${run.stderr || run.signal}`;
    return { fusedMultiplyAdd: fused, multiplyThenAdd: separate };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Measures every shape on both builds in one Chromium page, and one core's peak. */
export async function runBrowserGemmBench(shapes: readonly GemmShape[] = GEMM_SHAPES): Promise<BrowserGemm> {
  progress("GEMM in Chromium: one core's 128-bit peak (bench/fma-peak.c)");
  const peak = measureCorePeak();
  progress('GEMM in Chromium: starting the browser');
  const library = await openLibraryPage();
  const times = shapes.map(() => BUILDS.map(() => [] as number[]));
  try {
    const plan: RoundPlan = {
      url: `${library.origin}${LIBRARY_PATH}backend/wasm/index.js`,
      shapes,
      builds: BUILDS,
      warmupMs: WARMUP_MS,
      roundMs: ROUND_MS,
      minPairs: MIN_PAIRS_PER_ROUND,
    };
    for (let round = 0; round < ROUNDS; round++) {
      progress(
        `GEMM in Chromium: round ${round + 1} of ${ROUNDS} over ${shapes.length} shapes, relaxed and plain`,
      );
      const roundTimes = await library.page.evaluate(pageRound, plan);
      for (const [s, perBuild] of roundTimes.entries()) {
        for (const [b, samples] of perBuild.entries()) times[s][b].push(...samples);
      }
    }
  } finally {
    await library.close();
  }
  const rows = shapes.map((shape, s) => {
    const [relaxed, plain] = times[s];
    return {
      ...shape,
      relaxed: figures(shape, relaxed),
      plain: figures(shape, plain),
      pairedSpeedup: median(relaxed.map((t, i) => plain[i] / t)),
    };
  });
  return typeof peak === 'string' ? { rows, corePeak: null, peakSkipped: peak } : { rows, corePeak: peak };
}

/**
 * One line per shape: GFLOP/s of each build and the relaxed build's speed-up over the plain
 * one; then the core's peak, each build's share of it at the largest shape, and the most
 * relaxed/plain could be there.
 */
export function formatBrowserGemmTable({ rows, corePeak, peakSkipped }: BrowserGemm): string {
  const header = ['shape', 'relaxed', 'plain', 'relaxed/plain', 'paired median'];
  const lines = rows.map((row) => [
    row.label,
    row.relaxed.gflops.toFixed(1),
    row.plain.gflops.toFixed(1),
    `${(row.relaxed.gflops / row.plain.gflops).toFixed(2)}x`,
    `${row.pairedSpeedup.toFixed(2)}x`,
  ]);
  const largest = rows.reduce((x, y) => (y.m * y.n * y.k > x.m * x.n * x.k ? y : x));
  const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(0)}%`;
  const peakLines = corePeak
    ? [
        `one core's 128-bit peak (bench/fma-peak.c): fused multiply-add ${corePeak.fusedMultiplyAdd.toFixed(1)} GFLOP/s, ` +
          `multiply beside add ${corePeak.multiplyThenAdd.toFixed(1)}: fusing alone is worth ` +
          `${(corePeak.fusedMultiplyAdd / corePeak.multiplyThenAdd).toFixed(2)}x on this core`,
        `at ${largest.label} the relaxed build reaches ${percent(largest.relaxed.gflops, corePeak.fusedMultiplyAdd)} of its peak, ` +
          `the plain ${percent(largest.plain.gflops, corePeak.multiplyThenAdd)} of its own`,
      ]
    : [`one core's peak not measured: ${peakSkipped}`];
  return [
    'GEMM in Chromium, WASM kernels on one thread, float32, GFLOP/s (best of several samples);',
    'relaxed/plain is the ratio of the bests, paired median the median speed-up over back-to-back samples',
    ...alignedColumns(header, lines),
    ...peakLines,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(formatBrowserGemmTable(await runBrowserGemmBench()));
}
