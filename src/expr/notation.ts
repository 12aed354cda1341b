// How the chain rule is written, shared by `chainrule explain` and the playground's graph
// view so the two always read alike. Three symbols, one meaning each:
//   ∂c/∂a  a local derivative: one operation's derivative with respect to one operand;
//   ā      an adjoint (reverse mode): dh/da for the output h, summed over a's uses so far;
//   ȧ      a tangent (forward mode): da/dx for the seeded input x;
// and dh/da, a total derivative, only for the results.

import { formatNumber } from '../tensor/tensor.js';

/** The founding question's graph, and the values it is explained at unless told otherwise. */
export const SEED_EXPRESSION = 'c = a*b; e = c + d; h = e / f';
export const SEED_VALUES: Readonly<Record<string, number>> = Object.freeze({ a: 2, b: 3, d: 1, f: 4 });

/** A number as a factor of a product or a later term of a sum: negatives in parentheses. */
export const factorText = (v: number) => (v < 0 ? `(${formatNumber(v)})` : formatNumber(v));
/** d(of)/d(wrt), a total derivative, as text. */
export const ratioText = (of: string, wrt: string) => `d${of}/d${wrt}`;
/** ∂(of)/∂(wrt), a local derivative, as text. */
export const partialText = (of: string, wrt: string) => `∂${of}/∂${wrt}`;

const accented = (name: string, mark: string) => `${name[0]}${mark}${name.slice(1)}`.normalize('NFC');
/** A tangent's name in forward mode: x with a dot above (ẋ). */
export const dotted = (name: string) => accented(name, '\u0307');
/** An adjoint's name in reverse mode: x with a bar above (x̄). */
export const barred = (name: string) => accented(name, '\u0304');

/** "the input derivative", "both input derivatives", "all 4 input derivatives". */
export const inputDerivativesText = (n: number) =>
  n === 1 ? 'the input derivative' : n === 2 ? 'both input derivatives' : `all ${n} input derivatives`;

/** `∂c/∂a = b = 3`, leaving out the number when the formula already is that number. */
export function localDerivativeText(l: { of: string; wrt: string; symbolic: string; value: number }): string {
  const value = formatNumber(l.value);
  return `${partialText(l.of, l.wrt)} = ${l.symbolic}${l.symbolic === value ? '' : ` = ${value}`}`;
}

/** One reverse-mode product in symbols: `ā = c̄ · ∂c/∂a`, or `+=` for a further contribution. */
export function adjointProductText(
  step: { node: string; input: string; accumulates: boolean },
  times: string,
): string {
  const sign = step.accumulates ? '+=' : '=';
  return `${barred(step.input)} ${sign} ${barred(step.node)} ${times} ${partialText(step.node, step.input)}`;
}

/** One forward-mode sum in symbols: `∂c/∂a·ȧ + ∂c/∂b·ḃ`. */
export const tangentSumText = (node: string, inputs: readonly string[]) =>
  inputs.map((input) => `${partialText(node, input)}·${dotted(input)}`).join(' + ');
