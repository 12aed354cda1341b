import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProgram } from '../src/expr/build.js';
import { ExpressionError } from '../src/expr/error.js';
import { explain, type ReverseStep } from '../src/expr/explain.js';
import { type Expr, type Program, parseProgram } from '../src/expr/parse.js';
import { ChainruleError } from '../src/index.js';

/** The tree fully parenthesized, so grouping is visible. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.text;
    case 'variable':
      return e.name;
    case 'negate':
      return `(-${show(e.operand)})`;
    case 'binary':
      return `(${show(e.left)} ${e.operator} ${show(e.right)})`;
    case 'call':
      return `${e.fn}(${show(e.argument)})`;
  }
}

const parsed = (source: string) => parseProgram(source).statements.map((s) => `${s.name} = ${show(s.expr)}`);
const tree = (expression: string) => show(parseProgram(`y = ${expression}`).statements[0].expr);

/** An ExpressionError whose one-line message matches `pattern`. */
function failsWith(fn: () => unknown, pattern: RegExp): ExpressionError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ExpressionError, `expected an ExpressionError, got ${caught}`);
  assert.ok(caught instanceof ChainruleError);
  assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes('\n'), `one line: ${caught.message}`);
  return caught;
}

test('binary operators follow precedence and associativity', () => {
  assert.equal(tree('a + b * c'), '(a + (b * c))');
  assert.equal(tree('a * b + c / d'), '((a * b) + (c / d))');
  assert.equal(tree('a - b - c'), '((a - b) - c)');
  assert.equal(tree('a / b / c'), '((a / b) / c)');
  assert.equal(tree('a ^ b ^ c'), '(a ^ (b ^ c))');
  assert.equal(tree('a * b ^ c'), '(a * (b ^ c))');
  assert.equal(tree('(a + b) * c'), '((a + b) * c)');
});

test('unary minus binds looser than ^ and tighter than * /', () => {
  assert.equal(tree('-a^2'), '(-(a ^ 2))');
  assert.equal(tree('-a * b'), '((-a) * b)');
  assert.equal(tree('a - -b'), '(a - (-b))');
  assert.equal(tree('2^-x'), '(2 ^ (-x))');
  assert.equal(tree('-2^2'), '(-(2 ^ 2))');
  // A minus on a plain number is part of the literal, not an operation.
  assert.equal(tree('x * -3'), '(x * -3)');
});

test('numbers, function calls and comments', () => {
  assert.equal(tree('1.5e-3 + .5 + 2. + 10'), '(((1.5e-3 + .5) + 2.) + 10)');
  assert.equal(
    tree('relu(x) + tanh(x) + sigmoid(x) + softplus(x) + exp(-x) + log(x) + sqrt(x) + abs(x) # the lot'),
    '(((((((relu(x) + tanh(x)) + sigmoid(x)) + softplus(x)) + exp((-x))) + log(x)) + sqrt(x)) + abs(x))',
  );
  assert.equal(tree('exp(log(x) * 2)'), 'exp((log(x) * 2))');
});

test('statements split on ; and new lines; a line break inside parentheses continues the expression', () => {
  const source = '# a comment line\nc = a*b; e = c + d\n\nh = (e +\n  1) / f;\n';
  assert.deepEqual(parsed(source), ['c = (a * b)', 'e = (c + d)', 'h = ((e + 1) / f)']);
  const program = parseProgram(source);
  assert.deepEqual(program.inputs, ['a', 'b', 'd', 'f']);
  assert.equal(program.output, 'h');
  assert.deepEqual(
    program.statements.map((s) => [s.at.line, s.at.column]),
    [
      [2, 1],
      [2, 10],
      [4, 1],
    ],
  );
});

test('a bare final expression is the output, under a name the program does not use', () => {
  assert.equal(parseProgram('x*x + x').output, 'y');
  assert.deepEqual(parsed('y = x + 1; y*2'), ['y = (x + 1)', 'y1 = (y * 2)']);
});

