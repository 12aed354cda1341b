// Convolutions as the chain rule sees them. unfold (im2col) copies each window of an image
// into a column and fold (col2im), its adjoint, adds columns back onto the image; both are
// linear, so each one's VJP is the other and each one's JVP is itself. A convolution
// y = W ⋆ x is unfold followed by a matrix product; it is bilinear, so its JVP is two
// convolutions (dW ⋆ x + W ⋆ dx), and its VJP is a correlation for the weights (g · unfold(x)ᵀ)
// and a transposed convolution for the input (fold(Wᵀ · g)). A locally connected layer is the
// same with a different W at every output position.

import { getBackend } from '../backend/index.js';
import type { FloatArray, Window2dSpec } from '../backend/kernels.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import type { Op } from '../tensor/node.js';
import { allocate, type Shape, Tensor } from '../tensor/tensor.js';
import { checkFloat, sameShape } from './broadcast.js';
import {
  checkImages,
  resolveWindow,
  type Size2,
  type Window2d,
  type WindowOptions,
  windowSpec,
} from './conv-window.js';
import { apply, isDifferentiating, isGradEnabled } from './dispatch.js';
import { binaryOps } from './elementwise.js';
import { matmulOp, mm } from './linalg.js';
import { permuteOp } from './shape.js';

// ---- unfold and fold -------------------------------------------------------------------------

/** im2col of x, computed by the kernels without recording anything: [batch, C·kh·kw, outH·outW]. */
function im2col(x: Tensor, spec: Window2dSpec): Tensor {
  const rows = spec.channels * spec.kernelH * spec.kernelW;
  const positions = spec.outH * spec.outW;
  const cols = allocate(x.dtype, spec.batch * rows * positions) as FloatArray;
  getBackend().im2col(x.data as FloatArray, cols, spec);
  return new Tensor(cols, [spec.batch, rows, positions]);
}

export interface UnfoldAttrs {
  window: Window2d;
}

export interface FoldAttrs {
  window: Window2d;
  /** The image's [height, width]. */
  outputSize: [number, number];
}

export const unfoldOp: Op<UnfoldAttrs> = {
  name: 'unfold',
  forward: ([x], { window }) => im2col(x, windowSpec('unfold', x.shape, window)),
  // unfold copies each pixel into every window over it; the adjoint adds the copies back up.
  vjp: (g, { inputs: [x], attrs: { window } }) => [() => foldWindows(g, [x.shape[2], x.shape[3]], window)],
  jvp: ({ attrs }) => [(t) => apply(unfoldOp, [t], attrs)],
};

/** The image spec that `cols` unfolds, checking that its shape fits the window and output size. */
function foldSpec(owner: string, cols: Shape, { window, outputSize }: FoldAttrs): Window2dSpec {
  const taps = window.kernel[0] * window.kernel[1];
  if (cols.length !== 3 || cols[1] % taps !== 0) {
    throw new ShapeError(
      `${owner}: input of shape ${formatShape(cols)} must be [batch, channels·${window.kernel[0]}·${window.kernel[1]}, windows] ` +
        `for a ${window.kernel[0]}x${window.kernel[1]} kernel`,
    );
  }
  const spec = windowSpec(owner, [cols[0], cols[1] / taps, ...outputSize], window);
  if (spec.outH * spec.outW !== cols[2]) {
    throw new ShapeError(
      `${owner}: a ${outputSize[0]}x${outputSize[1]} output has ${spec.outH}x${spec.outW} = ${spec.outH * spec.outW} ` +
        `window positions, but the input of shape ${formatShape(cols)} has ${cols[2]}; check outputSize and the window options`,
    );
  }
  return spec;
}

