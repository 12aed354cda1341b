// Gradient checks against central finite differences. The differences perturb and read raw
// buffers, never ops, so the checker does not rely on the code it checks. Use float64 inputs:
// in float32 a difference quotient keeps only three or four correct digits.

import assert from 'node:assert/strict';
import { concat, jvp, noGrad, Rng, randn, type Tensor, tensor, vjp, zeros } from '../../src/index.js';

export type Fn = (...inputs: Tensor[]) => Tensor;

export interface Tolerance {
  /** Allowed error relative to the larger magnitude of the two values compared. */
  rtol?: number;
  /** Allowed absolute error, for values near zero. */
  atol?: number;
}

export interface GradcheckOptions extends Tolerance {
  /** Step of the central difference. */
  eps?: number;
  /** Indices of the inputs to differentiate (default: every floating-point input). */
  wrt?: readonly number[];
  /** Draws the random cotangent and tangents (a fixed seed by default, so runs reproduce). */
  rng?: Rng;
}

export interface GradcheckResult {
  out: Tensor;
  /** The random cotangent of the output and tangents of the inputs the check used. */
  cotangent: Tensor;
  tangents: Tensor[];
  /** Reverse mode: cotangentᵀ·J for each input; forward mode: J·tangents. */
  grads: Tensor[];
  tangentOut: Tensor;
}

const DEFAULTS = { eps: 1e-6, rtol: 1e-6, atol: 1e-8 };

/** f's value with no graph recorded, as float64 numbers. */
function evaluate(f: Fn, inputs: readonly Tensor[]): Float64Array {
  return Float64Array.from(noGrad(() => f(...inputs)).data);
}

