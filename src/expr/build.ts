// Runs a parsed program through the engine's own ops on float64 scalars, so the result is a real
// recorded graph: the same nodes backward() walks and the same op records forward mode uses.
// Every value gets a name (assigned, generated t1, t2, ..., or a literal's own text) so that
// each node can be shown.

import { enableGrad } from '../ops/index.js';
import { formatNumber, type Tensor, tensor } from '../tensor/tensor.js';
import { clipped, ExpressionError, listed, type SourcePosition } from './error.js';
import {
  type BinaryOperator,
  type Expr,
  type FunctionName,
  freshNames,
  type Program,
  type Statement,
} from './parse.js';

export type Operation = BinaryOperator | FunctionName | 'negate';

/** One value the program computed, in evaluation order. */
export interface Evaluation {
  /** The named result; it has a `node` when it depends on an input being differentiated. */
  tensor: Tensor;
  /** null for a named literal such as `k = 2`. */
  operation: Operation | null;
  operands: Tensor[];
  statement: Statement;
  at: SourcePosition;
}

export interface BuiltProgram {
  program: Program;
  output: Tensor;
  /** Every input, in order of first use, named and holding its bound value. */
  inputs: Tensor[];
  /** The inputs that require a gradient (all of them unless `wrt` narrowed it). */
  wrt: Tensor[];
  evaluations: Evaluation[];
}

export interface BuildOptions {
  /** The inputs to differentiate with respect to; the others become constants. Default: all. */
  wrt?: readonly string[];
}

const BINARY: Record<BinaryOperator, (a: Tensor, b: Tensor) => Tensor> = {
  '+': (a, b) => a.add(b),
  '-': (a, b) => a.sub(b),
  '*': (a, b) => a.mul(b),
  '/': (a, b) => a.div(b),
  '^': (a, b) => a.pow(b),
};

function scalar(value: number, name: string, requiresGrad = false): Tensor {
  const t = tensor(value, { dtype: 'float64', requiresGrad });
  t.name = name;
  return t;
}

/** A name or value as an operand: negative ones in parentheses, so `x * (-3)` reads right. */
export function operandText(text: string): string {
  return text.startsWith('-') ? `(${text})` : text;
}

/** An evaluation as text, showing each operand through `label` (its name, or its value). */
export function describe(evaluation: Evaluation, label: (t: Tensor) => string): string {
  const { operation, operands } = evaluation;
  if (operation === null) return byValue(evaluation.tensor);
  const [a, b] = operands.map(label);
  if (operation === 'negate') return `-${operandText(a)}`;
  if (operation === '^') return `${operandText(a)}^${operandText(b)}`;
  if (operation in BINARY) return `${operandText(a)} ${operation} ${operandText(b)}`;
  return `${operation}(${a})`;
}

export const byName = (t: Tensor): string => t.name!;
export const byValue = (t: Tensor): string => formatNumber(t.item());

function checkBindings(program: Program, bindings: Readonly<Record<string, number>>, wrt: readonly string[]) {
  const computed = new Map(program.statements.map((s) => [s.name, s]));
  const notAnInput = (name: string, use: string) => {
    const statement = computed.get(name);
    const why = statement
      ? `it is computed by the expression (line ${statement.at.line}: ${clipped(statement.text, 60)}), not an input`
      : 'the expression has no such variable';
    return new ExpressionError(
      `${use} '${clipped(name)}': ${why}; the inputs are ${listed(program.inputs) || 'none'}`,
    );
  };
  for (const [name, value] of Object.entries(bindings)) {
    if (!program.inputs.includes(name)) throw notAnInput(name, 'a value was given for');
    if (!Number.isFinite(value)) {
      throw new ExpressionError(`the value of '${clipped(name)}' must be a finite number, got ${value}`);
    }
  }
  const unbound = program.inputs.filter((name) => !Object.hasOwn(bindings, name));
  if (unbound.length === 1) {
    throw new ExpressionError(
      `the input '${clipped(unbound[0])}' has no value; bind it with --at ${clipped(unbound[0])}=<number>`,
    );
  }
  if (unbound.length > 1) {
    throw new ExpressionError(
      `the inputs ${listed(unbound)} have no values; bind them with --at ${unbound
        .slice(0, 8)
        .map((n) => `${clipped(n)}=<number>`)
        .join(',')}${unbound.length > 8 ? ',...' : ''}`,
    );
  }
  for (const name of wrt)
    if (!program.inputs.includes(name)) throw notAnInput(name, 'cannot differentiate with respect to');
  if (!program.inputs.length) {
    throw new ExpressionError(
      'the expression has no inputs, only numbers, so there is nothing to differentiate: use a variable such as x and bind it with --at x=<number>',
    );
  }
  if (!wrt.length) throw new ExpressionError('no inputs to differentiate with respect to: name at least one');
}

