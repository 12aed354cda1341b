// One vocabulary for checking settings, whoever gives them: a CLI flag, a configuration
// field, an optimiser or schedule argument, a checkpoint's metadata, a field of the web form.
// Each quantity has one range; each failure names the flag or field, the value, and the range.
// It sits below everything else (it knows only the error class), so any layer may use it.

import { ChainruleError } from './errors.js';

export interface Range {
  integer: boolean;
  min: number;
  max: number;
  /** The bounds themselves are excluded (a rate of exactly 0 learns nothing). */
  minOpen?: boolean;
  maxOpen?: boolean;
}

const number = (min: number, max = Infinity, open: { minOpen?: boolean; maxOpen?: boolean } = {}): Range => ({
  integer: false,
  min,
  max,
  ...open,
});
const integer = (min: number, max: number): Range => ({ integer: true, min, max });

/** The largest layer width accepted: a few times the widest network in the literature we follow (2000). */
export const MAX_WIDTH = 16_384;

/**
 * Every quantity a user or a file can set, with its range. Upper bounds keep a mistyped value
 * (`--hidden 1e9`) from allocating gigabytes before anything else fails.
 */
export const RANGES = {
  /** A learning rate the user sets (a base or peak rate): a zero rate would learn nothing. */
  lr: number(0, Infinity, { minOpen: true }),
  /** A rate a schedule has already moved (cosine and linear schedules end at exactly 0). */
  scheduledLr: number(0),
  momentum: number(0, 1, { maxOpen: true }),
  beta: number(0, 1, { maxOpen: true }),
  eps: number(0),
  weightDecay: number(0),
  epochs: integer(1, 100_000),
  batchSize: integer(1, 65_536),
  /** Pixels a training image may be shifted by (the loader also checks it against the image size). */
  maxShift: integer(0, 1024),
  evalEvery: integer(1, 100_000),
  /** Training examples to use (at most a large dataset's worth). */
  limit: integer(1, 100_000_000),
  /** Rng seeds are 32-bit. */
  seed: integer(0, 2 ** 32 - 1),
  /** A word of a generator's state, as Int32 or Uint32. */
  rngWord: integer(-(2 ** 31), 2 ** 32 - 1),
  threads: integer(1, 1024),
  /** A wall-time budget in seconds: up to 30 days, far beyond any run this library makes. */
  duration: number(0, 30 * 24 * 3600, { minOpen: true }),
  width: integer(1, MAX_WIDTH),
  layers: integer(1, 64),
  features: integer(1, 1 << 24),
  classes: integer(2, 10_000),
  /** 1-based index of a layer. */
  layerIndex: integer(1, 64),
  directions: integer(1, 4096),
  evaluationsPerEpoch: integer(0, 10_000),
  /** Steps, epochs or examples counted so far. */
  count: integer(0, Number.MAX_SAFE_INTEGER),
  positiveCount: integer(1, Number.MAX_SAFE_INTEGER),
  positive: number(0, Infinity, { minOpen: true }),
  nonNegative: number(0),
  fraction: number(0, 1),
  /** A factor that may shrink a value to nothing but never grow it: (0, 1]. */
  shrink: { integer: false, min: 0, max: 1, minOpen: true },
} satisfies Record<string, Range>;

export type Quantity = keyof typeof RANGES;

/** "a number > 0", "an integer from 1 to 64", "a number in [0, 1)". */
export function describeRange(range: Range): string {
  const kind = range.integer ? 'an integer' : 'a number';
  const { min, max, minOpen, maxOpen } = range;
  if (max >= Number.MAX_SAFE_INTEGER) return `${kind} ${minOpen ? '>' : '>='} ${min}`;
  if (range.integer) return `${kind} from ${min} to ${max}`;
  return `${kind} in ${minOpen ? '(' : '['}${min}, ${max}${maxOpen ? ')' : ']'}`;
}

export function inRange(range: Range, value: unknown): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (range.integer && !Number.isInteger(value)) return false;
  const aboveMin = range.minOpen ? value > range.min : value >= range.min;
  const belowMax = range.maxOpen ? value < range.max : value <= range.max;
  return aboveMin && belowMax;
}

/** A value for an error message: JSON, cut short so a huge one is not echoed whole. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** `value` if it is in the quantity's range; otherwise a ChainruleError naming `name`. */
export function check(quantity: Quantity, value: unknown, name: string): number {
  const range = RANGES[quantity];
  if (!inRange(range, value))
    throw new ChainruleError(`${name} must be ${describeRange(range)}, got ${show(value)}`);
  return value;
}

/** Plain decimal notation only: no hex (0x2), no Infinity, no empty string. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The number written in `text` (a flag's value), checked against the quantity's range. */
export function parse(quantity: Quantity, text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const range = RANGES[quantity];
  const value = DECIMAL.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!inRange(range, value))
    throw new ChainruleError(`${name} must be ${describeRange(range)}, got ${show(text)}`);
  return value;
}

/** Comma-separated layer widths ("1000, 1000") as numbers, each checked. */
export function parseWidths(text: string | undefined, name: string): number[] | undefined {
  if (text === undefined) return undefined;
  return checkWidths(
    text.split(',').map((w, i) => parse('width', w, `${name} (width ${i + 1})`)),
    name,
  );
}

/** Throws unless `value` is a list of 1 to 64 layer widths, each in range. */
export function checkWidths(value: unknown, name: string): number[] {
  if (!Array.isArray(value) || !inRange(RANGES.layers, value.length)) {
    throw new ChainruleError(
      `${name} must be a list of 1 to ${RANGES.layers.max} layer widths, e.g. [1000, 1000]; got ${show(value)}`,
    );
  }
  for (const [i, w] of value.entries()) check('width', w, `${name}[${i}]`);
  return [...value];
}

/** `value` if it is one of `choices` (own names only: 'toString' and '__proto__' are not choices). */
export function checkChoice<T extends string>(value: unknown, choices: readonly T[], name: string): T {
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw new ChainruleError(`${name} must be one of ${choices.join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean')
    throw new ChainruleError(`${name} must be true or false, got ${show(value)}`);
  return value;
}

/** Throws unless `value` is a plain object (a JSON record), naming what it should hold. */
export function checkRecord(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ChainruleError(`${name} must be an object, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Rejects settings `known` does not have (a misspelt key would otherwise be ignored). */
export function checkKnownKeys(given: object, known: object, name: string): void {
  const unknown = Object.keys(given).filter((k) => !Object.hasOwn(known, k));
  if (unknown.length) {
    throw new ChainruleError(
      `${name}: unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; the settings are ${Object.keys(known).join(', ')}`,
    );
  }
}