export const foldOp: Op<FoldAttrs> = {
  name: 'fold',
  forward([cols], attrs) {
    checkFloat('fold', cols);
    const spec = foldSpec('fold', cols.shape, attrs);
    const image = allocate(cols.dtype, spec.batch * spec.channels * spec.height * spec.width) as FloatArray;
    getBackend().col2im(cols.data as FloatArray, image, spec);
    return new Tensor(image, [spec.batch, spec.channels, spec.height, spec.width]);
  },
  vjp: (g, { attrs: { window } }) => [() => apply(unfoldOp, [g], { window })],
  jvp: ({ attrs }) => [(t) => apply(foldOp, [t], attrs)],
};

function foldWindows(cols: Tensor, outputSize: [number, number], window: Window2d): Tensor {
  return apply(foldOp, [cols], { window, outputSize });
}

/**
 * Extracts sliding windows like torch.nn.functional.unfold: x [N, C, H, W] becomes
 * [N, C·kh·kw, L], one column per window position (L of them, row-major), its rows ordered
 * by channel, then kernel row, then kernel column. Padding reads as zeros.
 */
export function unfold(x: Tensor, kernelSize: Size2, options: WindowOptions = {}): Tensor {
  checkFloat('unfold', x);
  const window = resolveWindow('unfold', kernelSize, options);
  windowSpec('unfold', x.shape, window);
  return apply(unfoldOp, [x], { window });
}

/**
 * The adjoint of unfold, like torch.nn.functional.fold: adds columns [N, C·kh·kw, L] back into
 * images [N, C, outputSize[0], outputSize[1]], summing where windows overlap.
 */
export function fold(
  cols: Tensor,
  outputSize: Size2,
  kernelSize: Size2,
  options: WindowOptions = {},
): Tensor {
  const window = resolveWindow('fold', kernelSize, options);
  const size = resolveWindow('fold', outputSize, {}).kernel;
  foldSpec('fold', cols.shape, { window, outputSize: size });
  return foldWindows(cols, size, window);
}

// ---- convolution -------------------------------------------------------------------------------

export interface Conv2dAttrs {
  /** The window; its kernel size is the weight's. */
  window: Window2d;
  groups: number;
}

/** Sizes of a grouped convolution: G groups of `outPerGroup` filters over K = (C/G)·kh·kw taps. */
function convSizes(x: Tensor, w: Tensor, { window, groups }: Conv2dAttrs) {
  const spec = windowSpec('conv2d', x.shape, window);
  const out = w.shape[0];
  return {
    spec,
    batch: spec.batch,
    groups,
    outPerGroup: out / groups,
    taps: w.size / out,
    positions: spec.outH * spec.outW,
    outShape: [spec.batch, out, spec.outH, spec.outW],
  };
}

/** A bias [C] as [C, 1, 1], to broadcast over an NCHW batch. */
const channelBias = (b: Tensor) => new Tensor(b.data, [b.size, 1, 1]);

/**
 * The im2col of each recorded convolution's input, by the convolution's output, for the
 * weight gradient to reuse instead of unfolding the input again; taken once.
 */
const windowsOf = new WeakMap<Tensor, Tensor>();

