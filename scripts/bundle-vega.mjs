// Run by `npm pack` after tsc: replaces dist/src/report/vega.js, which imports vega and vega-lite
// (development dependencies, 19 MB installed), by one file holding both, minified, so that the
// package's install stays small. Their licences travel beside it. Built from the source module,
// so running it twice gives the same file.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist', 'src', 'report');
const entry = join(root, 'src', 'report', 'vega.ts');
const bundle = join(outDir, 'vega.js');

const output = await build({
  configFile: false,
  root,
  logLevel: 'warn',
  ssr: { noExternal: true, target: 'node' },
  build: {
    ssr: entry,
    outDir,
    emptyOutDir: false,
    minify: true,
    write: false,
    rollupOptions: { output: { format: 'es' } },
  },
});
const chunks = (Array.isArray(output) ? output : [output]).flatMap((o) => o.output);
if (chunks.length !== 1)
  throw new Error(`expected one bundle, got ${chunks.map((c) => c.fileName).join(', ')}`);
writeFileSync(bundle, chunks[0].code);

// Every package the bundle took code from, with its licence.
const packages = new Map();
for (const id of Object.keys(chunks[0].modules)) {
  const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(id);
  if (match) packages.set(match[2], match[1]);
}
const notices = [...packages].sort().map(([name, dir]) => {
  const { version, license } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'license'].map((f) => join(dir, f));
  const text = file
    .map((f) => {
      try {
        return readFileSync(f, 'utf8');
      } catch {
        return '';
      }
    })
    .find(Boolean);
  return `${name}@${version} (${license})\n\n${text ?? `${license}; no licence file in the package`}`;
});
writeFileSync(join(outDir, 'vega.LICENSES.txt'), `${notices.join(`\n${'-'.repeat(72)}\n\n`)}\n`);
console.error(
  `bundled ${packages.size} packages into ${bundle} (${(chunks[0].code.length / 1024).toFixed(0)} KiB)`,
);
