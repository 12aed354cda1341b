// Expressions an adversarial user writes: nesting deep enough to overflow a recursive parser,
// programs whose explanation would run to hundreds of megabytes, and numbers or names long
// enough that echoing them whole would bury the message.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProgram } from '../src/expr/build.js';
import { ExpressionError } from '../src/expr/error.js';
import { explain, MAX_FORWARD_STEPS } from '../src/expr/explain.js';
import { MAX_NESTING, MAX_OPERATIONS, parseProgram } from '../src/expr/parse.js';

/** The ExpressionError `fn` throws (never a RangeError from the call stack). */
function expressionError(fn: () => unknown): ExpressionError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ExpressionError, `expected an ExpressionError, got ${err}`);
    return err;
  }
  assert.fail('expected an ExpressionError');
}

const explainAt = (source: string, at: Record<string, number>, mode: 'both' | 'reverse' = 'both') =>
  explain(buildProgram(parseProgram(source), at), mode);

test('deep nesting is a positioned ExpressionError, not a stack overflow', () => {
  const cases = {
    parentheses: `${'('.repeat(3000)}x${')'.repeat(3000)}`,
    'unary minus': `${'-'.repeat(10_000)}x`,
    calls: `${'tanh('.repeat(5000)}x${')'.repeat(5000)}`,
    'a ^ chain': `x${'^x'.repeat(5000)}`,
  };
  for (const [what, source] of Object.entries(cases)) {
    const err = expressionError(() => parseProgram(source));
    assert.match(
      err.message,
      new RegExp(`^1:\\d+: the expression nests deeper than ${MAX_NESTING} levels`),
      what,
    );
    assert.match(err.message, /statements of their own/, what);
  }
});

test('nesting up to the limit parses, builds and explains', () => {
  const source = `${'tanh('.repeat(MAX_NESTING - 1)}x${')'.repeat(MAX_NESTING - 1)}`;
  const e = explainAt(source, { x: 0.5 });
  assert.equal(e.localDerivatives.length, MAX_NESTING - 1);
  const [reverse, forward] = [e.gradients.reverse!.x, e.gradients.forward!.x];
  assert.ok(Math.abs(reverse - forward) <= 1e-12 * Math.abs(reverse), `${reverse} vs ${forward}`);
});

test('a program of too many operations is refused at the first one past the limit', () => {
  const err = expressionError(() => parseProgram(`x${'+x'.repeat(10_000)}`));
  // x+x+... : the (MAX_OPERATIONS + 1)th '+' sits at column 2 * MAX_OPERATIONS + 2.
  assert.match(
    err.message,
    new RegExp(`^1:${2 * MAX_OPERATIONS + 2}: the program has more than ${MAX_OPERATIONS} operations`),
  );
  // At the limit, the left-deep tree (1,000 levels) still builds and explains.
  const atLimit = explainAt(`x${'+x'.repeat(MAX_OPERATIONS)}`, { x: 1 });
  assert.equal(atLimit.gradients.reverse!.x, MAX_OPERATIONS + 1);
  assert.equal(atLimit.gradients.forward!.x, MAX_OPERATIONS + 1);
});

test('forward mode refuses to write more steps than it can show; reverse mode still explains', () => {
  const n = 400;
  const names = Array.from({ length: n }, (_, i) => `x${i}`);
  const at = Object.fromEntries(names.map((name) => [name, 1]));
  const source = names.join(' + ');
  assert.ok(n * (n - 1) > MAX_FORWARD_STEPS);
  const err = expressionError(() => explainAt(source, at));
  assert.match(err.message, /forward mode would write 400 passes of 399 steps each/);
  assert.match(err.message, /use reverse mode alone, or differentiate with respect to fewer inputs/);
  const reverse = explainAt(source, at, 'reverse');
  assert.equal(reverse.forward, undefined);
  assert.deepEqual(Object.values(reverse.gradients.reverse!), new Array(n).fill(1));
});

test('an oversized number or name is clipped in the message and the excerpt', () => {
  const digits = `1${'0'.repeat(5000)}`;
  const number = expressionError(() => parseProgram(`y = ${digits} * x`));
  assert.match(number.message, /^1:5: 10+…0+ \(5001 characters\) is too large for a float64 number$/);
  assert.ok(number.message.length < 200, number.message);
  assert.ok(number.excerpt!.length < 300, 'the excerpt is a window around the caret');

  const name = 'q'.repeat(100_000);
  const call = expressionError(() => parseProgram(`${name}(x)`));
  assert.match(call.message, /unknown function 'q+…q+ \(100000 characters\)'/);
  assert.ok(call.message.length < 300, call.message);

  const unbound = expressionError(() => buildProgram(parseProgram(`${name} + 1`), {}));
  assert.ok(unbound.message.length < 300, unbound.message);
});

test('the excerpt keeps the caret under the column inside its window', () => {
  const source = `${'x+'.repeat(500)})`;
  const err = expressionError(() => parseProgram(source));
  const [line, caret] = err.excerpt!.split('\n');
  assert.equal(line[caret.length - 1], ')');
  assert.ok(line.startsWith('…'));
});

test('many unbound inputs are listed briefly', () => {
  const names = Array.from({ length: 50 }, (_, i) => `v${i}`);
  const err = expressionError(() => buildProgram(parseProgram(names.join(' * ')), {}));
  assert.match(err.message, /the inputs v0, v1, .*, \.\.\. \(50 in all\) have no values/);
  assert.ok(err.message.length < 400, err.message);
});
