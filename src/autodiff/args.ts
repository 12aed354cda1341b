// What every function transform checks about the function it is given and the arguments it is
// called with, so a mistake gets an error that names it instead of NaNs or zeros: the arity,
// numbers (accepted, as JAX accepts Python floats), anything else, argnums, integer tensors
// asked for a derivative, and what f returned.

import { ChainruleError } from '../errors.js';
import { Tensor, tensor } from '../tensor/tensor.js';

/** What a transformed function accepts for each argument: a tensor, or a number (a float32 scalar). */
export type Arg = Tensor | number;
/** Which arguments to differentiate: one index, or several. */
export type Argnums = number | readonly number[];

export interface AuxOption {
  /** f returns [output, aux]: differentiate the output, hand aux back untouched (JAX's has_aux). */
  hasAux?: boolean;
}

export interface ArgnumsOption extends AuxOption {
  argnums?: Argnums;
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  const kind = Array.isArray(value)
    ? 'array'
    : typeof value === 'object'
      ? (value.constructor?.name ?? 'object')
      : typeof value;
  return `${/^[aeiou]/i.test(kind) ? 'an' : 'a'} ${kind}`;
}

/** One argument as a tensor: numbers become float32 scalars, as tensor(n) makes them. */
export function toTensor(transform: string, value: unknown, what: string): Tensor {
  if (value instanceof Tensor) return value;
  if (typeof value === 'number') return tensor(value);
  throw new ChainruleError(
    `${transform}: ${what} is ${describe(value)}, not a Tensor or a number; wrap values with tensor(...)`,
  );
}

/**
 * The arguments as tensors, after checking there are as many as f declares (a function of two
 * tensors called with one would otherwise see `undefined` and compute NaNs).
 */
export function toArgs(
  transform: string,
  f: (...args: never[]) => unknown,
  args: readonly unknown[],
): Tensor[] {
  if (typeof f !== 'function') {
    throw new ChainruleError(`${transform}: expected a function to transform, got ${describe(f)}`);
  }
  if (args.length < f.length) {
    throw new ChainruleError(
      `${transform}: f takes ${f.length} arguments but was called with ${args.length}; ` +
        'pass every argument (and argnums to choose which ones to differentiate)',
    );
  }
  return args.map((a, i) => toTensor(transform, a, `argument ${i}`));
}

/** Checks argnums against the argument count; `undefined` selects `all`. */
export function resolveArgnums(
  transform: string,
  argnums: Argnums | undefined,
  all: readonly number[],
  count: number,
): number[] {
  const list = argnums === undefined ? [...all] : typeof argnums === 'number' ? [argnums] : [...argnums];
  if (list.length === 0)
    throw new ChainruleError(`${transform}: argnums is empty; name at least one argument`);
  for (const i of list) {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new ChainruleError(
        `${transform}: argnums ${JSON.stringify(argnums)} names argument ${i}, but f was called with ${count} ` +
          `argument${count === 1 ? '' : 's'} (indices 0 to ${count - 1})`,
      );
    }
  }
  if (new Set(list).size !== list.length) {
    throw new ChainruleError(`${transform}: argnums ${JSON.stringify(argnums)} names an argument twice`);
  }
  return list;
}

/** Refuses derivatives with respect to int32 tensors, which hold labels, not points of a function. */
export function checkDifferentiable(
  transform: string,
  args: readonly Tensor[],
  wrt: readonly number[],
): void {
  for (const i of wrt) {
    if (args[i].dtype === 'int32') {
      throw new ChainruleError(
        `${transform}: argument ${i} is an int32 tensor, which has no derivative; ` +
          "cast it with .to('float32'), or leave it out of argnums",
      );
    }
  }
}

/** f's result split into the output to differentiate and its aux (undefined without hasAux). */
export function splitOutput(
  transform: string,
  result: unknown,
  hasAux: boolean | undefined,
): { out: Tensor; aux: unknown } {
  if (hasAux) {
    if (!Array.isArray(result) || result.length !== 2 || !(result[0] instanceof Tensor)) {
      throw new ChainruleError(
        `${transform}: with { hasAux: true }, f must return [output, aux] with a Tensor output; it returned ${describe(result)}`,
      );
    }
    return { out: result[0], aux: result[1] };
  }
  if (result instanceof Tensor) return { out: result, aux: undefined };
  throw new ChainruleError(
    `${transform}: f must return a Tensor, but it returned ${describe(result)}${arrayHint(result)}`,
  );
}

function arrayHint(result: unknown): string {
  if (!Array.isArray(result)) return '';
  if (result.length > 0 && result.every((r) => r instanceof Tensor)) {
    return (
      ` of ${result.length} Tensor${result.length === 1 ? '' : 's'}; transforms differentiate one output, so return one ` +
      "(grad(g) lists every argument's gradient: grad(g, { argnums: 0 }) gives the first alone)"
    );
  }
  return '; if its second entry is auxiliary data, pass { hasAux: true }';
}

/** primals (or tangents) as a list: a lone tensor is a common slip, so say what is expected. */
export function toList(transform: string, values: unknown, what: string): Tensor[] {
  if (!Array.isArray(values)) {
    throw new ChainruleError(
      `${transform}: ${what} must be an array with one entry per argument of f (e.g. [x]), got ${describe(values)}`,
    );
  }
  return values.map((v, i) => toTensor(transform, v, `${what.replace(/s$/, '')} ${i}`));
}
