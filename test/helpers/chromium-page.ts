// A page in Debian's Chromium (driven by playwright-core) that imports the compiled library,
// dist/src, as ES modules from its own origin: for the tests and the benchmark that run the
// WebAssembly kernels in a browser engine rather than in Node's.

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Headless, and quiet: no sandbox (CI runs as root), no GPU, no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** dist/src, the compiled library, served under LIBRARY_PATH. */
const LIBRARY_ROOT = join(import.meta.dirname, '..', '..', 'src');
export const LIBRARY_PATH = '/lib/';
const PAGE = '<!doctype html><meta charset="utf-8"><title>chainrule kernels</title>';

export interface LibraryPage {
  page: Page;
  /** The page's origin; the library's modules are at `${origin}${LIBRARY_PATH}…`. */
  origin: string;
  close(): Promise<void>;
}

/** Opens a blank page whose origin serves the compiled library. */
export async function openLibraryPage(): Promise<LibraryPage> {
  const server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (path === '/') {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    const file = join(LIBRARY_ROOT, normalize(path.slice(LIBRARY_PATH.length)));
    if (!path.startsWith(LIBRARY_PATH) || !file.startsWith(LIBRARY_ROOT + sep) || extname(file) !== '.js') {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  } catch (error) {
    server.close();
    throw new Error(
      `could not start Debian's Chromium at ${CHROMIUM} (apt-get install -y chromium): ${(error as Error).message}`,
    );
  }
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  return {
    page,
    origin,
    close: async () => {
      await browser.close();
      server.close();
    },
  };
}
