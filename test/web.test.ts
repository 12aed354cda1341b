// The playground end to end, in Debian's Chromium: the app is built with Vite, served by a tiny
// static server, and driven like a user would: keys through the chain rule, a training run in
// a worker, a drawn digit, checkpoints both ways, a phone-sized screen, and offline reloads.
// Screenshots of every view land in test-artifacts/; `npm run screenshots` also copies the
// README's into docs/screenshots/ (a plain test run leaves the tracked files alone).

import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { build } from 'vite';
import { decodeCheckpoint } from '../src/learn/checkpoint.js';
import { RULE_COLORS } from '../src/report/rule-colors.js';
import { CHROMIUM, CHROMIUM_ARGS } from './helpers/chromium-page.js';
import { runCli } from './helpers/cli.js';
import { drawStroke } from './helpers/draw-stroke.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'web-dist');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');
const UPDATE_README_SCREENSHOTS = process.env.CHAINRULE_UPDATE_SCREENSHOTS === '1';
const SCREENSHOT_LIMIT = 300 * 1024;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.gz': 'application/gzip',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Serves `root` on 127.0.0.1 at a free port. */
function serve(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer(async (request, response) => {
    let path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (path.endsWith('/')) path += 'index.html';
    const file = join(root, normalize(path));
    if (!file.startsWith(root)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response
        .writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' })
        .end(body);
    } catch {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }),
    );
  });
}

let server: Server;
let url: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];
/** Test accuracy of each learning rule's uninterrupted run. */
const accuracy: Record<string, number> = {};
const work = mkdtempSync(join(tmpdir(), 'chainrule-web-'));

/** The viewport (or the whole page, or one element: `of`) as test-artifacts/NAME.png. */
async function screenshot(
  name: string,
  options: { fullPage?: boolean; readme?: boolean; of?: Locator } = {},
): Promise<void> {
  const path = join(ARTIFACTS, `${name}.png`);
  if (options.of) await options.of.screenshot({ path });
  else await page.screenshot({ path, fullPage: options.fullPage ?? false });
  assert.ok(
    statSync(path).size < SCREENSHOT_LIMIT,
    `${name}.png is ${statSync(path).size} bytes, over 300 KB`,
  );
  if (UPDATE_README_SCREENSHOTS && options.readme !== false)
    copyFileSync(path, join(SCREENSHOTS, `${name}.png`));
}

/** Opens a view by its number key, as a keyboard user would. */
async function view(key: string, id: string): Promise<void> {
  await page.keyboard.press(key);
  await page.locator(`#view-${id}`).waitFor({ state: 'visible' });
}

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the playground tests drive Debian's Chromium at ${CHROMIUM}, which is missing: apt-get install -y chromium`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  if (UPDATE_README_SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  await build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'warn' });
  ({ server, url } = await serve(DIST));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(url);
});

after(async () => {
  await browser?.close();
  server?.close();
  rmSync(work, { recursive: true, force: true });
});

test('the graph view steps the seed graph through reverse mode and forward mode to dh/da = 0.75', async () => {
  const caption = page.locator('#graph-caption');
  const node = (id: string) => page.locator(`.graph-canvas [data-node="${id}"]`);
  await page.keyboard.press('v');
  await page.keyboard.press('ArrowRight');
  assert.equal(await caption.textContent(), 'c = a * b = 2 * 3 = 6');

  await page.keyboard.press('r');
  let steps = 0;
  while (!(await caption.textContent())!.startsWith('ā')) {
    await page.keyboard.press('ArrowRight');
    assert.ok(++steps < 10, 'the reverse walk reaches ā = dh/da');
  }
  assert.equal(await caption.textContent(), 'ā = c̄ · ∂c/∂a = 0.25 · 3 = 0.75');
  assert.match((await node('a').textContent())!, /ā = c̄ · ∂c\/∂a= 0\.25 · 3 = 0\.75/);
  assert.equal(await page.locator('.graph-canvas .edge-label.active').textContent(), '∂c/∂a = b = 3');
  await screenshot('graph', { fullPage: true });
  await page.keyboard.press('End');
  assert.match(
    (await caption.textContent())!,
    /one backward pass gave all 4 input derivatives: dh\/da = ā = 0\.75/,
  );

  await page.keyboard.press('f');
  assert.equal(await page.locator('select').first().inputValue(), 'a');
  await page.keyboard.press('End');
  assert.equal(
    await caption.textContent(),
    'So dh/da = ḣ = 0.75: one forward pass gave one derivative. The other 3 inputs need a pass each.',
  );
  const passes = page.locator('.passes');
  assert.match((await passes.textContent())!, /Run: 1 of 1\..*Run: 1 of 4\./s);
  const row = page.locator('.gradients tbody tr').first();
  assert.deepEqual(await row.locator('td').allTextContents(), ['0.75', '0.75']);
});