/** inputs with inputs[i] replaced by a copy whose values `edit` changed. */
function perturbed(inputs: readonly Tensor[], i: number, edit: (data: Tensor['data']) => void): Tensor[] {
  const copy = inputs[i].data.slice();
  edit(copy);
  return inputs.map((t, j) => (j === i ? tensor(copy, { shape: t.shape }) : t));
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * d<cotangent, f(inputs)>/d inputs[i] by central differences, one element at a time
 * (the cotangent defaults to ones, which for a scalar f is plain df/dx).
 */
export function finiteDifference(
  f: Fn,
  inputs: readonly Tensor[],
  i: number,
  options: { eps?: number; cotangent?: Tensor } = {},
): Float64Array {
  const eps = options.eps ?? DEFAULTS.eps;
  const weigh = (values: Float64Array) =>
    options.cotangent ? dot(values, options.cotangent.data) : sum(values);
  const out = new Float64Array(inputs[i].size);
  for (let e = 0; e < out.length; e++) {
    const up = weigh(
      evaluate(
        f,
        perturbed(inputs, i, (d) => (d[e] += eps)),
      ),
    );
    const down = weigh(
      evaluate(
        f,
        perturbed(inputs, i, (d) => (d[e] -= eps)),
      ),
    );
    out[e] = (up - down) / (2 * eps);
  }
  return out;
}

/** (f(x + eps·t) - f(x - eps·t)) / 2eps: the derivative of f along the tangents. */
export function directionalDifference(
  f: Fn,
  inputs: readonly Tensor[],
  tangents: readonly Tensor[],
  eps = DEFAULTS.eps,
): Float64Array {
  const step = (sign: number) =>
    inputs.map((x, i) => {
      const shifted = x.data.slice();
      for (let e = 0; e < shifted.length; e++) shifted[e] += sign * eps * tangents[i].data[e];
      return tensor(shifted, { shape: x.shape });
    });
  const up = evaluate(f, step(1));
  const down = evaluate(f, step(-1));
  return up.map((u, e) => (u - down[e]) / (2 * eps));
}

/** Asserts |actual - expected| <= atol + rtol·max(|actual|, |expected|) elementwise. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: Tolerance = {},
  label = 'values',
): void {
  const rtol = tolerance.rtol ?? DEFAULTS.rtol;
  const atol = tolerance.atol ?? DEFAULTS.atol;
  assert.equal(
    actual.length,
    expected.length,
    `${label}: ${actual.length} values, expected ${expected.length}`,
  );
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const allowed = atol + rtol * Math.max(Math.abs(a), Math.abs(e));
    if (!(Math.abs(a - e) <= allowed)) {
      assert.fail(
        `${label}: element ${i} is ${a}, expected ${e} (error ${Math.abs(a - e)} > ${allowed});\n` +
          `  actual   [${Array.from(actual).join(', ')}]\n  expected [${Array.from(expected).join(', ')}]`,
      );
    }
  }
}

const isFloat = (t: Tensor) => t.dtype !== 'int32';

/** A standard normal tensor shaped and typed like t. */
export function randomLike(t: Tensor, rng: Rng): Tensor {
  return randn(t.shape, { dtype: t.dtype, rng });
}

/**
 * Checks f's derivatives at `inputs` three ways, for every input in `wrt`:
 * reverse mode (vjp with a random cotangent c) against finite differences of <c, f>;
 * forward mode (jvp along random tangents t) against the finite-difference directional
 * derivative; and the two modes against each other, <J t, c> = Σ <t_i, (Jᵀ c)_i>.
 */
export function checkGradients(
  f: Fn,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): GradcheckResult {
  const eps = options.eps ?? DEFAULTS.eps;
  const tolerance = { rtol: options.rtol ?? DEFAULTS.rtol, atol: options.atol ?? DEFAULTS.atol };
  const rng = options.rng ?? new Rng(7);
  const wrt = options.wrt ?? inputs.flatMap((t, i) => (isFloat(t) ? [i] : []));
  const out = noGrad(() => f(...inputs));
  const cotangent = randomLike(out, rng);

  const { grads } = vjp(f, inputs, cotangent);
  for (const i of wrt) {
    assertClose(
      grads[i].data,
      finiteDifference(f, inputs, i, { eps, cotangent }),
      tolerance,
      `reverse mode, input ${i} ${shapeText(inputs[i])}`,
    );
  }

  const tangents = inputs.map((x, i) =>
    wrt.includes(i) ? randomLike(x, rng) : zeros(x.shape, { dtype: x.dtype }),
  );
  const { tangent: tangentOut } = jvp(f, inputs, tangents);
  assertClose(
    tangentOut.data,
    directionalDifference(f, inputs, tangents, eps),
    tolerance,
    `forward mode along random tangents of inputs [${wrt.join(', ')}]`,
  );

  const forwardSide = dot(tangentOut.data, cotangent.data);
  const reverseSide = sum(wrt.map((i) => dot(tangents[i].data, grads[i].data)));
  assertClose([forwardSide], [reverseSide], tolerance, '<J t, c> against <t, Jᵀ c>');
  return { out, cotangent, tangents, grads, tangentOut };
}

/**
 * The Hessian of scalar f at x by central second differences, row-major [x.size, x.size]:
 * (f(x+hei+hej) - f(x+hei-hej) - f(x-hei+hej) + f(x-hei-hej)) / 4h². With h = 1e-4 in
 * float64 the error is about 1e-8 (h² from truncation, 1e-16/h² from rounding).
 */
export function secondDifference(f: Fn, x: Tensor, h = 1e-4): Float64Array {
  const n = x.size;
  const at = (i: number, si: number, j: number, sj: number) => {
    const shifted = x.data.slice();
    shifted[i] += si * h;
    shifted[j] += sj * h;
    return evaluate(f, [tensor(shifted, { shape: x.shape })])[0];
  };
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      out[i * n + j] = (at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)) / (4 * h * h);
    }
  }
  return out;
}

/**
 * Forward over reverse: the JVP, along the tangents, of the reverse-mode gradient
 * x ↦ (cotangentᵀ J_f)(x) (the inputs in `wrt`, flattened and joined), against the directional
 * difference of that gradient. This checks that the VJP rules' own ops carry tangents.
 */
export function checkForwardOverReverse(
  f: Fn,
  inputs: readonly Tensor[],
  { cotangent, tangents, wrt }: Pick<GradcheckResult, 'cotangent' | 'tangents'> & { wrt: readonly number[] },
  options: GradcheckOptions = {},
): void {
  const pulledBack = (...xs: Tensor[]) => {
    const { grads } = vjp(f, xs, cotangent);
    return concat(wrt.map((i) => grads[i].flatten()));
  };
  const { tangent } = jvp(pulledBack, inputs, tangents);
  assertClose(
    tangent.data,
    directionalDifference(pulledBack, inputs, tangents, options.eps ?? DEFAULTS.eps),
    { rtol: options.rtol ?? DEFAULTS.rtol, atol: options.atol ?? DEFAULTS.atol },
    `forward over reverse along random tangents of inputs [${wrt.join(', ')}]`,
  );
}

function shapeText(t: Tensor): string {
  return `[${t.shape.join(', ')}] ${t.dtype}`;
}
