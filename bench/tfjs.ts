// TensorFlow.js, the JavaScript peer of the benchmark: an optional, bench-only install
// (`npm run bench:setup` puts it in bench/node_modules), so chainrule's own install stays free
// of it. Loaded through bench/package.json's resolution, with the CPU and WASM backends.

import { createRequire } from 'node:module';

// TensorFlow.js's types are not installed with chainrule: the bench uses it untyped.
// biome-ignore lint/suspicious/noExplicitAny: an optional dependency whose types are absent at build time
export type TF = any;

/** TensorFlow.js with its backends registered, or null (after saying why) when not set up. */
export function loadTfjs(): TF | null {
  const require = createRequire(new URL('../../bench/package.json', import.meta.url));
  try {
    const tf = require('@tensorflow/tfjs');
    require('@tensorflow/tfjs-backend-cpu');
    require('@tensorflow/tfjs-backend-wasm');
    return tf;
  } catch {
    process.stderr.write('TensorFlow.js skipped: run `npm run bench:setup` to install the bench peers\n');
    return null;
  }
}