export const conv2dOp: Op<Conv2dAttrs> = {
  name: 'conv2d',
  // y[n, g] = W[g] · unfold(x)[n, g] (+ b) for each image n and group g: one batched GEMM.
  // The bias is an input of the op, so its gradient sums g over images and positions in two
  // adjacent reductions rather than one over the scattered axes 0, 2 and 3.
  forward([x, w, b], attrs) {
    const s = convSizes(x, w, attrs);
    const cols = im2col(x, s.spec);
    const filters = new Tensor(w.data, [s.groups, s.outPerGroup, s.taps]);
    const windows = new Tensor(cols.data, [s.batch, s.groups, s.taps, s.positions]);
    const y = new Tensor(
      matmulOp.forward([filters, windows], { transA: false, transB: false }).data,
      s.outShape,
    );
    const out = b ? binaryOps.add.forward([y, channelBias(b)], undefined) : y;
    if (isGradEnabled()) windowsOf.set(out, windows);
    return out;
  },
  vjp: (g, { inputs: [x, w, b], attrs, out }) => {
    const s = convSizes(x, w, attrs);
    const grouped = () => g.reshape([s.batch, s.groups, s.outPerGroup, s.positions]);
    const filters = () => w.reshape([s.groups, s.outPerGroup, s.taps]);
    // A backward pass that is itself differentiated (recorded, or under a jvp) needs
    // unfold(x) as an op of x; a plain one can take the forward's windows.
    const windows = () => {
      const cached = windowsOf.get(out);
      windowsOf.delete(out);
      return cached && !isDifferentiating()
        ? cached
        : apply(unfoldOp, [x], { window: attrs.window }).reshape([s.batch, s.groups, s.taps, s.positions]);
    };
    return [
      // The transposed convolution: Wᵀ · g per window, folded back onto the image.
      () =>
        foldWindows(
          mm(filters(), grouped(), true, false).reshape([s.batch, s.groups * s.taps, s.positions]),
          [x.shape[2], x.shape[3]],
          attrs.window,
        ),
      // The correlation of g with the windows, summed over the batch.
      () => mm(grouped(), windows(), false, true).sum(0).reshape(w.shape),
      ...(b ? [() => g.reshape([s.batch, w.shape[0], s.positions]).sum(2).sum(0)] : []),
    ];
  },
  // Bilinear in (x, w), plus the bias: d(W ⋆ x + b) = dW ⋆ x + W ⋆ dx + db.
  jvp: ({ inputs: [x, w, b], attrs }) => [
    (tx) => apply(conv2dOp, [tx, w], attrs),
    (tw) => apply(conv2dOp, [x, tw], attrs),
    ...(b ? [(tb: Tensor) => tb.reshape([tb.size, 1, 1])] : []),
  ],
};

export interface ConvOptions extends WindowOptions {
  /** Split the channels into this many groups, each convolved with its own filters (default 1). */
  groups?: number;
}

/** Checks a convolution's operands (owner names the layer or op in errors) and resolves its window. */
export function convAttrs(owner: string, x: Tensor, weight: Tensor, options: ConvOptions): Conv2dAttrs {
  checkFloat(owner, x, weight);
  checkImages(owner, x.shape);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new ChainruleError(`${owner}: groups must be a positive integer, got ${groups}`);
  }
  if (weight.ndim !== 4) {
    throw new ShapeError(
      `${owner}: weight of shape ${formatShape(weight.shape)} must be [outChannels, inChannels/groups, kernelH, kernelW]`,
    );
  }
  const [out, perGroup, kh, kw] = weight.shape;
  if (out % groups !== 0) {
    throw new ShapeError(
      `${owner}: ${out} output channels do not divide into ${groups} groups; use a multiple of ${groups} filters or fewer groups`,
    );
  }
  if (x.shape[1] !== perGroup * groups) {
    throw new ShapeError(
      `${owner}: input of shape ${formatShape(x.shape)} has ${x.shape[1]} channels, but the weight ${formatShape(weight.shape)} ` +
        `with groups ${groups} takes ${perGroup * groups} (weight.shape[1]·groups); feed ${perGroup * groups}-channel images ` +
        'or build the weight for this many channels',
    );
  }
  const window = resolveWindow(owner, [kh, kw], options);
  windowSpec(owner, x.shape, window);
  return { window, groups };
}

/**
 * 2-D cross-correlation like torch.nn.functional.conv2d: x [N, C, H, W], weight
 * [out, C/groups, kh, kw], optional bias [out]; gives [N, out, outH, outW].
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  options: ConvOptions = {},
): Tensor {
  const attrs = convAttrs('conv2d', x, weight, options);
  if (bias && !sameShape(bias.shape, [weight.shape[0]])) {
    throw new ShapeError(
      `conv2d: bias of shape ${formatShape(bias.shape)} must be [${weight.shape[0]}], one per filter`,
    );
  }
  if (bias) checkFloat('conv2d', x, bias);
  return apply(conv2dOp, bias ? [x, weight, bias] : [x, weight], attrs);
}

// ---- locally connected ---------------------------------------------------------------------------

/** Sizes of a locally connected map: at each of L positions its own [out, K] filter bank. */
function localSizes(x: Tensor, w: Tensor, window: Window2d) {
  const spec = windowSpec('locallyConnected2d', x.shape, window);
  const positions = spec.outH * spec.outW;
  const out = w.shape[2];
  return { spec, positions, out, taps: w.size / (positions * out), batch: spec.batch };
}