test('syntax errors name line:column, what was expected, and show a caret', () => {
  const err = failsWith(
    () => parseProgram('c = a*)b'),
    /^1:7: expected a number, a name, '-' or '\(' after '\*', found '\)'/,
  );
  assert.equal(err.excerpt, 'c = a*)b\n      ^');
  failsWith(() => parseProgram('y = (x + 1'), /^1:11: expected '\)' to close the '\(' at 1:5, found the end/);
  // Inside parentheses a new line continues the expression, so the next statement is the surprise.
  failsWith(
    () => parseProgram('y = (x + 1\nz = 2'),
    /^2:1: expected '\)' to close the '\(' at 1:5, found 'z'/,
  );
  failsWith(() => parseProgram('y = x +'), /^1:8: .*after '\+', found the end of the expression/);
  failsWith(() => parseProgram('y = x\nz = y*;'), /^2:7: .*after '\*', found ';'/);
  failsWith(() => parseProgram('y = 2x'), /^1:6: expected an operator.*found 'x' \(write 2\*x to multiply\)/);
  failsWith(() => parseProgram('y = x)'), /^1:6: .*found '\)' \(it closes no open parenthesis\)/);
  failsWith(() => parseProgram('y = x $ 2'), /^1:7: unexpected character '\$'/);
  failsWith(() => parseProgram('a + b = 3'), /^1:7: only a name can be assigned to/);
  failsWith(() => parseProgram('y = x = 2'), /^1:7: one '=' per statement/);
  failsWith(() => parseProgram('y = 1e999 * x'), /^1:5: 1e999 is too large/);
  failsWith(() => parseProgram(' # nothing\n;'), /the expression is empty/);
});

test('function errors list the functions or say how to call one', () => {
  failsWith(
    () => parseProgram('y = sin(x)'),
    /^1:5: unknown function 'sin'; the functions are relu, tanh, sigmoid, softplus, exp, log, sqrt, abs$/,
  );
  failsWith(() => parseProgram('y = exp * 2'), /^1:5: 'exp' is a function: call it as exp\(...\)/);
  failsWith(() => parseProgram('log = x'), /^1:1: 'log' is a function/);
  failsWith(() => parseProgram('y = log(x, 2)'), /^1:10: log\(\) takes one argument/);
});

test('names are assigned once, before use, and only the last statement may be bare', () => {
  failsWith(
    () => parseProgram('x = 1\nx = 2'),
    /^2:1: 'x' is already assigned at 1:1; give this value a new name/,
  );
  failsWith(() => parseProgram('y = z + 1; z = 2'), /^1:5: 'z' is used before it is assigned \(at 1:12\)/);
  failsWith(() => parseProgram('x = x + 1'), /^1:5: 'x' is used before it is assigned \(at 1:1\)/);
  failsWith(() => parseProgram('x * 2; y = 1'), /^1:1: only the last statement may be a bare expression/);
});

// ---- building the graph -------------------------------------------------------------------------

const DEFAULT = 'c = a*b; e = c + d; h = e / f';
const AT = { a: 2, b: 3, d: 1, f: 4 };

test('building runs the engine ops and names every value', () => {
  const built = buildProgram(parseProgram('y = 2*x*x + -x^3'), { x: 3 });
  assert.equal(built.output.item(), 2 * 3 * 3 - 27);
  assert.deepEqual(
    built.evaluations.map((e) => [e.tensor.name, e.tensor.node?.op.name]),
    [
      ['t1', 'mul'],
      ['t2', 'mul'],
      ['t3', 'pow'],
      ['t4', 'neg'],
      ['y', 'add'],
    ],
  );
  const [x] = built.inputs;
  assert.equal(x.name, 'x');
  assert.equal(x.requiresGrad, true);
  assert.equal(x.dtype, 'float64');
  const literal = built.evaluations[0].operands[0];
  assert.equal(literal.name, '2');
  assert.equal(literal.requiresGrad, false);
  assert.equal(literal.node, null);
});

test('--wrt leaves the other inputs constant, so nothing depending only on them is recorded', () => {
  const built = buildProgram(parseProgram(DEFAULT), AT, { wrt: ['f'] });
  assert.deepEqual(
    built.wrt.map((t) => t.name),
    ['f'],
  );
  assert.deepEqual(
    built.evaluations.map((e) => [e.tensor.name, e.tensor.node !== null]),
    [
      ['c', false],
      ['e', false],
      ['h', true],
    ],
  );
});

