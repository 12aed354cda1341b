// The expression language of `chainrule explain`: statements such as `c = a*b; h = c / f`,
// tokenized and parsed by hand (precedence climbing) into a syntax tree. Nothing here evaluates
// anything; build.ts turns the tree into engine ops.
//
//   program    := statement ((';' | newline) statement)*      '#' starts a comment
//   statement  := name '=' expression | expression             (a bare expression only last)
//   expression := operand (binary-operator expression)*        + - * / ^, by precedence
//   operand    := number | name | function '(' expression ')' | '(' expression ')' | '-' operand
//
// Two limits keep every walk over the tree (here, in build.ts and in the views) well inside the
// call stack and the output readable: nesting at most MAX_NESTING levels deep, and at most
// MAX_OPERATIONS operations per program. Going past either is an ExpressionError at the place.

import { clipped, ExpressionError, type SourcePosition } from './error.js';

/** Deepest nesting of parentheses, calls, unary minus and ^ chains: deeper is never meant to be read. */
export const MAX_NESTING = 200;
/** Most operations in one program: explain prints several lines for each. */
export const MAX_OPERATIONS = 1000;

/** The functions an expression may call: one per unary op of the engine. */
export const FUNCTIONS = ['relu', 'tanh', 'sigmoid', 'softplus', 'exp', 'log', 'sqrt', 'abs'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];
export type BinaryOperator = '+' | '-' | '*' | '/' | '^';

export type Expr =
  | { kind: 'number'; value: number; text: string; at: SourcePosition }
  | { kind: 'variable'; name: string; at: SourcePosition }
  | { kind: 'negate'; operand: Expr; at: SourcePosition }
  | { kind: 'binary'; operator: BinaryOperator; left: Expr; right: Expr; at: SourcePosition }
  | { kind: 'call'; fn: FunctionName; argument: Expr; at: SourcePosition };

export interface Statement {
  /** The assigned name; a bare final expression gets a generated one (`assigned` false). */
  name: string;
  assigned: boolean;
  expr: Expr;
  /** The statement's source text, for messages. */
  text: string;
  at: SourcePosition;
}

export interface Program {
  source: string;
  statements: Statement[];
  /** Names used but never assigned, in order of first use: the values to bind. */
  inputs: string[];
  /** The name of the last statement, whose value is the program's result. */
  output: string;
}

const PRECEDENCE: Record<BinaryOperator, number> = { '+': 1, '-': 1, '*': 2, '/': 2, '^': 4 };
// Between * and ^, as in mathematics: -a^2 is -(a^2), and -a*b is (-a)*b.
const UNARY_MINUS = 3;

// ---- tokens ---------------------------------------------------------------------------------

interface Token extends SourcePosition {
  kind: 'number' | 'name' | 'symbol' | 'separator' | 'end';
  text: string;
  offset: number;
}

const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
// Letters of any script, so names such as θ and the adjoints ā that the graph view writes parse.
const NAME = /[\p{L}_][\p{L}\p{M}\p{N}_]*/uy;
const SYMBOLS = '+-*/^=(),';

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let depth = 0;
  let i = 0;
  const push = (kind: Token['kind'], text: string) => {
    tokens.push({ kind, text, offset: i, line, column: i - lineStart + 1 });
    i += text.length;
  };
  const matchAt = (pattern: RegExp) => {
    pattern.lastIndex = i;
    return pattern.exec(source)?.[0];
  };
  while (i < source.length) {
    const ch = source[i];
    if (ch === '\n') {
      // Inside parentheses a line break only continues the expression.
      if (depth === 0) push('separator', ch);
      else i++;
      line++;
      lineStart = i;
    } else if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
    } else if (ch === '#') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (ch === ';') {
      push('separator', ch);
    } else if (SYMBOLS.includes(ch)) {
      if (ch === '(') depth++;
      if (ch === ')' && depth > 0) depth--;
      push('symbol', ch);
    } else {
      const number = matchAt(NUMBER);
      const name = number === undefined ? matchAt(NAME) : undefined;
      if (number !== undefined) push('number', number);
      else if (name !== undefined) push('name', name);
      else {
        throw new ExpressionError(
          `unexpected character '${ch}': expressions use numbers, names, + - * / ^, parentheses and function calls`,
          { source, line, column: i - lineStart + 1 },
        );
      }
    }
  }
  tokens.push({ kind: 'end', text: '', offset: i, line, column: i - lineStart + 1 });
  return tokens;
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'the end of the expression';
  if (token.text === '\n') return 'a new line';
  return `'${clipped(token.text)}'`;
}

