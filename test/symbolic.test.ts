// Each op's derivative is written twice: as tensor code (its VJP) and as a formula for teaching
// (`symbolic`, shown by `chainrule explain`). This checks, for every op that has a formula, that
// the formula evaluated at a point gives the number the VJP gives there.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { vjp } from '../src/autodiff/reverse.js';
import { buildProgram } from '../src/expr/build.js';
import { FUNCTIONS as EXPRESSION_FUNCTIONS, parseProgram } from '../src/expr/parse.js';
import { apply } from '../src/ops/dispatch.js';
import { primitives } from '../src/ops/index.js';
import type { Op } from '../src/tensor/node.js';
import { tensor } from '../src/tensor/tensor.js';

const FUNCTIONS: Record<string, (v: number) => number> = {
  sign: Math.sign,
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
  log: Math.log,
  exp: Math.exp,
};

/**
 * The value of a formula in the notation the ops write (numbers, names, + - * / ^, unary minus,
 * calls of FUNCTIONS, and `(c > 0 ? p : q)`), by recursive descent: nothing is run as code.
 */
function evaluate(formula: string, names: Record<string, number>): number {
  const tokens = formula.match(/\d+(\.\d+)?|[A-Za-z_]\w*|[-+*/^()?:>]/g) ?? [];
  let at = 0;
  const peek = () => tokens[at];
  const take = (expected?: string) => {
    const token = tokens[at++];
    if (expected !== undefined && token !== expected)
      throw new Error(`${formula}: expected ${expected}, got ${token}`);
    return token;
  };
  const atom = (): number => {
    const token = take();
    if (token === '-') return -power();
    if (token === '(') {
      const value = conditional();
      take(')');
      return value;
    }
    if (/^\d/.test(token)) return Number(token);
    if (peek() === '(') {
      take('(');
      const value = conditional();
      take(')');
      if (!FUNCTIONS[token]) throw new Error(`${formula}: unknown function ${token}`);
      return FUNCTIONS[token](value);
    }
    if (!(token in names)) throw new Error(`${formula}: unknown name ${token}`);
    return names[token];
  };
  const power = (): number => {
    const base = atom();
    if (peek() !== '^') return base;
    take('^');
    return base ** power();
  };
  const product = (): number => {
    let value = power();
    while (peek() === '*' || peek() === '/') value = take() === '*' ? value * power() : value / power();
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (peek() === '+' || peek() === '-') value = take() === '+' ? value + product() : value - product();
    return value;
  };
  const conditional = (): number => {
    const value = sum();
    if (peek() !== '>') return value;
    take('>');
    const holds = value > sum();
    take('?');
    const yes = sum();
    take(':');
    const no = sum();
    return holds ? yes : no;
  };
  const value = conditional();
  assert.equal(at, tokens.length, `${formula}: left over ${tokens.slice(at).join(' ')}`);
  return value;
}

/** Points inside every op's domain (log, sqrt, pow need positive inputs), away from kinks at 0. */
const POINTS = [
  [0.7, 1.3],
  [2.1, 0.4],
  [1.6, 2.5],
];

test("every op's symbolic derivative agrees with its VJP", () => {
  const checked: string[] = [];
  for (const [name, op] of Object.entries(primitives)) {
    if (!op.symbolic) continue;
    const arity = name === 'matmul' || name in { add: 1, sub: 1, mul: 1, div: 1, pow: 1 } ? 2 : 1;
    const shape = name === 'matmul' ? [1, 1] : [1];
    for (const point of POINTS) {
      const inputs = point.slice(0, arity).map((v) => tensor([v], { dtype: 'float64', shape }));
      const attrs = name === 'matmul' ? { transA: false, transB: false } : undefined;
      const { out, grads } = vjp((...xs) => apply(op as Op<unknown>, xs, attrs), inputs);
      const names = Object.fromEntries([
        ...point.slice(0, arity).map((v, i) => [`x${i}`, v]),
        ['y', out.item()],
      ]);
      const formulas = op.symbolic(
        inputs.map((_, i) => `x${i}`),
        'y',
      );
      formulas.forEach((formula, i) => {
        const expected = grads[i].item();
        const got = evaluate(formula, names);
        assert.ok(
          Math.abs(got - expected) <= 1e-9 * Math.max(1, Math.abs(expected)),
          `${name}: d/dx${i} = ${formula} gives ${got} at ${point}, the VJP ${expected}`,
        );
      });
    }
    checked.push(name);
  }
  // Every op the expression language can write has a formula to check: the ops its operators
  // and functions record, asked of the language itself.
  for (const name of expressionOps()) assert.ok(checked.includes(name), `${name} has a symbolic derivative`);
});

/** The names of the ops that the expression language's operators and functions record. */
function expressionOps(): Set<string> {
  const sources = [
    '-x',
    'x + y',
    'x - y',
    'x * y',
    'x / y',
    'x ^ y',
    ...EXPRESSION_FUNCTIONS.map((f) => `${f}(x)`),
  ];
  const names = new Set<string>();
  for (const source of sources) {
    const program = parseProgram(source);
    const at = Object.fromEntries(program.inputs.map((name, i) => [name, 0.7 + i]));
    const { evaluations } = buildProgram(program, at);
    for (const { tensor: t } of evaluations) if (t.node) names.add(t.node.op.name);
  }
  return names;
}