test('a bad expression shows the error inline with its position', async () => {
  const field = page.locator('#expression');
  const original = await field.inputValue();
  await field.fill('c = a*; h = c');
  const error = page.locator('.graph-view .error');
  await error.waitFor({ state: 'visible' });
  assert.match(
    (await error.textContent())!,
    /^1:7: expected a number, a name, '-' or '\(' after '\*', found ';'/,
  );
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  await field.fill(original);
  await error.waitFor({ state: 'hidden' });
  await field.blur();
});

test('the network view shows backprop updating nothing until the backward pass returns', async () => {
  await view('2', 'network');
  const bp = page.locator('.network[data-algorithm="bp"]');
  assert.deepEqual(await bp.locator('.layer-title').allTextContents(), [
    'Input',
    'Linear',
    'BatchNorm',
    'Tanh',
    'Linear',
    'Loss',
  ]);
  await bp.getByRole('button', { name: /Play one/ }).click();
  await bp.locator('.layer.loss').waitFor();
  assert.equal(await bp.locator('.layer.update').count(), 0, 'no layer updates when the loss is reached');
  await bp.locator('.layer.backward').first().waitFor();
  await bp.locator('.layer.update').first().waitFor();
  assert.equal(
    await bp.locator('.layer.update').count(),
    3,
    'then the Linear, BatchNorm and Linear layers update at once',
  );
  assert.equal(await bp.locator('.layer.forward, .layer.backward').count(), 0);
});

