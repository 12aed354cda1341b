// The graph view in Debian's Chromium, on the Vite dev server that `npm run playground` runs
// (so its cross-origin isolation headers are checked too), at a desktop and a phone size: the
// layout holds still while a learner steps, the active node stays on screen, the reverse pass's
// arrows point back, an error leaves no stale graph, and the keys work right after Enter.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

const ROOT = join(import.meta.dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const SIZES = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
];

let server: ViteDevServer;
let url: string;
let browser: Browser;
const problems: string[] = [];

async function open(size: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport: size });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(url);
  await page.locator('.graph-canvas [data-node]').first().waitFor();
  return page;
}

const caption = (page: Page) => page.locator('#graph-caption').textContent();
const positions = (page: Page) =>
  page.evaluate(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll('.graph-canvas [data-node]')).map((n) => [
        n.getAttribute('data-node'),
        n.getAttribute('transform'),
      ]),
    ),
  );

/** Presses `key` (a walk's letter), then steps to the walk's end; calls `each` at every step. */
async function walk(page: Page, key: string, each: () => Promise<void>): Promise<number> {
  await page.keyboard.press(key);
  let steps = 1;
  await each();
  while (await page.getByRole('button', { name: 'Step ▶' }).isEnabled()) {
    await page.keyboard.press('ArrowRight');
    await each();
    assert.ok(++steps < 50, 'the walk ends');
  }
  return steps;
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the playground tests need Debian's Chromium at ${CHROMIUM}`);
  server = await createServer({
    configFile: join(ROOT, 'web', 'vite.config.ts'),
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0 },
  });
  await server.listen();
  url = server.resolvedUrls!.local[0];
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the dev server isolates the page, so the WASM kernels may use threads', async () => {
  const response = await fetch(url);
  assert.equal(response.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(response.headers.get('cross-origin-embedder-policy'), 'require-corp');
  const page = await open(SIZES[0]);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  await page.close();
});

for (const size of SIZES) {
  test(`${size.name}: no node moves while stepping through all three walks`, async () => {
    const page = await open(size);
    const first = await positions(page);
    assert.equal(Object.keys(first).length, 7);
    let frames = 0;
    const same = async () => {
      assert.deepEqual(await positions(page), first, `after "${await caption(page)}"`);
      frames++;
    };
    for (const key of ['v', 'r', 'f']) await walk(page, key, same);
    await page.keyboard.press('i');
    await walk(page, 'f', same);
    assert.ok(frames > 20, `checked ${frames} frames`);
    await page.close();
  });

  test(`${size.name}: the active node is on screen at every step of the reverse pass`, async () => {
    const page = await open(size);
    await walk(page, 'r', async () => {
      const box = (await page.locator('.graph-canvas .node.active').first().boundingBox())!;
      const where = `"${await caption(page)}": active node at ${JSON.stringify(box)}`;
      assert.ok(box.x >= 0 && box.x + box.width <= size.width, where);
      assert.ok(box.y >= 0 && box.y + box.height <= size.height, where);
    });
    await page.close();
  });
}

test('phone: Fit shows the whole graph in the screen width, and + and − zoom from there', async () => {
  const page = await open(SIZES[1]);
  const widths = () =>
    page.evaluate(() => {
      const canvas = document.querySelector('.graph-canvas')!;
      const page = document.documentElement.scrollWidth - window.innerWidth;
      return {
        svg: canvas.querySelector('svg')!.getBoundingClientRect().width,
        canvas: canvas.clientWidth,
        page,
      };
    });
  const before = await widths();
  assert.ok(before.svg > before.canvas, `at the readable scale the graph (${before.svg}px) scrolls`);
  await page.getByRole('button', { name: 'Fit the whole graph' }).click();
  const fitted = await widths();
  assert.ok(fitted.svg <= fitted.canvas, `fitted: ${fitted.svg}px in ${fitted.canvas}px`);
  await page.keyboard.press('+');
  await page.keyboard.press('+');
  const zoomed = await widths();
  assert.ok(zoomed.svg > fitted.svg * 1.5);
  assert.equal(zoomed.page, 0, 'the canvas scrolls, not the page');
  for (let i = 0; i < 3; i++) await page.keyboard.press('-');
  assert.ok((await widths()).svg < fitted.svg);
  await page.close();
});

