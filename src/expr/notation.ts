// How the chain rule is written, shared by `chainrule explain` and the playground's graph
// view so the two always read alike: numbers, derivative ratios, tangents, the seed graph.

import { formatNumber } from '../tensor/tensor.js';

/** The founding question's graph, and the values it is explained at unless told otherwise. */
export const SEED_EXPRESSION = 'c = a*b; e = c + d; h = e / f';
export const SEED_VALUES: Readonly<Record<string, number>> = Object.freeze({ a: 2, b: 3, d: 1, f: 4 });

/** A number as a factor of a product or a later term of a sum: negatives in parentheses. */
export const factorText = (v: number) => (v < 0 ? `(${formatNumber(v)})` : formatNumber(v));
/** d(of)/d(wrt) as text. */
export const ratioText = (of: string, wrt: string) => `d${of}/d${wrt}`;
/** A tangent's name in forward mode: x with a dot above (ẋ). */
export const dotted = (name: string) => `${name[0]}\u0307${name.slice(1)}`.normalize('NFC');

/** `dc/da = b = 3`, leaving out the number when the formula already is that number. */
export function localDerivativeText(l: { of: string; wrt: string; symbolic: string; value: number }): string {
  const value = formatNumber(l.value);
  return `${ratioText(l.of, l.wrt)} = ${l.symbolic}${l.symbolic === value ? '' : ` = ${value}`}`;
}
