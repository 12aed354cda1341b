// Checks of a trainer configuration read from a user or a checkpoint: each failure names the
// setting, what it must be, and what it was.

import { ChainruleError } from '../errors.js';

/** Throws a ChainruleError naming the setting unless `value` is an integer >= min. */
export function checkInteger(owner: string, name: string, value: unknown, min = 1): void {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= min)) {
    throw new ChainruleError(`${owner}: ${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
}

/** Throws unless `value` is a finite number >= min (and < max when given). */
export function checkNumber(owner: string, name: string, value: unknown, min: number, max?: number): void {
  const ok =
    typeof value === 'number' && Number.isFinite(value) && value >= min && (max === undefined || value < max);
  if (!ok) {
    const range = max === undefined ? `>= ${min}` : `in [${min}, ${max})`;
    throw new ChainruleError(`${owner}: ${name} must be a number ${range}, got ${JSON.stringify(value)}`);
  }
}

/** Throws unless `value` is one of `choices`. */
export function checkChoice<T extends string>(
  owner: string,
  name: string,
  value: unknown,
  choices: readonly T[],
): asserts value is T {
  if (!choices.includes(value as T)) {
    throw new ChainruleError(
      `${owner}: ${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
}

/** Throws unless `value` is a non-empty list of positive integers (layer widths). */
export function checkWidths(owner: string, name: string, value: unknown): void {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ChainruleError(
      `${owner}: ${name} must be a non-empty list of layer widths, e.g. [1000, 1000]; got ${JSON.stringify(value)}`,
    );
  }
  for (const [i, w] of value.entries()) checkInteger(owner, `${name}[${i}]`, w);
}

/** Rejects settings the configuration does not have (a misspelt key would otherwise be ignored). */
export function checkKnownKeys(owner: string, given: object, known: object): void {
  const unknown = Object.keys(given).filter((k) => !Object.hasOwn(known, k));
  if (unknown.length) {
    throw new ChainruleError(
      `${owner}: unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the settings are ${Object.keys(known).join(', ')}`,
    );
  }
}
