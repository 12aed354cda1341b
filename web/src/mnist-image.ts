// A drawing made MNIST-like, the way the MNIST digits were made: the ink's bounding box scaled
// (keeping its aspect ratio, averaging over area) to fit a 20x20 box, then placed in a 28x28
// field so that its centre of mass sits on the field's centre pixel. Light ink on a dark ground.
// Pure, so it is tested without a browser.

export const MNIST_SIDE = 28;
const BOX = 20;
/** Where MNIST's centres of mass sit: on pixel (14, 14), in coordinates where pixel i spans [i, i + 1). */
const CENTRE = 14.5;
/** Grey levels at or below this count as background when finding the ink's extent. */
const INK = 16;

/** For each output cell of a 1-D resampling, the input cells it covers and by how much. */
function coverage(from: number, length: number, cells: number): { index: number; weight: number }[][] {
  const size = length / cells;
  return Array.from({ length: cells }, (_, cell) => {
    const start = from + cell * size;
    const end = start + size;
    const parts: { index: number; weight: number }[] = [];
    for (let i = Math.floor(start); i < Math.ceil(end); i++) {
      const weight = Math.min(end, i + 1) - Math.max(start, i);
      if (weight > 0) parts.push({ index: i, weight: weight / size });
    }
    return parts;
  });
}

/**
 * `grey` holds width x height levels 0..255 (row-major). Returns the 28x28 bytes, or null
 * when nothing is drawn.
 */
export function toMnist(grey: ArrayLike<number>, width: number, height: number): Uint8Array | null {
  let [left, top, right, bottom] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (grey[y * width + x] <= INK) continue;
      left = Math.min(left, x);
      right = Math.max(right, x);
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
    }
  }
  if (right < 0) return null;
  const [w, h] = [right - left + 1, bottom - top + 1];
  const scale = BOX / Math.max(w, h);
  const [cols, rows] = [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
  const across = coverage(left, w, cols);
  const down = coverage(top, h, rows);
  const small = new Float64Array(cols * rows);
  let mass = 0;
  let [mx, my] = [0, 0];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (const { index: y, weight: wy } of down[r]) {
        for (const { index: x, weight: wx } of across[c]) sum += wy * wx * grey[y * width + x];
      }
      small[r * cols + c] = sum;
      mass += sum;
      mx += sum * (c + 0.5);
      my += sum * (r + 0.5);
    }
  }
  // Shift so the centre of mass lands on the field's centre, keeping the digit inside the field.
  const place = (centre: number, extent: number) =>
    Math.min(MNIST_SIDE - extent, Math.max(0, Math.round(CENTRE - centre)));
  const [ox, oy] = [place(mx / mass, cols), place(my / mass, rows)];
  const out = new Uint8Array(MNIST_SIDE * MNIST_SIDE);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++)
      out[(oy + r) * MNIST_SIDE + ox + c] = Math.min(255, Math.round(small[r * cols + c]));
  }
  return out;
}