test('three learning rules train side by side in workers; backprop passes 90% and the page stays responsive', async () => {
  await view('3', 'train');
  const boxes = page.getByRole('checkbox', { name: /^Train / });
  assert.ok((await boxes.count()) > 3, 'every rule has a box');
  for (const box of await boxes.all()) assert.ok(await box.isChecked(), 'every rule is ticked by default');
  // The three original rules train here; the others have their own tests, and nine workers at
  // once would crowd this machine's two cores.
  const trained = ['Train Backprop', 'Train Forward-Forward', 'Train Forward gradient'];
  for (const box of await boxes.all())
    if (!trained.includes((await box.getAttribute('aria-label')) ?? '')) await box.uncheck();
  await page.evaluate(() => {
    const w = window as unknown as { longestFrameGap: number };
    w.longestFrameGap = 0;
    let last = performance.now();
    const tick = (now: number) => {
      w.longestFrameGap = Math.max(w.longestFrameGap, now - last);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const started = performance.now();
  await page.keyboard.press('s');
  const run = (name: string) => page.locator(`.run[data-algorithm="${name}"]`);
  // The charts follow the run: backprop's loss line, in its colour, gains points as it trains.
  const bpLoss = `.chart[data-loss="cross-entropy"] .mark-line path[stroke="${RULE_COLORS.bp}"]`;
  await page.locator(bpLoss).waitFor();
  const lossEarly = await page.locator(bpLoss).getAttribute('d');

  // Mid-run, the network view shows each Forward-Forward layer's goodness as it trains.
  await view('2', 'network');
  await page.locator('.network[data-algorithm="ff"] .layer-stats', { hasText: 'G⁺' }).first().waitFor();
  await page.locator('.network[data-algorithm="ff"] .stats tbody tr').first().waitFor();
  await screenshot('network');
  await view('3', 'train');

  for (const name of ['bp', 'ff', 'fg']) {
    await run(name).and(page.locator('[data-state="done"]')).waitFor({ timeout: 90_000 });
    accuracy[name] = Number(await run(name).getAttribute('data-accuracy'));
  }
  const seconds = (performance.now() - started) / 1000;
  const gap = await page.evaluate(() => (window as unknown as { longestFrameGap: number }).longestFrameGap);
  const shown = Object.entries(accuracy).map(([name, a]) => `${name} ${(a * 100).toFixed(2)}%`);
  console.log(
    `# browser test accuracy: ${shown.join(', ')}; all done in ${seconds.toFixed(1)} s; longest frame gap ${gap.toFixed(0)} ms`,
  );
  assert.ok(accuracy.bp > 0.9, `backprop test accuracy ${accuracy.bp}`);
  for (const name of ['ff', 'fg'])
    assert.ok(accuracy[name] > 0.2, `${name} learns: test accuracy ${accuracy[name]}`);
  assert.ok(gap < 1000, `the page froze for ${gap} ms`);
  // Each kind of loss gets a chart of its own: cross-entropy, Forward-Forward's layer losses, local losses.
  const lossCharts = await page
    .locator('.chart[data-loss] .chart-box')
    .evaluateAll((boxes) => boxes.map((c) => c.getAttribute('aria-label')));
  assert.deepEqual(lossCharts, [
    'Training loss (cross-entropy) against time: Backprop, Forward gradient, Activity-perturbed FG, Feedback alignment, Direct feedback alignment',
    "Training loss (every layer's goodness loss plus the head's cross-entropy) against time: Forward-Forward",
    "Training loss (the top block's local cross-entropy) against time: Local losses, backprop, Local losses, FG weights, Local losses, FG activities",
    "Training loss (every layer's goodness loss at every scored step) against time: Recurrent Forward-Forward",
  ]);
  await page.waitForFunction(
    ([selector, before]) => document.querySelector(selector)?.getAttribute('d') !== before,
    [bpLoss, lossEarly] as const,
  );
  for (const name of ['bp', 'ff', 'fg'] as const) {
    const line = page.locator(`.chart:not([data-loss]) .mark-line path[stroke="${RULE_COLORS[name]}"]`);
    assert.equal(await line.count(), 1, `${name}'s accuracy line in its colour`);
  }
  await screenshot('train');
  // Below the fold of the README's screenshot: the charts themselves, for a look.
  await page.locator('.charts').screenshot({ path: join(ARTIFACTS, 'train-charts.png') });
});

test('the checkpoint downloads in the format of the CLI', async () => {
  const run = page.locator('.run[data-algorithm="bp"]');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    run.getByRole('button', { name: /Download checkpoint/ }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'chainrule-bp.safetensors');
  const path = join(work, 'browser.safetensors');
  await download.saveAs(path);
  const { metadata, tensors } = decodeCheckpoint(new Uint8Array(readFileSync(path)), path);
  assert.equal(metadata.algorithm, 'bp');
  assert.equal(metadata.dataset, 'mnist');
  assert.deepEqual(metadata.run, {
    seed: 0,
    batchSize: 64,
    epochs: 2,
    limit: 20000,
    maxShift: 0,
    evalEvery: 1,
  });
  assert.equal(metadata.epoch, 2);
  assert.ok((metadata.metrics.testAccuracy ?? 0) > 0.9);
  assert.deepEqual(tensors['model.0.weight'].shape, [256, 784]);
});

test('a stopped run resumes where it left off and ends where an uninterrupted run ends', async () => {
  for (const name of ['Forward-Forward', 'Forward gradient'])
    await page.getByRole('checkbox', { name: `Train ${name}` }).uncheck();
  const run = page.locator('.run[data-algorithm="bp"]');
  await page.keyboard.press('s');
  await run.locator('.facts', { hasText: /batch \d+ of/ }).waitFor();
  await page.keyboard.press('x');
  await run.and(page.locator('[data-state="stopped"]')).waitFor();
  const stoppedAt = (await run.locator('.facts').textContent())!;
  assert.doesNotMatch(stoppedAt, /epoch 2 of 2, batch 313 of 313/, 'it stopped before the end');
  await page.keyboard.press('c');
  await run.and(page.locator('[data-state="done"]')).waitFor({ timeout: 60_000 });
  assert.equal(Number(await run.getAttribute('data-accuracy')), accuracy.bp, `resumed after: ${stoppedAt}`);
});

test('a drawn digit gets a prediction from the trained model', async () => {
  await view('4', 'draw');
  // A one: a single stroke down the middle, slightly slanted.
  await drawStroke(page, [0.55, 0.15], [0.47, 0.85]);
  // Predictions refresh while the stroke is drawn; the one for the finished stroke must say 1.
  const card = page.locator('.prediction[data-algorithm="bp"]');
  await card.locator('.digit', { hasText: /^1$/ }).waitFor({ timeout: 10_000 });
  const bars = await card.locator('.bar-value').allTextContents();
  assert.equal(bars.length, 10);
  const total = bars.reduce((sum, text) => sum + Number.parseFloat(text), 0);
  assert.ok(Math.abs(total - 100) < 1, `the probabilities add up to ${total}%`);
  await page.locator('.prediction').nth(2).waitFor();
  assert.equal(await page.locator('.prediction').count(), 3, 'every trained model predicts');
  assert.equal(
    await page.locator('.prediction[data-algorithm="ff"] .goodness li').count(),
    10,
    'FF shows the goodness of every label',
  );
  await screenshot('draw');
});

test("the network view shows FF's positive and negative inputs, θ and the goodness of the trained model", async () => {
  await view('2', 'network');
  const panel = page.locator('.network[data-algorithm="ff"] .ff-panel');
  assert.deepEqual(
    await panel.locator('figure').evaluateAll((f) => f.map((e) => e.getAttribute('data-kind'))),
    ['positive', 'negative'],
  );
  const lit = await panel.locator('.label-strip li.lit').allTextContents();
  assert.equal(lit.length, 2);
  assert.notEqual(lit[0], lit[1], 'the negative carries another label than the positive');
  assert.match((await panel.locator('.ff-theta').textContent())!, /^θ per layer: 1, 1 \(mean goodness\)/);
  await panel.getByRole('button', { name: /Measure goodness/ }).click();
  await panel.locator('.goodness-chart').waitFor();
  for (const series of ['positive', 'negative'])
    assert.ok((await panel.locator(`.goodness-chart rect[data-series="${series}"]`).count()) > 0, series);
  const means = [
    ...(await panel.locator('.goodness-box .help').textContent())!.matchAll(/mean (\d+(?:\.\d+)?)/g),
  ].map((m) => Number(m[1]));
  assert.ok(means[0] > means[1], `positive goodness ${means[0]} above negative ${means[1]} after training`);
  await panel.screenshot({ path: join(ARTIFACTS, 'network-ff.png') });
});

test('a checkpoint written by the CLI loads, shows its metadata and is evaluated', async () => {
  const out = join(work, 'cli');
  const trained = runCli([
    'train',
    '--limit',
    '1000',
    '--epochs',
    '1',
    '--hidden',
    '32',
    '--batch-size',
    '100',
    '--out',
    out,
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  await view('3', 'train');
  await page.setInputFiles('#checkpoint-file', join(out, 'checkpoint.safetensors'));
  const run = page.locator('.run[data-algorithm="bp"]');
  await run.and(page.locator('[data-state="loaded"]')).waitFor();
  const text = (await run.textContent())!;
  assert.match(text, /checkpoint\.safetensors/);
  assert.match(text, /784-32-BN-tanh-10/);
  assert.match(text, /seed 0, batch 100, 1 epochs, first 1000 examples/);
  assert.ok(Number(await run.getAttribute('data-accuracy')) > 0.5);
});

test('a batch too small for batch normalisation is refused by the check the CLI uses', async () => {
  await view('3', 'train');
  const batch = page.getByRole('spinbutton', { name: 'Backprop batch size', exact: true });
  await batch.fill('1');
  await page.getByRole('button', { name: /Start training/ }).click();
  const error = page.locator('.run[data-algorithm="bp"] .error');
  await error.waitFor();
  assert.match(
    (await error.textContent())!,
    /^Backprop batch size 1: bp here has batch normalisation, which needs at least 2 examples in every batch; use 2 or more$/,
  );
  await batch.fill('64');
  await batch.blur();
});

test('a CNN checkpoint from the CLI loads and predicts a drawn digit', async () => {
  const out = join(work, 'cnn');
  const trained = runCli(['train', '--model', 'cnn', '--limit', '1000', '--epochs', '1', '--out', out]);
  assert.equal(trained.code, 0, trained.stderr);
  await view('3', 'train');
  await page.setInputFiles('#checkpoint-file', join(out, 'checkpoint.safetensors'));
  const run = page.locator('.run[data-algorithm="bp"]');
  await run.and(page.locator('[data-state="loaded"]')).waitFor();
  assert.match((await run.textContent())!, /28x28-conv5x5x16-pool-conv5x5x32-pool-128-10/);
  await view('4', 'draw');
  await drawStroke(page, [0.5, 0.2], [0.45, 0.8]);
  const card = page.locator('.prediction[data-algorithm="bp"]');
  await card.locator('.digit').waitFor();
  const bars = await card.locator('.bar-value').allTextContents();
  const total = bars.reduce((sum, text) => sum + Number.parseFloat(text), 0);
  assert.ok(bars.length === 10 && Math.abs(total - 100) < 1, `the CNN's probabilities add up to ${total}%`);
});

/** How far any part of `element` reaches past its right edge, in CSS pixels. */
const overhang = (element: Locator) =>
  element.evaluate((e) => {
    const right = e.getBoundingClientRect().right;
    return Math.max(
      0,
      ...Array.from(e.querySelectorAll('*'), (d) => d.getBoundingClientRect().right - right),
    );
  });

test('the network view shows the recurrent net settling on a test image, step by step', async () => {
  await view('3', 'train');
  // The recurrent rule alone, briefly: its playground preset on 1,000 examples, tested on 500.
  for (const box of await page.getByRole('checkbox', { name: /^Train / }).all())
    await box.setChecked((await box.getAttribute('aria-label')) === 'Train Recurrent Forward-Forward');
  await page.locator('#train-examples').fill('1000');
  await page.locator('#test-examples').fill('500');
  await page.getByRole('button', { name: /Start training/ }).click();
  const run = page.locator('.run[data-algorithm="ff-recurrent"]');
  await run.and(page.locator('[data-state="done"]')).waitFor({ timeout: 60_000 });

  await page.setViewportSize({ width: 1280, height: 900 });
  await view('2', 'network');
  const card = page.locator('.network[data-algorithm="ff-recurrent"]');
  const panel = card.locator('.settle-panel');
  await panel.locator('.settle-strip canvas').first().waitFor();
  const stepText = panel.locator('.settle-step');
  assert.equal(await stepText.textContent(), 'Step 8 of 8', 'the settled state first');
  // Every hidden layer of the playground's preset (two), at each of the 8 steps.
  assert.equal(await panel.locator('.settle-now canvas').count(), 2);
  for (const layer of [1, 2]) {
    const steps = await panel
      .locator(`.settle-strip canvas[data-layer="${layer}"]`)
      .evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-step'))));
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8], `layer ${layer}`);
  }
  assert.deepEqual(await panel.locator('.step-head.scored').allTextContents(), ['3', '4', '5']);
  // Damping: after the first steps each layer changes less and less.
  const changes = (await panel.locator('.strip-cell .change').allTextContents()).map((t) =>
    Number.parseFloat(t),
  );
  for (const layer of [0, 1]) {
    const own = changes.slice(8 * layer, 8 * layer + 8);
    assert.ok(own[7] < own[1], `layer ${layer + 1} still changes ${own[7]}% at step 8, ${own[1]}% at step 2`);
  }
  // Ten labels' goodness curves; the winner is the one the verdict and the label buttons name.
  const curves = panel.locator('.settle-chart[data-steps="steps 1-8"] path[data-label]');
  const labels = await curves.evaluateAll((paths) => paths.map((p) => Number(p.getAttribute('data-label'))));
  assert.deepEqual(
    [...labels].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  const winner = (await panel.locator('.label-choice.winner').textContent())!;
  assert.equal(
    await panel.locator('.settle-chart path.curve.winner').first().getAttribute('data-label'),
    winner,
  );
  assert.match((await panel.locator('.settle-verdict').textContent())!, new RegExp(`label ${winner} wins`));

  // Stepping through time redraws the layers: back to step 1, then one step on.
  const now = panel.locator('.settle-now canvas').first();
  const drawn = () => now.evaluate((c: HTMLCanvasElement) => c.toDataURL());
  const settled = await drawn();
  await panel.getByRole('slider', { name: 'Time step' }).focus();
  await page.keyboard.press('Home');
  assert.equal(await stepText.textContent(), 'Step 1 of 8');
  const first = await drawn();
  assert.notEqual(first, settled);
  assert.equal(await panel.locator('.strip-cell.later').count(), 2 * 7, 'the steps to come are faded');
  await panel.getByRole('button', { name: 'Next step' }).click();
  assert.equal(await stepText.textContent(), 'Step 2 of 8');
  assert.notEqual(await drawn(), first);
  // Play runs on to the last step and stops there (from step 6, to keep the test short).
  await panel.getByRole('slider', { name: 'Time step' }).focus();
  await page.keyboard.press('End');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await stepText.textContent(), 'Step 6 of 8');
  await panel.getByRole('button', { name: 'Play' }).click();
  assert.equal(await panel.locator('.settle-play').textContent(), 'Pause');
  await panel.locator('.settle-step', { hasText: 'Step 8 of 8' }).waitFor({ timeout: 10_000 });
  await panel.getByRole('button', { name: 'Play' }).waitFor();
  // Another label clamped: its activity is drawn and its curve marked.
  const other = (Number(winner) + 1) % 10;
  await panel.getByRole('button', { name: String(other), exact: true }).click();
  assert.equal(await panel.locator('.label-choice[aria-pressed="true"]').textContent(), String(other));
  assert.equal(
    await panel.locator('.settle-chart path.curve.shown').first().getAttribute('data-label'),
    String(other),
  );
  assert.notEqual(await drawn(), settled);
  await panel.locator('.label-choice.winner').click();
  await card.scrollIntoViewIfNeeded();
  assert.equal(await overhang(panel), 0, 'nothing sticks out of the panel at 1280x900');
  await screenshot('network-settle', { of: card });

  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the network view is ${overflow}px wider than the phone`);
  assert.equal(await overhang(panel), 0, 'nothing sticks out of the panel on a phone');
  await screenshot('phone-network-settle', { of: panel, readme: false });
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('every view fits a phone screen', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [key, id] of [
    ['1', 'graph'],
    ['2', 'network'],
    ['3', 'train'],
    ['4', 'draw'],
  ]) {
    await view(key, id);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the ${id} view is ${overflow}px wider than the screen`);
    await screenshot(`phone-${id}`, { readme: id === 'graph' });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('once loaded, the app works offline', async () => {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await context.setOffline(true);
  try {
    await page.goto(url);
    await page.locator('#graph-caption').waitFor();
    await view('4', 'draw');
    await page.keyboard.press('r');
    await page.locator('.draw-view .help[aria-live]', { hasText: /Test image \d+, labelled/ }).waitFor();
  } finally {
    await context.setOffline(false);
  }
});

test('the page logged no errors', () => {
  assert.deepEqual(problems, []);
});
