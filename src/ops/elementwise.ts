// Elementwise ops. Each is its value plus its local derivative; the reverse rule multiplies
// the incoming cotangent by that derivative (then sums it back to the input's shape where the
// input was broadcast), and the forward rule multiplies the incoming tangent by it.

import { getBackend } from '../backend/index.js';
import type { BinaryOp, UnaryOp } from '../backend/kernels.js';
import { attachMethods } from '../tensor/methods.js';
import type { Op } from '../tensor/node.js';
import { allocateUninitialized, Tensor } from '../tensor/tensor.js';
import { broadcastShapes, broadcastView, checkFloat, lift, promote, sameShape } from './broadcast.js';
import { apply } from './dispatch.js';

// ---- unary ---------------------------------------------------------------------------------

/** d(out)/dx as a tensor or a constant; null marks an op whose derivative is zero almost everywhere. */
type UnaryDerivative = ((x: Tensor, out: Tensor) => Tensor | number) | null;

function unaryOp(
  name: UnaryOp,
  derivative: UnaryDerivative,
  symbolic?: (x: string, out: string) => string,
): Op {
  return {
    name,
    forward([x]) {
      checkFloat(name, x);
      const out = allocateUninitialized(x.dtype, x.size);
      getBackend().unary(name, x.data, out);
      return new Tensor(out, x.shape);
    },
    vjp: (g, { inputs: [x], out }) => [derivative && (() => scale(g, derivative(x, out)))],
    jvp: ({ inputs: [x], out }) => [derivative && ((t) => scale(t, derivative(x, out)))],
    symbolic: symbolic && (([x], out) => [symbolic(x, out)]),
  };
}

/** t times a local derivative; the constants 1 and -1 skip the multiply. */
function scale(t: Tensor, by: Tensor | number): Tensor {
  if (by === 1) return t;
  if (by === -1) return t.neg();
  return t.mul(by);
}

export const unaryOps = {
  neg: unaryOp(
    'neg',
    () => -1,
    () => '-1',
  ),
  exp: unaryOp(
    'exp',
    (_x, out) => out,
    (_x, out) => out,
  ),
  log: unaryOp(
    'log',
    (x) => x.reciprocal(),
    (x) => `1/${x}`,
  ),
  sqrt: unaryOp(
    'sqrt',
    (_x, out) => out.reciprocal().mul(0.5),
    (_x, out) => `1/(2*${out})`,
  ),
  abs: unaryOp(
    'abs',
    (x) => x.sign(),
    (x) => `sign(${x})`,
  ),
  tanh: unaryOp(
    'tanh',
    (_x, out) => out.square().neg().add(1),
    (_x, out) => `1 - ${out}^2`,
  ),
  sigmoid: unaryOp(
    'sigmoid',
    (_x, out) => out.mul(out.neg().add(1)),
    (_x, out) => `${out}*(1 - ${out})`,
  ),
  relu: unaryOp(
    'relu',
    (x) => x.step(),
    (x) => `(${x} > 0 ? 1 : 0)`,
  ),
  softplus: unaryOp(
    'softplus',
    (x) => x.sigmoid(),
    (x) => `sigmoid(${x})`,
  ),
  square: unaryOp(
    'square',
    (x) => x.mul(2),
    (x) => `2*${x}`,
  ),
  reciprocal: unaryOp(
    'reciprocal',
    (_x, out) => out.square().neg(),
    (x) => `-1/${x}^2`,
  ),
  sign: unaryOp('sign', null),
  step: unaryOp('step', null),
} satisfies Record<UnaryOp, Op>;

// ---- binary --------------------------------------------------------------------------------

/** One input's local derivative; a number stands for a constant (1 and -1 skip the multiply). */
type Partial = (a: Tensor, b: Tensor, out: Tensor) => Tensor | number;
/** d(out)/da and d(out)/db, separate so each is computed only when its input needs it. */
type Partials = readonly [Partial, Partial];

function binaryOp(
  name: BinaryOp,
  partials: Partials | null,
  symbolic?: (a: string, b: string, out: string) => [string, string],
): Op {
  return {
    name,
    forward([a, b]) {
      checkFloat(name, a, b);
      const shape = broadcastShapes(name, a.shape, b.shape);
      const out = new Tensor(
        allocateUninitialized(
          a.dtype,
          shape.reduce((p, d) => p * d, 1),
        ),
        shape,
      );
      getBackend().binary(name, broadcastView(a, shape), broadcastView(b, shape), out.data, shape);
      return out;
    },
    vjp: (g, { inputs, out }) =>
      partials
        ? partials.map((d, i) => () => sumTo(scale(g, d(inputs[0], inputs[1], out)), inputs[i].shape))
        : [null, null],
    jvp: ({ inputs, out }) =>
      partials ? partials.map((d) => (t: Tensor) => scale(t, d(inputs[0], inputs[1], out))) : [null, null],
    symbolic: symbolic && (([a, b], out) => symbolic(a, b, out)),
  };
}

const comparison = (name: BinaryOp): Op => ({ ...binaryOp(name, null), differentiable: false });

