// The reference sliding-window kernels: im2col, its adjoint col2im, and max pooling, as plain
// loops over every (image, channel, window tap, window position) of a Window2dSpec.

import type { FloatArray, Window2dSpec } from '../kernels.js';

/**
 * Calls visit(column, source) for every tap of every window: column is the tap's offset in
 * the im2col matrix, source its offset in x, or -1 in the padding.
 */
function forEachTap(s: Window2dSpec, visit: (column: number, source: number) => void): void {
  let column = 0;
  for (let n = 0; n < s.batch; n++) {
    for (let c = 0; c < s.channels; c++) {
      const plane = (n * s.channels + c) * s.height * s.width;
      for (let i = 0; i < s.kernelH; i++) {
        for (let j = 0; j < s.kernelW; j++) {
          for (let oh = 0; oh < s.outH; oh++) {
            const ih = oh * s.strideH - s.padH + i * s.dilationH;
            for (let ow = 0; ow < s.outW; ow++) {
              const iw = ow * s.strideW - s.padW + j * s.dilationW;
              const inside = ih >= 0 && ih < s.height && iw >= 0 && iw < s.width;
              visit(column++, inside ? plane + ih * s.width + iw : -1);
            }
          }
        }
      }
    }
  }
}

export function im2col(x: FloatArray, cols: FloatArray, s: Window2dSpec): void {
  forEachTap(s, (column, source) => {
    cols[column] = source < 0 ? 0 : x[source];
  });
}

export function col2im(cols: FloatArray, x: FloatArray, s: Window2dSpec): void {
  // Accumulated in float64 and rounded once per element, like every reference kernel.
  const sums = new Float64Array(x.length);
  forEachTap(s, (column, source) => {
    if (source >= 0) sums[source] += cols[column];
  });
  x.set(sums);
}

export function maxPool2d(x: FloatArray, out: FloatArray, indices: Int32Array, s: Window2dSpec): void {
  let o = 0;
  for (let n = 0; n < s.batch; n++) {
    for (let c = 0; c < s.channels; c++) {
      const plane = (n * s.channels + c) * s.height * s.width;
      for (let oh = 0; oh < s.outH; oh++) {
        for (let ow = 0; ow < s.outW; ow++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < s.kernelH; i++) {
            const ih = oh * s.strideH - s.padH + i * s.dilationH;
            if (ih < 0 || ih >= s.height) continue;
            for (let j = 0; j < s.kernelW; j++) {
              const iw = ow * s.strideW - s.padW + j * s.dilationW;
              if (iw < 0 || iw >= s.width) continue;
              const source = plane + ih * s.width + iw;
              const v = x[source];
              // Like torch: a larger value or a NaN takes over; the first of equal maxima stays.
              if (at < 0 || v > best || Number.isNaN(v)) {
                best = v;
                at = source;
              }
            }
          }
          out[o] = best;
          indices[o] = at;
        }
      }
    }
  }
}