// ---- parser ---------------------------------------------------------------------------------

class Parser {
  private index = 0;
  private nesting = 0;
  private operations = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: readonly Token[],
  ) {}

  program(): Statement[] {
    const statements: Statement[] = [];
    for (;;) {
      while (this.peek().kind === 'separator') this.index++;
      if (this.peek().kind === 'end') return statements;
      statements.push(this.statement());
    }
  }

  private statement(): Statement {
    const first = this.peek();
    const assigned = first.kind === 'name' && this.peek(1).text === '=';
    if (assigned) this.index += 2;
    const expr = this.expression(0);
    const last = this.tokens[this.index - 1];
    const next = this.peek();
    if (next.text === '=') {
      throw this.error(
        next,
        assigned
          ? "one '=' per statement: give each value its own statement"
          : "only a name can be assigned to: write 'name = expression'",
      );
    }
    if (next.kind !== 'separator' && next.kind !== 'end') {
      const hint =
        last.kind === 'number' && (next.kind === 'name' || next.text === '(')
          ? ` (write ${clipped(last.text)}*${clipped(next.text)} to multiply)`
          : next.text === ')'
            ? ' (it closes no open parenthesis)'
            : '';
      throw this.error(
        next,
        `expected an operator, ';' or a new line after ${describe(last)}, found ${describe(next)}${hint}`,
      );
    }
    return {
      name: assigned ? first.text : '',
      assigned,
      expr,
      text: this.source.slice(first.offset, last.offset + last.text.length),
      at: position(first),
    };
  }

  private expression(minPrecedence: number): Expr {
    if (++this.nesting > MAX_NESTING) {
      throw this.error(
        this.peek(),
        `the expression nests deeper than ${MAX_NESTING} levels (parentheses, calls, unary minus and ^ each count); ` +
          'name the inner parts in statements of their own',
      );
    }
    const expr = this.operatorsFrom(minPrecedence);
    this.nesting--;
    return expr;
  }

  /** An operation node at `token`, counted against MAX_OPERATIONS. */
  private operation<E extends Expr>(token: Token, node: E): E {
    if (++this.operations > MAX_OPERATIONS) {
      throw this.error(
        token,
        `the program has more than ${MAX_OPERATIONS} operations; explain writes out every step, so it takes ` +
          'programs small enough to read',
      );
    }
    return node;
  }

  private operatorsFrom(minPrecedence: number): Expr {
    let left = this.operand();
    for (;;) {
      const token = this.peek();
      const precedence = token.kind === 'symbol' ? PRECEDENCE[token.text as BinaryOperator] : undefined;
      if (precedence === undefined || precedence < minPrecedence) return left;
      this.index++;
      const operator = token.text as BinaryOperator;
      // ^ is right-associative: a^b^c = a^(b^c); the others group to the left.
      const right = this.expression(operator === '^' ? precedence : precedence + 1);
      left = this.operation(token, { kind: 'binary', operator, left, right, at: position(token) });
    }
  }

  private operand(): Expr {
    const token = this.peek();
    const at = position(token);
    if (token.text === '-') {
      this.index++;
      const operand = this.expression(UNARY_MINUS);
      // A minus sign on a plain number is part of the number, not an operation to explain.
      if (operand.kind === 'number' && !operand.text.startsWith('-')) {
        return { kind: 'number', value: -operand.value, text: `-${operand.text}`, at };
      }
      return this.operation(token, { kind: 'negate', operand, at });
    }
    if (token.text === '(') {
      this.index++;
      const inner = this.expression(0);
      this.expect(')', `to close the '(' at ${at.line}:${at.column}`);
      return inner;
    }
    if (token.kind === 'number') {
      this.index++;
      const value = Number(token.text);
      if (!Number.isFinite(value)) {
        throw this.error(token, `${clipped(token.text)} is too large for a float64 number`);
      }
      return { kind: 'number', value, text: token.text, at };
    }
    if (token.kind === 'name') {
      this.index++;
      const isFunction = (FUNCTIONS as readonly string[]).includes(token.text);
      if (this.peek().text === '(') {
        if (!isFunction) {
          throw this.error(
            token,
            `unknown function '${clipped(token.text)}'; the functions are ${FUNCTIONS.join(', ')}`,
          );
        }
        this.index++;
        const argument = this.expression(0);
        if (this.peek().text === ',') throw this.error(this.peek(), `${token.text}() takes one argument`);
        this.expect(')', `to close the call of ${token.text}`);
        return this.operation(token, { kind: 'call', fn: token.text as FunctionName, argument, at });
      }
      if (isFunction) {
        throw this.error(
          token,
          `'${token.text}' is a function: call it as ${token.text}(...), or pick another name`,
        );
      }
      return { kind: 'variable', name: token.text, at };
    }
    const previous = this.tokens[this.index - 1];
    const after = previous && previous.kind !== 'separator' ? ` after ${describe(previous)}` : '';
    throw this.error(token, `expected a number, a name, '-' or '('${after}, found ${describe(token)}`);
  }

  private expect(text: string, why: string): void {
    const token = this.peek();
    if (token.text !== text) throw this.error(token, `expected '${text}' ${why}, found ${describe(token)}`);
    this.index++;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)];
  }

  private error(token: Token, message: string): ExpressionError {
    return new ExpressionError(message, { source: this.source, ...position(token) });
  }
}