export const binaryOps = {
  add: binaryOp('add', [() => 1, () => 1], () => ['1', '1']),
  sub: binaryOp('sub', [() => 1, () => -1], () => ['1', '-1']),
  mul: binaryOp('mul', [(_a, b) => b, (a) => a], (a, b) => [b, a]),
  div: binaryOp('div', [(_a, b) => b.reciprocal(), (_a, b, out) => out.div(b).neg()], (a, b) => [
    `1/${b}`,
    `-${a}/${b}^2`,
  ]),
  pow: binaryOp('pow', [(a, b) => b.mul(a.pow(b.sub(1))), (a, _b, out) => out.mul(a.log())], (a, b, out) => [
    `${b}*${a}^(${b} - 1)`,
    `${out}*log(${a})`,
  ]),
  // Ties send the whole gradient to the first argument, as a subgradient must pick one.
  maximum: binaryOp('maximum', [(a, b) => a.ge(b), (a, b) => a.lt(b)]),
  minimum: binaryOp('minimum', [(a, b) => a.le(b), (a, b) => a.gt(b)]),
  gt: comparison('gt'),
  ge: comparison('ge'),
  lt: comparison('lt'),
  le: comparison('le'),
  eq: comparison('eq'),
} satisfies Record<BinaryOp, Op>;

// ---- where ---------------------------------------------------------------------------------

export const whereOp: Op = {
  name: 'where',
  forward([cond, a, b]) {
    checkFloat('where', a, b);
    const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
    const out = new Tensor(
      allocateUninitialized(
        a.dtype,
        shape.reduce((p, d) => p * d, 1),
      ),
      shape,
    );
    getBackend().select(
      broadcastView(cond, shape),
      broadcastView(a, shape),
      broadcastView(b, shape),
      out.data,
      shape,
    );
    return out;
  },
  vjp: (g, { inputs: [cond, a, b] }) => {
    const zero = lift(0, g);
    return [null, () => sumTo(where(cond, g, zero), a.shape), () => sumTo(where(cond, zero, g), b.shape)];
  },
  jvp: ({ inputs: [cond] }) => {
    return [null, (t) => where(cond, t, lift(0, t)), (t) => where(cond, lift(0, t), t)];
  },
};

// ---- functions -----------------------------------------------------------------------------

export type Operand = Tensor | number;

const binary = (op: Op, a: Operand, b: Operand): Tensor => {
  const like = a instanceof Tensor ? a : (b as Tensor);
  const operands = [lift(a, like), lift(b, like)];
  return apply(
    op,
    operands[0].dtype === operands[1].dtype ? operands : promote(op.name, operands),
    undefined,
  );
};

export const add = (a: Operand, b: Operand) => binary(binaryOps.add, a, b);
export const sub = (a: Operand, b: Operand) => binary(binaryOps.sub, a, b);
export const mul = (a: Operand, b: Operand) => binary(binaryOps.mul, a, b);
export const div = (a: Operand, b: Operand) => binary(binaryOps.div, a, b);
export const pow = (a: Operand, b: Operand) => binary(binaryOps.pow, a, b);
export const maximum = (a: Operand, b: Operand) => binary(binaryOps.maximum, a, b);
export const minimum = (a: Operand, b: Operand) => binary(binaryOps.minimum, a, b);

/** Picks a where cond is non-zero, b elsewhere (all three broadcast together). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : cond;
  const [x, y] = promote('where', [lift(a, like), lift(b, like)]);
  return apply(whereOp, [cond, x, y], undefined);
}

/** Limits values to [min, max]; either bound may be omitted. */
export function clamp(x: Tensor, min?: Operand, max?: Operand): Tensor {
  let out = x;
  if (min !== undefined) out = maximum(out, min);
  if (max !== undefined) out = minimum(out, max);
  return out;
}

/** Sums t over the dimensions that broadcasting stretched, so its shape becomes `shape`. */
export function sumTo(t: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(t.shape, shape)) return t;
  const lead = t.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < t.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && t.shape[i] !== 1)) axes.push(i);
  }
  return t.sum(axes, true).reshape(shape);
}

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(other: Operand): Tensor;
    sub(other: Operand): Tensor;
    mul(other: Operand): Tensor;
    div(other: Operand): Tensor;
    pow(exponent: Operand): Tensor;
    maximum(other: Operand): Tensor;
    minimum(other: Operand): Tensor;
    gt(other: Operand): Tensor;
    ge(other: Operand): Tensor;
    lt(other: Operand): Tensor;
    le(other: Operand): Tensor;
    eq(other: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    softplus(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    sign(): Tensor;
    step(): Tensor;
    clamp(min?: Operand, max?: Operand): Tensor;
  }
}

attachMethods({
  ...Object.fromEntries(
    Object.entries(binaryOps).map(([name, op]) => [
      name,
      (x: Tensor, other: Operand) => binary(op, x, other),
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(unaryOps).map(([name, op]) => [name, (x: Tensor) => apply(op, [x], undefined)]),
  ),
  clamp,
});
