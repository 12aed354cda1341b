// Property-based fuzzing (fast-check) of everything that reads user input: the expression
// language, the safetensors and IDX decoders, and the CLI's flags. Whatever the input, the
// result is a value or one of chainrule's own errors (never a TypeError, RangeError or stack
// overflow), and every case finishes within a bound. A failure prints the seed and the
// smallest input that breaks the property; replay it with fc.assert's { seed, path }.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { withHeader } from '../scripts/make-corrupt-fixtures.js';
import { run as explainCommand } from '../src/cli/explain.js';
import { parseDuration } from '../src/cli/shared.js';
import { buildProgram } from '../src/expr/build.js';
import { ExpressionError } from '../src/expr/error.js';
import { explain } from '../src/expr/explain.js';
import { parseProgram } from '../src/expr/parse.js';
import { ChainruleError, decodeSafetensors, encodeSafetensors, parseIdx, tensor } from '../src/index.js';
import { checkChoice, inRange, parse, parseWidths, RANGES } from '../src/validate.js';
import { cpuMsSince } from './helpers/cpu-time.js';

/** The longest any one case may take, in milliseconds: far above the slowest legitimate input. */
const BOUND_MS = 2000;

/** Runs `fn`; true if it returned or threw one of `allowed`, else rethrows what it threw. */
function ownErrorsOnly(
  fn: () => unknown,
  allowed: (err: unknown) => boolean = (e) => e instanceof ChainruleError,
) {
  const start = process.cpuUsage();
  try {
    fn();
  } catch (err) {
    if (!allowed(err)) throw err;
  }
  const ms = cpuMsSince(start);
  assert.ok(ms < BOUND_MS, `took ${ms.toFixed(0)} ms of CPU`);
  return true;
}

// ---- expressions ----------------------------------------------------------------------------

const TOKENS = [
  'x',
  'y',
  'z',
  'k',
  '2',
  '0',
  '0.5',
  '.5',
  '1e3',
  '1e308',
  '1e999',
  '9'.repeat(400),
  '(',
  ')',
  '(',
  ')',
  '+',
  '-',
  '*',
  '/',
  '^',
  '=',
  ';',
  '\n',
  ',',
  '#',
  ' ',
  '.',
  '_',
  'tanh',
  'log',
  'sqrt',
  'exp',
  'relu',
  'sigmoid',
  'softplus',
  'abs',
  'foo(',
  'y =',
  'x =',
  '@',
  '\u00e9',
  '\uFEFF',
  '\t',
];
/** Text built from the language's own tokens, so most cases get past the tokenizer. */
const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((t) => t.join(''));
/** A nested expression: `depth` openings of one kind around x. */
const nested = fc
  .tuple(fc.constantFrom('(', 'tanh(', '-', 'x^'), fc.integer({ min: 1, max: 6000 }))
  .map(([open, depth]) => `${open.repeat(depth)}x${open.endsWith('(') ? ')'.repeat(depth) : ''}`);
const source = fc.oneof(
  tokenSoup,
  nested,
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
);
const value = fc.oneof(
  fc.double(),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(0, -0, 1e308, Number.NaN, Number.POSITIVE_INFINITY),
);

test('fuzz: the expression language throws ExpressionError or explains, for any source and values', () => {
  fc.assert(
    fc.property(
      source,
      fc.array(value, { minLength: 3, maxLength: 3 }),
      fc.constantFrom('both', 'reverse', 'forward'),
      (text, values, mode) =>
        ownErrorsOnly(
          () => {
            const program = parseProgram(text);
            const bindings = Object.fromEntries(program.inputs.map((name, i) => [name, values[i % 3]]));
            explain(buildProgram(program, bindings), mode as 'both');
          },
          (err) => err instanceof ExpressionError,
        ),
    ),
    { numRuns: 600 },
  );
});

// ---- safetensors ----------------------------------------------------------------------------

const valid = encodeSafetensors(
  {
    w: tensor([
      [1, 2],
      [3, 4],
    ]),
    b: tensor([0.5], { dtype: 'float64' }),
    n: tensor([7], { dtype: 'int32' }),
  },
  { note: 'fuzz' },
);

/** A valid file with a few bytes overwritten, then maybe cut short or extended. */
const mutated = fc
  .tuple(
    fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    fc.option(fc.nat(valid.length + 16)),
  )
  .map(([edits, length]) => {
    const bytes = new Uint8Array(length ?? valid.length);
    bytes.set(valid.subarray(0, bytes.length));
    for (const [at, byte] of edits) if (at < bytes.length) bytes[at] = byte;
    return bytes;
  });

/** Any JSON as the header, with a data section of any length. */
const anyHeader = fc
  .tuple(fc.json({ maxDepth: 4 }), fc.uint8Array({ maxLength: 64 }))
  .map(([text, data]) => withHeader(text, data));