function position(token: SourcePosition): SourcePosition {
  return { line: token.line, column: token.column };
}

// ---- names ----------------------------------------------------------------------------------

function variablesOf(expr: Expr, into: Extract<Expr, { kind: 'variable' }>[] = []) {
  switch (expr.kind) {
    case 'variable':
      into.push(expr);
      break;
    case 'negate':
      variablesOf(expr.operand, into);
      break;
    case 'binary':
      variablesOf(expr.left, into);
      variablesOf(expr.right, into);
      break;
    case 'call':
      variablesOf(expr.argument, into);
      break;
  }
  return into;
}

/** base1, base2, ... skipping taken names: names for values the source left unnamed. */
export function* freshNames(taken: ReadonlySet<string>, base: string): Generator<string> {
  for (let i = 1; ; i++) if (!taken.has(`${base}${i}`)) yield `${base}${i}`;
}

/** Checks every name is assigned once and before use, and finds the inputs. */
function resolveNames(source: string, statements: Statement[]): { inputs: string[]; output: string } {
  const fail = (at: SourcePosition, message: string) => new ExpressionError(message, { source, ...at });
  const assignments = new Map<string, Statement>();
  statements.forEach((s, i) => {
    if (!s.assigned) {
      if (i < statements.length - 1) {
        throw fail(s.at, "only the last statement may be a bare expression; name this one: 'name = ...'");
      }
      return;
    }
    if ((FUNCTIONS as readonly string[]).includes(s.name)) {
      throw fail(s.at, `'${clipped(s.name)}' is a function; pick another name for this value`);
    }
    const earlier = assignments.get(s.name);
    if (earlier) {
      throw fail(
        s.at,
        `'${clipped(s.name)}' is already assigned at ${earlier.at.line}:${earlier.at.column}; give this value a new name`,
      );
    }
    assignments.set(s.name, s);
  });
  const inputs: string[] = [];
  const defined = new Set<string>();
  for (const s of statements) {
    for (const v of variablesOf(s.expr)) {
      const assignment = assignments.get(v.name);
      if (assignment && !defined.has(v.name)) {
        throw fail(
          v.at,
          `'${clipped(v.name)}' is used before it is assigned (at ${assignment.at.line}:${assignment.at.column}); ` +
            `move '${clipped(v.name)} = ...' above its first use`,
        );
      }
      if (!assignment && !inputs.includes(v.name)) inputs.push(v.name);
    }
    if (s.assigned) defined.add(s.name);
  }
  const last = statements[statements.length - 1];
  if (!last.assigned) {
    const taken = new Set([...inputs, ...assignments.keys()]);
    last.name = taken.has('y') ? (freshNames(taken, 'y').next().value as string) : 'y';
  }
  return { inputs, output: last.name };
}

/** Parses a program of statements; every syntax and naming error names its line:column. */
export function parseProgram(source: string): Program {
  const statements = new Parser(source, tokenize(source)).program();
  if (!statements.length) {
    throw new ExpressionError("the expression is empty: write statements such as 'y = x*x + x'");
  }
  return { source, statements, ...resolveNames(source, statements) };
}
