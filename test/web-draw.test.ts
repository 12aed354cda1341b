import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../src/data/datasets.js';
import { decimalsToTell } from '../web/src/dom.js';
import { MNIST_SIDE, toMnist } from '../web/src/mnist-image.js';

const CANVAS = 280;

/** The extent and centre of mass of the ink in a 28x28 image. */
function inkOf(image: Uint8Array) {
  let [left, top, right, bottom, mass, mx, my] = [MNIST_SIDE, MNIST_SIDE, -1, -1, 0, 0, 0];
  for (let y = 0; y < MNIST_SIDE; y++) {
    for (let x = 0; x < MNIST_SIDE; x++) {
      const v = image[y * MNIST_SIDE + x];
      if (!v) continue;
      [left, right, top, bottom] = [
        Math.min(left, x),
        Math.max(right, x),
        Math.min(top, y),
        Math.max(bottom, y),
      ];
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  return { width: right - left + 1, height: bottom - top + 1, cx: mx / mass, cy: my / mass, mass };
}

test('a blank drawing is no digit', () => {
  assert.equal(toMnist(new Uint8Array(CANVAS * CANVAS), CANVAS, CANVAS), null);
});

test('the ink is scaled to a 20-pixel box, aspect kept, and centred by mass', () => {
  // A tall white bar, 40 x 160, drawn near the top-left corner.
  const grey = new Uint8Array(CANVAS * CANVAS);
  for (let y = 10; y < 170; y++) for (let x = 20; x < 60; x++) grey[y * CANVAS + x] = 255;
  const image = toMnist(grey, CANVAS, CANVAS)!;
  const ink = inkOf(image);
  assert.equal(ink.height, 20);
  assert.equal(ink.width, 5);
  // On pixel (14, 14), as in MNIST: its centre is at 14.5 when pixel i spans [i, i + 1).
  assert.ok(
    Math.abs(ink.cx - 14.5) <= 0.5 && Math.abs(ink.cy - 14.5) <= 0.5,
    `centre of mass at ${ink.cx}, ${ink.cy}`,
  );
  // Area averaging of a solid block keeps it solid white.
  assert.equal(ink.mass, 255 * 20 * 5);
});

test('an MNIST digit drawn nine times larger anywhere on the canvas comes back as itself', () => {
  const { test: split } = loadDataset('mnist');
  const pixels = MNIST_SIDE * MNIST_SIDE;
  for (let index = 0; index < 10; index++) {
    const digit = split.images.subarray(index * pixels, (index + 1) * pixels);
    const grey = new Uint8Array(CANVAS * CANVAS);
    const [scale, dx, dy] = [9, 20, 5];
    for (let y = 0; y < MNIST_SIDE * scale; y++) {
      for (let x = 0; x < MNIST_SIDE * scale; x++) {
        grey[(y + dy) * CANVAS + x + dx] = digit[Math.floor(y / scale) * MNIST_SIDE + Math.floor(x / scale)];
      }
    }
    const image = toMnist(grey, CANVAS, CANVAS)!;
    let [dot, a, b] = [0, 0, 0];
    for (let i = 0; i < pixels; i++)
      [dot, a, b] = [dot + image[i] * digit[i], a + image[i] ** 2, b + digit[i] ** 2];
    const similarity = dot / Math.sqrt(a * b);
    assert.ok(similarity > 0.999, `test digit ${index}: cosine similarity ${similarity}`);
  }
});

test('goodness is shown with the decimals that tell the labels apart', () => {
  const shown = (values: number[]) => values.map((v) => v.toFixed(decimalsToTell(values)));
  assert.deepEqual(shown([1.123, 1.145, 1.13]), ['1.123', '1.145', '1.130']);
  assert.deepEqual(shown([3.2, 8.9]), ['3.2', '8.9']);
  assert.deepEqual(shown([0.5000012, 0.5000034]), ['0.500001', '0.500003']);
  assert.deepEqual(shown([2, 2]), ['2.0', '2.0']);
});