test('binding errors name the variable and the fix', () => {
  const program = parseProgram(DEFAULT);
  failsWith(
    () => buildProgram(program, { a: 2, b: 3, d: 1 }),
    /the input 'f' has no value; bind it with --at f=<number>/,
  );
  failsWith(
    () => buildProgram(program, { a: 2 }),
    /the inputs b, d, f have no values; bind them with --at b=<number>,d=<number>,f=<number>/,
  );
  failsWith(
    () => buildProgram(program, { ...AT, z: 1 }),
    /'z': the expression has no such variable; the inputs are a, b, d, f/,
  );
  failsWith(
    () => buildProgram(program, { ...AT, c: 1 }),
    /'c': it is computed by the expression \(line 1: c = a\*b\), not an input/,
  );
  failsWith(
    () => buildProgram(program, AT, { wrt: ['e'] }),
    /cannot differentiate with respect to 'e': it is computed/,
  );
  failsWith(
    () => buildProgram(program, { ...AT, a: Number.NaN }),
    /the value of 'a' must be a finite number/,
  );
  failsWith(() => buildProgram(parseProgram('y = 2*3'), {}), /the expression has no inputs/);
  failsWith(() => buildProgram(parseProgram('k = 2*z; e = k'), { z: 1 }), /^1:10: 'e = k' only repeats k/);
});

test('a non-finite value names the statement, the operation and its operands', () => {
  failsWith(
    () => buildProgram(parseProgram('y = x + 1\nz = log(x - 2)'), { x: 1 }),
    /^2:5: z = log\(t1\) = log\(-1\) gives NaN, so the expression is undefined at this point: choose other values with --at$/,
  );
  failsWith(() => buildProgram(parseProgram('y = x + 1/0'), { x: 1 }), /^1:10: t1 = 1 \/ 0 gives Infinity/);
});

// ---- the explanation ---------------------------------------------------------------------------

test('the default graph: values, local derivatives and the same gradients from both modes', () => {
  const e = explain(buildProgram(parseProgram(DEFAULT), AT));
  assert.deepEqual(
    e.values.map((v) => [v.name, v.definition, v.value]),
    [
      ['a', null, 2],
      ['b', null, 3],
      ['d', null, 1],
      ['f', null, 4],
      ['c', 'a * b', 6],
      ['e', 'c + d', 7],
      ['h', 'e / f', 1.75],
    ],
  );
  assert.deepEqual(
    e.localDerivatives.map((l) => [`d${l.of}/d${l.wrt}`, l.symbolic, l.value]),
    [
      ['dc/da', 'b', 3],
      ['dc/db', 'a', 2],
      ['de/dc', '1', 1],
      ['de/dd', '1', 1],
      ['dh/de', '1/f', 0.25],
      ['dh/df', '-e/f^2', -0.4375],
    ],
  );
  const expected = { a: 0.75, b: 0.5, d: 0.25, f: -0.4375 };
  assert.deepEqual(e.gradients.reverse, expected);
  assert.deepEqual(e.gradients.forward, expected);
});

const describeStep = (s: ReverseStep) =>
  s.kind === 'product' ? `${s.node}->${s.input}` : s.kind === 'sum' ? `sum ${s.of}` : `seed ${s.of}`;

test('the reverse steps run from the output back to the inputs, as chain-rule products', () => {
  const e = explain(buildProgram(parseProgram(DEFAULT), AT), 'reverse');
  assert.equal(e.forward, undefined);
  assert.equal(e.gradients.forward, undefined);
  const steps = e.reverse!.steps;
  assert.deepEqual(steps.map(describeStep), ['seed h', 'h->e', 'h->f', 'e->c', 'e->d', 'c->a', 'c->b']);
  const toC = steps.find((s) => s.kind === 'product' && s.input === 'c');
  assert.ok(toC?.kind === 'product');
  assert.deepEqual([toC.upstream, toC.local.value, toC.value], [0.25, 1, 0.25]);
});

test('forward mode makes one pass per input, each seeding one tangent', () => {
  const e = explain(buildProgram(parseProgram(DEFAULT), AT), 'forward');
  assert.equal(e.reverse, undefined);
  const passes = e.forward!.passes;
  assert.deepEqual(
    passes.map((p) => p.input),
    ['a', 'b', 'd', 'f'],
  );
  assert.deepEqual(passes[0].seeds, { a: 1, b: 0, d: 0, f: 0 });
  const c = passes[0].steps[0];
  assert.equal(c.node, 'c');
  assert.deepEqual(
    c.terms.map((t) => [t.input, t.local.value, t.tangent, t.value]),
    [
      ['a', 3, 1, 3],
      ['b', 2, 0, 0],
    ],
  );
  assert.equal(c.tangent, 3);
  assert.deepEqual(
    passes.map((p) => p.steps.map((s) => s.node)),
    passes.map(() => ['c', 'e', 'h']),
  );
});