/**
 * Evaluates the program at `bindings` with the engine's ops, recording the graph. Inputs named
 * in `options.wrt` (default: all) are leaves that require a gradient; numbers are constants.
 */
export function buildProgram(
  program: Program,
  bindings: Readonly<Record<string, number>>,
  options: BuildOptions = {},
): BuiltProgram {
  const wrtNames = options.wrt ?? program.inputs;
  checkBindings(program, bindings, wrtNames);
  const inputs = program.inputs.map((name) => scalar(bindings[name], name, wrtNames.includes(name)));
  const env = new Map(inputs.map((t) => [t.name!, t]));
  const generated = freshNames(new Set([...program.inputs, ...program.statements.map((s) => s.name)]), 't');
  const evaluations: Evaluation[] = [];

  const record = (
    operation: Operation | null,
    operands: Tensor[],
    result: Tensor,
    statement: Statement,
    at: SourcePosition,
    name: string | undefined,
  ): Tensor => {
    result.name = name ?? (generated.next().value as string);
    const evaluation = { tensor: result, operation, operands, statement, at };
    evaluations.push(evaluation);
    const value = result.item();
    if (!Number.isFinite(value)) {
      const [named, valued] = [describe(evaluation, byName), describe(evaluation, byValue)];
      throw new ExpressionError(
        `${result.name} = ${named === valued ? named : `${named} = ${valued}`} gives ${value}, ` +
          'so the expression is undefined at this point: choose other values with --at',
        { source: program.source, ...at },
      );
    }
    return result;
  };

  // `name` is given for a statement's top-level expression, whose value takes the statement's name.
  const evaluate = (expr: Expr, statement: Statement, name?: string): Tensor => {
    switch (expr.kind) {
      case 'number': {
        const literal = scalar(expr.value, expr.text);
        return name === undefined ? literal : record(null, [], literal, statement, expr.at, name);
      }
      case 'variable':
        if (name !== undefined) {
          throw new ExpressionError(
            `'${clipped(statement.text, 60)}' only repeats ${expr.name}: there is no operation to explain; use ${expr.name} directly`,
            { source: program.source, ...statement.at },
          );
        }
        return env.get(expr.name)!;
      case 'negate': {
        const x = evaluate(expr.operand, statement);
        return record('negate', [x], x.neg(), statement, expr.at, name);
      }
      case 'binary': {
        const a = evaluate(expr.left, statement);
        const b = evaluate(expr.right, statement);
        return record(expr.operator, [a, b], BINARY[expr.operator](a, b), statement, expr.at, name);
      }
      case 'call': {
        const x = evaluate(expr.argument, statement);
        return record(expr.fn, [x], x[expr.fn](), statement, expr.at, name);
      }
    }
  };

  return enableGrad(() => {
    for (const statement of program.statements)
      env.set(statement.name, evaluate(statement.expr, statement, statement.name));
    return {
      program,
      output: env.get(program.output)!,
      inputs,
      wrt: inputs.filter((t) => t.requiresGrad),
      evaluations,
    };
  });
}