/** A header of plausible tensor entries (the decoder's own vocabulary) with any numbers in it. */
const entryHeader = fc
  .tuple(
    fc.dictionary(
      fc.constantFrom('w', 'b', '__metadata__', 'x.y', ''),
      fc.record({
        dtype: fc.constantFrom('F32', 'F64', 'I32', 'I64', 'F16', 'BF16', 'U8', 'BOOL', 'I8', 'X'),
        shape: fc.array(fc.oneof(fc.nat(4), fc.integer(), fc.double()), { maxLength: 3 }),
        data_offsets: fc.array(fc.oneof(fc.nat(40), fc.integer()), { maxLength: 3 }),
      }),
    ),
    fc.uint8Array({ maxLength: 48 }),
  )
  .map(([header, data]) => withHeader(JSON.stringify(header), data));

test('fuzz: decodeSafetensors refuses any corruption with a ChainruleError, never a JS error', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), mutated, anyHeader, entryHeader), (bytes) =>
      ownErrorsOnly(() => {
        const { tensors } = decodeSafetensors(bytes, 'fuzz.safetensors');
        for (const t of Object.values(tensors))
          assert.equal(
            t.data.length,
            t.shape.reduce((a, b) => a * b, 1),
          );
      }),
    ),
    { numRuns: 1500 },
  );
});

// ---- IDX ------------------------------------------------------------------------------------

/** An IDX header of any type code and dimensions, then a payload of any length. */
const idxLike = fc
  .tuple(
    fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0x07, 0xff),
    fc.array(fc.oneof(fc.nat(6), fc.constant(0xffffffff), fc.nat()), { maxLength: 4 }),
    fc.uint8Array({ maxLength: 200 }),
    fc.boolean(),
  )
  .map(([code, dims, payload, magic]) => {
    const out = new Uint8Array(4 + 4 * dims.length + payload.length);
    if (!magic) out[0] = 1;
    out[2] = code;
    out[3] = dims.length;
    for (const [i, d] of dims.entries()) new DataView(out.buffer).setUint32(4 + 4 * i, d % 2 ** 32, false);
    out.set(payload, 4 + 4 * dims.length);
    return out;
  });

test('fuzz: parseIdx refuses malformed files with a ChainruleError; what it accepts is consistent', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), idxLike), (bytes) =>
      ownErrorsOnly(() => {
        const { shape, data } = parseIdx(bytes, 'fuzz-idx');
        assert.equal(
          data.length,
          shape.reduce((a, b) => a * b, 1),
        );
      }),
    ),
    { numRuns: 1500 },
  );
});

// ---- CLI flags ------------------------------------------------------------------------------

/** node:util parseArgs' own refusals, which the CLI prints as usage errors. */
const isUsageError = (err: unknown) =>
  String((err as { code?: unknown })?.code ?? '').startsWith('ERR_PARSE_ARGS');

const FLAGS = [
  '--expr',
  '--at',
  '--wrt',
  '--mode',
  '--json',
  '-h',
  '--help',
  '--bogus',
  '-x',
  '--',
  '--at=x=1',
  '--expr=x*x',
];
const argv = fc.array(fc.oneof(fc.constantFrom(...FLAGS), tokenSoup, fc.string({ maxLength: 30 })), {
  maxLength: 8,
});

test('fuzz: explain accepts or refuses any argv with its own or a usage error, and bounded output', async () => {
  await fc.assert(
    fc.asyncProperty(argv, async (args) => {
      let written = 0;
      const sink = { write: (text: string) => (written += text.length) };
      const start = process.cpuUsage();
      try {
        const code = await explainCommand(args, { stdout: sink, stderr: sink });
        assert.ok(code === 0 || code === 2);
      } catch (err) {
        if (!(err instanceof ChainruleError) && !isUsageError(err)) throw err;
      }
      assert.ok(cpuMsSince(start) < BOUND_MS);
      assert.ok(written < 4e6, `wrote ${written} characters`);
    }),
    { numRuns: 400 },
  );
});

const flagValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1e20',
    '0x2',
    '1.5',
    'NaN',
    'Infinity',
    '9'.repeat(400),
    '90s',
    '5m',
    '1.5h',
    '0s',
    '1,2',
    ',',
    '1,,2',
  ),
);

test("fuzz: the flag vocabulary returns a value in the flag's range or refuses naming the flag", () => {
  const named = (err: unknown) => err instanceof ChainruleError && /^--\w/.test(err.message);
  fc.assert(
    fc.property(
      flagValue,
      fc.constantFrom(...(Object.keys(RANGES) as (keyof typeof RANGES)[])),
      (text, quantity) => {
        ownErrorsOnly(() => {
          const n = parse(quantity, text, `--${quantity}`)!;
          assert.ok(inRange(RANGES[quantity], n), `--${quantity} ${text} -> ${n}`);
        }, named);
        ownErrorsOnly(() => {
          const widths = parseWidths(text, '--hidden')!;
          assert.ok(
            widths.every((w) => inRange(RANGES.width, w)),
            `--hidden ${text} -> ${widths}`,
          );
        }, named);
        ownErrorsOnly(() => assert.ok(['a', 'b'].includes(checkChoice(text, ['a', 'b'], '--mode'))), named);
        ownErrorsOnly(() => assert.ok(inRange(RANGES.duration, parseDuration('--time', text))), named);
      },
    ),
    { numRuns: 1000 },
  );
});