/** [batch, rows, positions] <-> [positions, rows, batch]: the position axis leads, for a batched GEMM over it. */
const POSITIONS_FIRST = [2, 1, 0];

export const locallyConnected2dOp: Op<UnfoldAttrs> = {
  name: 'locallyConnected2d',
  // y[:, :, l] = W[l] · unfold(x)[:, :, l] for every position l: a GEMM batched over positions.
  forward([x, w], { window }) {
    const s = localSizes(x, w, window);
    const cols = permuteOp.forward([im2col(x, s.spec)], { dims: POSITIONS_FIRST });
    const filters = new Tensor(w.data, [s.positions, s.out, s.taps]);
    const y = matmulOp.forward([filters, cols], { transA: false, transB: false });
    const out = permuteOp.forward([y], { dims: POSITIONS_FIRST });
    return new Tensor(out.data, [s.batch, s.out, s.spec.outH, s.spec.outW]);
  },
  vjp: (g, { inputs: [x, w], attrs: { window } }) => {
    const s = localSizes(x, w, window);
    const perPosition = () => g.reshape([s.batch, s.out, s.positions]).permute(POSITIONS_FIRST);
    return [
      () =>
        foldWindows(
          mm(w.reshape([s.positions, s.out, s.taps]), perPosition(), true, false).permute(POSITIONS_FIRST),
          [x.shape[2], x.shape[3]],
          window,
        ),
      () =>
        mm(perPosition(), apply(unfoldOp, [x], { window }).permute(POSITIONS_FIRST), false, true).reshape(
          w.shape,
        ),
    ];
  },
  jvp: ({ inputs: [x, w], attrs }) => [
    (tx) => apply(locallyConnected2dOp, [tx, w], attrs),
    (tw) => apply(locallyConnected2dOp, [x, tw], attrs),
  ],
};

/** Checks a locally connected map's operands and resolves its window. */
export function localAttrs(owner: string, x: Tensor, weight: Tensor, options: WindowOptions): UnfoldAttrs {
  checkFloat(owner, x, weight);
  checkImages(owner, x.shape);
  if (weight.ndim !== 6) {
    throw new ShapeError(
      `${owner}: weight of shape ${formatShape(weight.shape)} must be [outH, outW, outChannels, inChannels, kernelH, kernelW]`,
    );
  }
  const [outH, outW, , inChannels, kh, kw] = weight.shape;
  if (x.shape[1] !== inChannels) {
    throw new ShapeError(
      `${owner}: input of shape ${formatShape(x.shape)} has ${x.shape[1]} channels, but the weight ${formatShape(weight.shape)} takes ${inChannels}`,
    );
  }
  const window = resolveWindow(owner, [kh, kw], options);
  const spec = windowSpec(owner, x.shape, window);
  if (spec.outH !== outH || spec.outW !== outW) {
    throw new ShapeError(
      `${owner}: input of shape ${formatShape(x.shape)} gives ${spec.outH}x${spec.outW} window positions, but the weight ` +
        `${formatShape(weight.shape)} has filters for ${outH}x${outW}; build the layer for ${x.shape[2]}x${x.shape[3]} images`,
    );
  }
  return { window };
}

/**
 * A convolution without weight sharing: weight [outH, outW, out, C, kh, kw] holds a separate
 * filter bank for every output position; x [N, C, H, W] gives [N, out, outH, outW].
 */
export function locallyConnected2d(x: Tensor, weight: Tensor, options: WindowOptions = {}): Tensor {
  return apply(locallyConnected2dOp, [x, weight], localAttrs('locallyConnected2d', x, weight, options));
}
