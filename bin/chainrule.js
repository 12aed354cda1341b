#!/usr/bin/env node
// The `chainrule` command. An installed package ships dist/ already built; a fresh clone of the
// repository has none, and rather than a `prepare` script (which npm would flag as an install
// script for every consumer), the first run in a checkout compiles src/ with the TypeScript of
// its devDependencies.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = new URL('../dist/src/cli/main.js', import.meta.url);

if (!existsSync(entry) && !buildCheckout()) process.exit(1);
const { main } = await import(entry.href);
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`chainrule: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

/** Compiles src/ into dist/ in a source checkout; false (with the reason on stderr) if it cannot. */
function buildCheckout() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write(
      `chainrule: ${root} has no dist/ and TypeScript is not installed to build it: run \`npm install\` there, then \`npm run build\`\n`,
    );
    return false;
  }
  process.stderr.write('chainrule: first run in this checkout, compiling src/ into dist/ (npm run build)...\n');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) {
    process.stderr.write('chainrule: the build failed (its errors are above); fix them and run `npm run build`\n');
    return false;
  }
  return true;
}