/** Central differences of the program's value, from evaluation alone. */
function finiteDifference(program: Program, at: Record<string, number>, name: string, h = 1e-6): number {
  const value = (x: number) => buildProgram(program, { ...at, [name]: x }).output.item();
  return (value(at[name] + h) - value(at[name] - h)) / (2 * h);
}

function assertClose(actual: number, expected: number, tolerance = 1e-6): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * (1 + Math.abs(expected)), `${actual} vs ${expected}`);
}

test('a value used several times receives the sum of its contributions', () => {
  const program = parseProgram('y = x*x + x');
  const e = explain(buildProgram(program, { x: 3 }));
  const steps = e.reverse!.steps;
  assert.deepEqual(steps.map(describeStep), ['seed y', 'y->t1', 'y->x', 't1->x', 't1->x', 'sum x']);
  const sum = steps.at(-1)!;
  assert.ok(sum.kind === 'sum');
  assert.deepEqual([sum.terms, sum.value], [[1, 3, 3], 7]);
  assert.ok(steps.every((s) => s.kind !== 'product' || s.accumulates === (s.input === 'x')));
  assert.deepEqual(
    e.localDerivatives.filter((l) => l.of === 't1').map((l) => [l.slot, l.repeated]),
    [
      [0, true],
      [1, true],
    ],
  );
  assert.equal(e.gradients.reverse!.x, 7);
  assert.equal(e.gradients.forward!.x, 7);
  assertClose(finiteDifference(program, { x: 3 }, 'x'), 7);
});

test('an intermediate used several times sums its contributions before passing them on', () => {
  const e = explain(buildProgram(parseProgram('c = a*b; y = c*c + c'), { a: 2, b: 3 }), 'reverse');
  const steps = e.reverse!.steps;
  const sumAt = steps.findIndex((s) => s.kind === 'sum' && s.of === 'c');
  const firstFromC = steps.findIndex((s) => s.kind === 'product' && s.node === 'c');
  assert.ok(sumAt >= 0 && sumAt === firstFromC - 1, steps.map(describeStep).join(', '));
  assert.equal(steps[sumAt].value, 2 * 6 + 1);
});

test('every function and operator: both modes agree with finite differences', () => {
  const program = parseProgram(
    'p = tanh(a) * sigmoid(b) + softplus(a - b) / sqrt(abs(b) + 1)\n' +
      'y = p + relu(a)^2 - exp(-a) * log(b) + b^a',
  );
  const at = { a: 0.7, b: 1.3 };
  const e = explain(buildProgram(program, at));
  for (const name of ['a', 'b']) {
    const expected = finiteDifference(program, at, name);
    assertClose(e.gradients.reverse![name], expected);
    assertClose(e.gradients.forward![name], expected);
  }
});

test('narrowing to some inputs explains only what they need', () => {
  const e = explain(buildProgram(parseProgram(DEFAULT), AT, { wrt: ['a'] }));
  assert.deepEqual(e.wrt, ['a']);
  assert.deepEqual(
    e.localDerivatives.map((l) => `d${l.of}/d${l.wrt}`),
    ['dc/da', 'de/dc', 'dh/de'],
  );
  assert.deepEqual(e.gradients, { reverse: { a: 0.75 }, forward: { a: 0.75 } });
  assert.deepEqual(e.forward!.passes[0].seeds, { a: 1 });
});

test('an output that ignores the inputs, or a point where a derivative blows up, is an error', () => {
  failsWith(
    () => explain(buildProgram(parseProgram('u = 2*a; y = b*3'), { a: 1, b: 2 }, { wrt: ['a'] })),
    /the output y does not depend on a, so there is nothing to differentiate/,
  );
  failsWith(
    () => explain(buildProgram(parseProgram('y = sqrt(x)'), { x: 0 })),
    /^1:5: the local derivative dy\/dx = 1\/\(2\*y\) is Infinity here \(in 'y = sqrt\(x\)'\)/,
  );
});
