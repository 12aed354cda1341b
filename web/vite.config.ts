// The playground's build: web/ is the app's root; `npm run build:web` writes web-dist/, which
// any static server can host (relative paths throughout).

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { mnistData, precacheList } from './plugins.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const SERVICE_WORKER = 'sw.js';
/** Cross-origin isolation, which SharedArrayBuffer and so the WASM kernels' threads need. */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: here('.'),
  base: './',
  publicDir: false,
  plugins: [mnistData(), precacheList(SERVICE_WORKER)],
  worker: { format: 'es' },
  build: {
    outDir: here('../web-dist'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    // The chart library (vega, about 800 kB) is a chunk of its own, loaded with the first chart.
    chunkSizeWarningLimit: 1000,
    rolldownOptions: {
      input: { main: here('index.html'), sw: here('src/sw.ts') },
      output: {
        // The service worker keeps a fixed name at the root, so its scope is the whole app.
        entryFileNames: (chunk) => (chunk.name === 'sw' ? SERVICE_WORKER : 'assets/[name]-[hash].js'),
      },
    },
  },
  server: { fs: { allow: [here('..')] }, headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
