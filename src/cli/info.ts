// `chainrule info`: which kernels would run here, on what, and why that backend was chosen.

import { parseArgs } from 'node:util';
import { backendInfo } from '../backend/index.js';
import { loadNativeAddon } from '../backend/native/index.js';
import { backendOptions, helpFlag, printHelp, setupBackend } from './shared.js';

const HELP = `usage: chainrule info [--backend NAME] [--threads N] [--json]

Prints the kernel backend that training would use, its instruction set and threads, and why
it was chosen, and which build of the WebAssembly kernels runs: relaxed (fused multiply-add)
or plain (CHAINRULE_BACKEND, CHAINRULE_ISA, CHAINRULE_THREADS and CHAINRULE_WASM_BUILD are
honoured).

${backendOptions.help}
  --json                 print the result as JSON
  -h, --help             this help`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { ...backendOptions.flags, json: { type: 'boolean' }, ...helpFlag },
  });
  if (values.help) return printHelp(HELP);
  await setupBackend(values);
  const info = backendInfo();
  const native = loadNativeAddon();
  const cpu = native.loaded ? native.isas.join(', ') : undefined;
  const forced = process.env.CHAINRULE_ISA
    ? `; CHAINRULE_ISA=${process.env.CHAINRULE_ISA} chose this one`
    : '';
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...info, cpuIsas: cpu?.split(', ') ?? null })}\n`);
    return 0;
  }
  const lines = [
    ['backend', info.name],
    [
      'isa',
      info.isa
        ? `${info.isa}${cpu ? ` (this CPU runs ${cpu}${forced})` : ''}`
        : 'n/a (not the native backend)',
    ],
    ['threads', String(info.threads)],
    ['why', info.reason],
  ];
  if (info.wasm) {
    const role = info.name === 'wasm' ? '' : `, for the kernels the ${info.name} backend lacks`;
    lines.push(['wasm', `${info.wasm.build} build${role} (${info.wasm.reason})`]);
  }
  if (!native.loaded && native.reason !== info.reason) lines.push(['native', native.reason]);
  process.stdout.write(`${lines.map(([key, value]) => `${key.padEnd(8)} ${value}`).join('\n')}\n`);
  return 0;
}
