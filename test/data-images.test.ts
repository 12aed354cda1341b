// The loader's image layout and its seeded random shifts (the Forward-Forward paper's jitter).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChainruleError, DataLoader, type Split } from '../src/index.js';

/** Images with distinct, non-zero pixels (so a shift can be read back from the values). */
function split(count: number, rows: number, cols: number): Split {
  const images = new Uint8Array(count * rows * cols);
  for (let i = 0; i < images.length; i++) images[i] = 1 + (i % 250);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, rows, cols };
}

const data = split(6, 7, 5);
const options = { batchSize: 4, normalize: 'none' as const };

test('images: true gives [batch, 1, rows, cols] with the flat layout values', () => {
  const [flat] = new DataLoader(data, options).batches(0);
  const [image] = new DataLoader(data, { ...options, images: true }).batches(0);
  assert.deepEqual(flat.x.shape, [4, 35]);
  assert.deepEqual(image.x.shape, [4, 1, 7, 5]);
  assert.deepEqual(image.x.data, flat.x.data);
});

/** The (down, right) shift that turns image `example` into x's row `i`; background counts as unknown. */
function shiftOf(x: Float32Array, i: number, example: number, maxShift: number): [number, number][] {
  const { rows, cols } = data;
  const found: [number, number][] = [];
  for (let down = -maxShift; down <= maxShift; down++)
    for (let right = -maxShift; right <= maxShift; right++) {
      let matches = true;
      for (let r = 0; r < rows && matches; r++)
        for (let c = 0; c < cols && matches; c++) {
          const [sr, sc] = [r - down, c - right];
          const inside = sr >= 0 && sr < rows && sc >= 0 && sc < cols;
          const expected = inside ? data.images[example * rows * cols + sr * cols + sc] : 0;
          matches = x[i * rows * cols + r * cols + c] === expected;
        }
      if (matches) found.push([down, right]);
    }
  return found;
}

test('maxShift moves each image by at most that many pixels, filling with the background', () => {
  const loader = new DataLoader(data, { ...options, maxShift: 2 });
  const seen = new Set<string>();
  for (let epoch = 0; epoch < 5; epoch++) {
    const order = loader.order(epoch);
    let i = 0;
    for (const { x } of loader.batches(epoch)) {
      for (let row = 0; row < x.shape[0]; row++, i++) {
        const shifts = shiftOf(x.data as Float32Array, row, order[i], 2);
        assert.equal(shifts.length, 1, `epoch ${epoch}, example ${i}: one shift within ±2 explains it`);
        seen.add(shifts[0].join(','));
      }
    }
  }
  assert.ok(seen.size > 10, `shifts vary (${seen.size} distinct of 25)`);
});

test('shifts are reproducible per seed and epoch, and differ between epochs and seeds', () => {
  const values = (seed: number, epoch: number) =>
    [...new DataLoader(data, { ...options, maxShift: 2, seed }).batches(epoch)].flatMap((b) => [...b.x.data]);
  assert.deepEqual(values(3, 1), values(3, 1));
  assert.notDeepEqual(values(3, 1), values(3, 2));
  assert.notDeepEqual(values(3, 1), values(4, 1));
  const unshifted = [...new DataLoader(data, options).batches(0)].flatMap((b) => [...b.x.data]);
  assert.deepEqual(
    [...new DataLoader(data, { ...options, maxShift: 0 }).batches(0)].flatMap((b) => [...b.x.data]),
    unshifted,
  );
});

test('a maxShift that is not a whole number of pixels below the image size is refused', () => {
  for (const maxShift of [-1, 1.5, 5]) {
    assert.throws(
      () => new DataLoader(data, { ...options, maxShift }),
      (e: Error) => {
        assert.ok(e instanceof ChainruleError);
        assert.match(e.message, /maxShift must be an integer from 0 to 4 pixels \(the images are 7x5\)/);
        return true;
      },
    );
  }
});
