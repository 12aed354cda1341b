// Data files and images that would cost gigabytes to be told they are wrong: a gzip bomb in a
// data folder, a huge PNG, and an image that reads fine but is inverted (dark on light).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { claimedPng, RUN } from '../scripts/make-corrupt-fixtures.js';
import { createTrainer, encodeCheckpoint, readIdxFile } from '../src/index.js';
import { borderLevel, pngSize, readGreyPng } from '../src/io/png.js';
import { BIN } from './helpers/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'chainrule-bounded-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const ubyteHeader = (shape: number[]) => {
  const out = new Uint8Array(4 + 4 * shape.length);
  out[2] = 0x08;
  out[3] = shape.length;
  for (const [i, d] of shape.entries()) new DataView(out.buffer).setUint32(4 + 4 * i, d, false);
  return out;
};

/** A gzip file inflating to `head` then `mebibytes` MiB of zeros, as repeated gzip members (cheap to build). */
function bomb(head: Uint8Array, mebibytes: number): Buffer {
  const zeros = gzipSync(new Uint8Array(2 ** 20));
  return Buffer.concat([gzipSync(head), ...new Array(mebibytes).fill(zeros)]);
}

test('a gzip bomb is refused at the length its IDX header declares, not inflated whole', () => {
  const rss = process.memoryUsage().rss;
  const small = join(scratch, 'small-header.gz');
  writeFileSync(small, bomb(ubyteHeader([2, 2]), 1024));
  assert.throws(
    () => readIdxFile(small),
    /small-header\.gz inflates to more than the 16 bytes its IDX header declares: it is damaged \(or a zip bomb\)/,
  );
  const mnistSized = join(scratch, 'mnist-header.gz');
  writeFileSync(mnistSized, bomb(ubyteHeader([60000, 28, 28]), 1024));
  assert.throws(
    () => readIdxFile(mnistSized),
    /inflates to more than the 47040016 bytes its IDX header declares/,
  );
  const zeros = join(scratch, 'zeros.gz');
  writeFileSync(zeros, bomb(new Uint8Array(0), 1024));
  assert.throws(() => readIdxFile(zeros), /zeros\.gz is not an IDX file: it starts with 00 00 00 00/);
  assert.ok(process.memoryUsage().rss - rss < 400 * 2 ** 20, 'the gibibyte of zeros was never held');
});

test('an IDX header declaring more than chainrule reads is refused before inflating', () => {
  const huge = join(scratch, 'huge.gz');
  writeFileSync(huge, gzipSync(ubyteHeader([65536, 65536])));
  assert.throws(() => readIdxFile(huge), /declares 4294967308 bytes once inflated, more than the 1073741824/);
  assert.throws(
    () => readIdxFile('/dev/zero'),
    /data file \/dev\/zero is a character device, not a regular file/,
  );
});

test("a PNG's size is checked from its header before it is decoded", () => {
  const path = join(scratch, 'huge.png');
  writeFileSync(path, claimedPng(20000, 20000));
  assert.deepEqual(pngSize(claimedPng(20000, 20000), 'x'), { width: 20000, height: 20000 });
  assert.throws(
    () => readGreyPng(path, 784),
    /huge\.png is 20000x20000, but the model takes 784 pixels \(28x28\); resize the image to 28x28 first/,
  );
  const strip = join(scratch, 'strip.png');
  writeFileSync(strip, claimedPng(784, 1));
  assert.throws(() => readGreyPng(strip, 784), /strip\.png is 784x1/);
  const notPng = join(scratch, 'text.png');
  writeFileSync(notPng, 'hello');
  assert.throws(() => readGreyPng(notPng, 784), /text\.png is not a PNG image/);
});

/** A 28x28 grey PNG: a bar of `ink` on a background of `paper`. */
function digitPng(paper: number, ink: number): Buffer {
  const png = new PNG({ width: 28, height: 28 });
  for (let i = 0; i < 784; i++) {
    const [x, y] = [i % 28, Math.floor(i / 28)];
    const v = x >= 12 && x < 16 && y >= 4 && y < 24 ? ink : paper;
    png.data.set([v, v, v, 255], 4 * i);
  }
  return PNG.sync.write(png);
}

test('predict says the image looks inverted instead of classifying dark ink on light paper', () => {
  const checkpoint = join(scratch, 'tiny.safetensors');
  const trainer = createTrainer('bp', { hidden: [8] }, { seed: 0 });
  writeFileSync(checkpoint, encodeCheckpoint('bp', trainer.snapshot(), RUN));
  const inverted = join(scratch, 'inverted.png');
  const normal = join(scratch, 'normal.png');
  writeFileSync(inverted, digitPng(250, 10));
  writeFileSync(normal, digitPng(0, 255));
  assert.ok(borderLevel(readGreyPng(inverted, 784).pixels, 28, 28) > 240);
  assert.equal(borderLevel(readGreyPng(normal, 784).pixels, 28, 28), 0);

  const run = (image: string) =>
    spawnSync(process.execPath, [BIN, 'predict', '--checkpoint', checkpoint, image], { encoding: 'utf8' });
  const bad = run(inverted);
  assert.equal(bad.status, 2);
  assert.match(
    bad.stderr,
    /inverted\.png looks inverted: its border averages 250 of 255, a dark digit on a light background.*invert the image first/,
  );
  const good = run(normal);
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, /normal\.png: \d/);
});
