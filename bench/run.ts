// `npm run bench`: chainrule's kernels and training speed against its peers, all measured in
// this run on this machine: GEMM GFLOP/s (bench/gemm.ts), the WASM builds' GEMM in Chromium
// (bench/browser-gemm.ts), permuting copies (bench/permute.ts) and training throughput (bench/training.ts). Prints the tables with every ratio and writes bench.json; progress goes
// to stderr. TensorFlow.js takes part once `npm run bench:setup` has installed it.

import { existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { writeFileAtomic } from '../src/io/atomic.js';
import { CHROMIUM } from '../test/helpers/chromium-page.js';
import { type BrowserGemm, formatBrowserGemmTable, runBrowserGemmBench } from './browser-gemm.js';
import { formatCnnTable, runCnnBench } from './cnn.js';
import { formatGemmTable, runGemmBench } from './gemm.js';
import { formatPermuteTable, runPermuteBench } from './permute.js';
import { progress } from './progress.js';
import { formatTrainingTable, runTrainingBench } from './training.js';

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
  /** Other work on the machine skews every figure: the 1-minute load average at the start. */
  loadAverage: loadavg()[0],
};
process.stdout.write(
  `chainrule benchmark on ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverage.toFixed(1)}\n\n`,
);
const gemm = await runGemmBench();
process.stdout.write(`${formatGemmTable(gemm)}\n\n`);
const permute = runPermuteBench();
process.stdout.write(`${formatPermuteTable(permute)}\n\n`);
let browserGemm: BrowserGemm | null = null;
if (existsSync(CHROMIUM)) {
  browserGemm = await runBrowserGemmBench();
  process.stdout.write(`${formatBrowserGemmTable(browserGemm)}\n\n`);
} else {
  process.stderr.write(
    `GEMM in Chromium skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)\n`,
  );
}
const training = await runTrainingBench();
process.stdout.write(`${formatTrainingTable(training)}\n\n`);
const cnn = runCnnBench();
process.stdout.write(`${formatCnnTable(cnn)}\n`);
progress('done');
writeFileAtomic(
  'bench.json',
  `${JSON.stringify({ machine, gemm, permute, browserGemm, training, cnn }, null, 2)}\n`,
);
process.stdout.write('\nwrote bench.json\n');