test('the reverse pass draws its arrows from the output back to the inputs', async () => {
  const page = await open(SIZES[0]);
  /** The x of the first and last point of the edge from a into c (LR layout: a is left of c). */
  const ends = async () => {
    const d = (await page.locator('.graph-canvas path.edge[data-edge="c:0"]').getAttribute('d'))!;
    const xs = [...d.matchAll(/[ML]([-\d.]+),/g)].map((m) => Number(m[1]));
    return { start: xs[0], end: xs.at(-1)! };
  };
  const forward = await ends();
  assert.ok(forward.start < forward.end, 'the forward pass points from a to c');
  await page.keyboard.press('r');
  const backward = await ends();
  assert.ok(backward.start > backward.end, 'the reverse pass points from c back to a');
  assert.equal(backward.start, forward.end);
  await page.close();
});

test('a bad expression clears the graph and speaks of the page, not of CLI flags', async () => {
  const page = await open(SIZES[1]);
  const field = page.locator('#expression');
  const error = page.locator('.graph-view .error');
  await field.fill('c = a*; h = c');
  await error.waitFor({ state: 'visible' });
  assert.match((await error.textContent())!, /^1:7: expected a number, a name, '-' or '\(' after '\*'/);
  assert.equal(await page.locator('.graph-canvas [data-node]').count(), 0);
  assert.equal(await caption(page), 'No graph: fix the expression above to see it.');
  assert.equal(await page.locator('.gradients').count(), 0);
  assert.ok(await page.getByRole('button', { name: 'Step ▶' }).isDisabled());

  // A new input starts at 1, where sqrt(x - 1) has no derivative.
  await field.fill('y = sqrt(x - 1)');
  await page.locator('#input-x').waitFor();
  await error.waitFor({ state: 'visible' });
  const message = (await error.textContent())!;
  assert.match(message, /not differentiable at this point; change the input values above/);
  assert.doesNotMatch(message, /--at/);
  assert.equal(await page.locator('.graph-canvas [data-node]').count(), 0);

  await page.locator('#input-x').fill('5');
  await error.waitFor({ state: 'hidden' });
  assert.ok((await page.locator('.graph-canvas [data-node]').count()) > 0);
  await page.close();
});

for (const size of SIZES) {
  test(`${size.name}: R, F and Space work right after Enter in the expression box`, async () => {
    const page = await open(size);
    const field = page.locator('#expression');
    await field.fill('y = x*x + w');
    await field.press('Enter');
    await page.keyboard.press('r');
    assert.equal(await page.locator('[data-walk="reverse"]').getAttribute('aria-pressed'), 'true');
    await page.keyboard.press(' ');
    assert.match((await page.locator('.position').textContent())!, /^step 2 of /);
    await page.keyboard.press('f');
    assert.equal(await page.locator('[data-walk="forward"]').getAttribute('aria-pressed'), 'true');
    assert.equal(await field.inputValue(), 'y = x*x + w', 'no key was typed into the box');
    assert.equal(await page.locator('.graph-canvas [data-node]').count(), 4);
    await page.close();
  });
}

test('D shows the reverse pass as a graph, whose own reverse mode gives the second derivative', async () => {
  const page = await open(SIZES[0]);
  const field = page.locator('#expression');
  await field.fill('y = x*x*x');
  await field.press('Enter');
  await page.keyboard.press('d');
  assert.match(await field.inputValue(), /^ȳ = 1; .*; y_x = \S+ \+ \S+$/);
  assert.match(
    (await page.locator('.derived-note').textContent())!,
    /reverse pass of y = x\*x\*x that computes y_x = dy\/dx/,
  );
  await page.keyboard.press('v');
  await page.keyboard.press('End');
  assert.equal(await caption(page), 'Forward pass done: y_x = 3.');
  await page.keyboard.press('r');
  await page.keyboard.press('End');
  assert.match((await caption(page))!, /one backward pass gave the input derivative: dy_x\/dx = x̄ = 6$/);
  await page.getByRole('button', { name: 'Back to the expression' }).click();
  assert.equal(await field.inputValue(), 'y = x*x*x');
  await page.close();
});

test('the pages logged no errors', () => {
  assert.deepEqual(problems, []);
});
