// Reducing strided, broadcasting views to the shapes the fast kernels handle: a stack of
// rows x cols slabs in which every operand steps by 0 or 1 along a row, and reductions to a
// middle axis between two contiguous blocks. Shared by the WebAssembly and native backends.

export interface StridedView {
  offset: number;
  strides: readonly number[];
}

export interface RowOperandPlan {
  /** Offset of element (0, ..., 0). */
  offset: number;
  /** Strides of the slab-indexing dimensions that precede the rows. */
  outerStrides: number[];
  rowStride: number;
  /** 0 (the value repeats along a row) or 1 (the row is contiguous). */
  colStride: 0 | 1;
  /** Lowest and highest offsets the view touches: the span to copy. */
  first: number;
  last: number;
}

export interface RowsPlan {
  outerShape: number[];
  rows: number;
  cols: number;
  operands: RowOperandPlan[];
}

/**
 * Plans a contiguous output of `shape` computed from `views`, or returns null when some
 * view does not step by 0 or 1 along the (coalesced) innermost dimension, e.g. a transpose.
 * Size-1 dimensions are dropped and dimensions that every view walks as one are merged, so
 * a bias add [m, n] + [n] becomes one slab and a same-shape op one row.
 */
export function planRows(shape: readonly number[], views: readonly StridedView[]): RowsPlan | null {
  const sizes: number[] = [];
  const strides: number[][] = views.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d];
    if (size === 1) continue;
    const last = sizes.length - 1;
    if (last >= 0 && views.every((v, i) => strides[i][last] === v.strides[d] * size)) {
      sizes[last] *= size;
      views.forEach((v, i) => {
        strides[i][last] = v.strides[d];
      });
    } else {
      sizes.push(size);
      views.forEach((v, i) => {
        strides[i].push(v.strides[d]);
      });
    }
  }
  while (sizes.length < 2) {
    sizes.unshift(1);
    for (const s of strides) s.unshift(0);
  }
  const rank = sizes.length;
  const operands: RowOperandPlan[] = [];
  for (let i = 0; i < views.length; i++) {
    const s = strides[i];
    const colStride = s[rank - 1];
    if (colStride !== 0 && colStride !== 1) return null;
    let first = views[i].offset;
    let last = first;
    for (let d = 0; d < rank; d++) {
      const reach = (sizes[d] - 1) * s[d];
      if (reach < 0) first += reach;
      else last += reach;
    }
    operands.push({
      offset: views[i].offset,
      outerStrides: s.slice(0, rank - 2),
      rowStride: s[rank - 2],
      colStride,
      first,
      last,
    });
  }
  return { outerShape: sizes.slice(0, rank - 2), rows: sizes[rank - 2], cols: sizes[rank - 1], operands };
}

/**
 * Calls visit(slab, offsets) for each rows x cols slab in row-major order, with offsets[i]
 * the offset of operand i's element (slab, 0, 0). The output's slab starts at slab * rows * cols.
 */
export function forEachSlab(plan: RowsPlan, visit: (slab: number, offsets: readonly number[]) => void): void {
  const { outerShape, operands } = plan;
  const offsets = operands.map((o) => o.offset);
  const index = outerShape.map(() => 0);
  const slabs = outerShape.reduce((p, d) => p * d, 1);
  for (let slab = 0; slab < slabs; slab++) {
    visit(slab, offsets);
    for (let d = outerShape.length - 1; d >= 0; d--) {
      index[d]++;
      operands.forEach((o, i) => {
        offsets[i] += o.outerStrides[d];
      });
      if (index[d] < outerShape[d]) break;
      operands.forEach((o, i) => {
        offsets[i] -= o.outerStrides[d] * outerShape[d];
      });
      index[d] = 0;
    }
  }
}

/**
 * Splits a reduction of `shape` over `axes` into x viewed as [outer, length, inner] reduced
 * over the middle, or returns null when the reduced axes (ignoring size-1 ones) are not
 * adjacent.
 */
export function splitReduction(
  shape: readonly number[],
  axes: readonly number[],
): { outer: number; length: number; inner: number } | null {
  let outer = 1;
  let length = 1;
  let inner = 1;
  let phase: 'before' | 'reducing' | 'after' = 'before';
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    if (axes.includes(d)) {
      if (phase === 'after') return null;
      phase = 'reducing';
      length *= shape[d];
    } else if (phase === 'before') {
      outer *= shape[d];
    } else {
      phase = 'after';
      inner *= shape[d];
    }
  }
  return { outer, length, inner };
}
