// `chainrule explain`: the chain rule walked through a small expression, as a teacher would on
// a whiteboard: the values, each operation's local derivative, the backward pass in the order
// the engine runs it, and one forward-mode pass per input. The numbers come from the engine's
// own graph (src/expr/explain.ts); this file only parses flags and lays the story out.

import { parseArgs } from 'node:util';
import { ChainruleError } from '../errors.js';
import { buildProgram } from '../expr/build.js';
import { ExpressionError } from '../expr/error.js';
import { type Explanation, explain, type LocalDerivative, type Mode } from '../expr/explain.js';
import {
  adjointProductText,
  barred,
  dotted,
  factorText,
  inputDerivativesText,
  localDerivativeText,
  ratioText,
  SEED_EXPRESSION,
  SEED_VALUES,
  tangentSumText,
} from '../expr/notation.js';
import { FUNCTIONS, MAX_NESTING, MAX_OPERATIONS, parseProgram } from '../expr/parse.js';
import { formatNumber } from '../tensor/tensor.js';
import { outputRule, plural } from './progress.js';

const MODES: readonly Mode[] = ['reverse', 'forward', 'both'];

const USAGE = `usage: chainrule explain [options]

Walks the chain rule through an expression: the values, each operation's local derivative,
the reverse-mode (backprop) pass and the forward-mode passes, from the engine's own graph.
Notation: ∂c/∂a is one operation's local derivative; ā (a bar) the adjoint dh/da that the
backward pass sums up; ȧ (a dot) a forward-mode tangent; dh/da the derivative it all gives.

options:
  --expr "..."    statements separated by ';' or new lines, the last one the output;
                  + - * / ^, unary -, parentheses, # comments, and the functions
                  ${FUNCTIONS.join(' ')}
                  (default: ${SEED_EXPRESSION}); at most ${MAX_OPERATIONS} operations,
                  nested at most ${MAX_NESTING} deep
  --at a=2,b=3    values of the inputs (required with --expr; the default expression
                  uses ${Object.entries(SEED_VALUES)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(',')}, which --at may override)
  --wrt a,b       differentiate with respect to these inputs only (default: all)
  --mode MODE     reverse, forward or both (default: both)
  --json          print the explanation as JSON
  -h, --help      show this help

${outputRule()}
`;

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export async function run(argv: string[], io: { stdout: Output; stderr: Output } = process): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      expr: { type: 'string' },
      at: { type: 'string', multiple: true },
      wrt: { type: 'string' },
      mode: { type: 'string', default: 'both' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const mode = values.mode as Mode;
  if (!MODES.includes(mode)) {
    throw new ChainruleError(`--mode: '${values.mode}' is not a mode; use reverse, forward or both`);
  }
  const at = parseBindings(values.at ?? []);
  const bindings = values.expr === undefined ? { ...SEED_VALUES, ...at } : at;
  const wrt = values.wrt === undefined ? undefined : parseNames(values.wrt);
  try {
    const explanation = explain(
      buildProgram(parseProgram(values.expr ?? SEED_EXPRESSION), bindings, { wrt }),
      mode,
    );
    const color = io.stdout.isTTY === true && !process.env.NO_COLOR;
    io.stdout.write(values.json ? `${JSON.stringify(explanation, null, 2)}\n` : render(explanation, color));
    return 0;
  } catch (err) {
    // The caret under the offending column needs the lines after the one-line message.
    if (err instanceof ExpressionError && err.excerpt) {
      io.stderr.write(`chainrule explain: ${err.message}\n${indent(err.excerpt, '  ')}\n`);
      return 2;
    }
    throw err;
  }
}

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
// The expression language's names (src/expr/parse.ts): letters of any script.
const NAME = /^[\p{L}_][\p{L}\p{M}\p{N}_]*$/u;

/** `--at a=2,b=-0.5` (the flag may repeat) as input values. */
function parseBindings(specs: readonly string[]): Record<string, number> {
  const bindings = new Map<string, number>();
  for (const item of specs.flatMap((s) => s.split(','))) {
    const [name, value, ...rest] = item.split('=').map((part) => part.trim());
    if (rest.length || !NAME.test(name) || value === undefined || !NUMBER.test(value)) {
      throw new ChainruleError(`--at: '${item}' is not name=number; write e.g. --at a=2,b=-0.5`);
    }
    if (bindings.has(name)) throw new ChainruleError(`--at: '${name}' is given twice`);
    if (!Number.isFinite(Number(value)))
      throw new ChainruleError(`--at: ${value} is too large for a float64 number`);
    bindings.set(name, Number(value));
  }
  return Object.fromEntries(bindings);
}

/** `--wrt a,b` as a list of names. */
function parseNames(spec: string): string[] {
  const names = spec.split(',').map((s) => s.trim());
  for (const [i, name] of names.entries()) {
    if (!NAME.test(name)) throw new ChainruleError(`--wrt: '${name}' is not a name; write e.g. --wrt a,b`);
    if (names.indexOf(name) !== i) throw new ChainruleError(`--wrt: '${name}' is given twice`);
  }
  return names;
}

// ---- the text -------------------------------------------------------------------------------

const ANSI = { bold: '\x1b[1m', green: '\x1b[32m', dim: '\x1b[2m', reset: '\x1b[0m' };

const num = formatNumber;
const sumText = (terms: readonly string[]) => terms.join(' + ');
const indent = (text: string, by: string) => text.replace(/^/gm, by);

function render(e: Explanation, color: boolean): string {
  const paint = (code: string) => (text: string) => (color ? `${code}${text}${ANSI.reset}` : text);
  const title = paint(ANSI.bold);
  const result = paint(ANSI.green);
  const note = paint(ANSI.dim);
  const out = e.output;
  const definitions = new Map(e.values.map((v) => [v.name, v.definition]));
  /** The gradient line; `symbol` names the quantity that holds each derivative (reverse: ā). */
  const gradientLine = (gradients: Record<string, number>, symbol?: (name: string) => string) =>
    result(
      `  gradient: ${Object.entries(gradients)
        .map(([name, g]) => `${ratioText(out, name)} = ${symbol ? `${symbol(name)} = ` : ''}${num(g)}`)
        .join(', ')}`,
    );
  const localText = (l: LocalDerivative) =>
    localDerivativeText(l) +
    (l.repeated ? note(`   (as the ${l.slot === 0 ? 'left' : 'right'} operand)`) : '');

  const lines: string[] = [];
  const at = Object.entries(e.inputs).map(([name, v]) => `${name} = ${num(v)}`);
  lines.push(`${title('Explaining')} ${e.statements.join('; ')}   at ${at.join(', ')}`);
  const held = Object.keys(e.inputs).filter((name) => !e.wrt.includes(name));
  if (held.length) {
    lines.push(
      note(
        `Differentiating with respect to ${e.wrt.join(', ')}; ${held.join(', ')} ${plural(held.length, 'is', 'are')} held constant.`,
      ),
    );
  }

  lines.push('', title('Values, in the order the forward pass computes them'));
  for (const v of e.values) {
    // a * b = 2 * 3 = 6, dropping repeats such as 2 * 3 = 2 * 3
    const forms = [v.definition, v.withValues, num(v.value)].filter(
      (f, i, all) => f !== null && f !== all[i - 1],
    );
    lines.push(`  ${v.name} = ${forms.join(' = ')}${v.role === 'input' ? note('   (input)') : ''}`);
  }

  lines.push(
    '',
    title("Local derivatives: each operation's own derivative, with respect to each of its inputs"),
  );
  for (const l of e.localDerivatives) lines.push(`  ${localText(l)}`);

  if (e.reverse) {
    lines.push(
      '',
      title(
        `Reverse mode (backprop): one backward pass from ${out} back to the inputs, in the order it runs`,
      ),
      `  each value v gets an adjoint ${barred('v')} = d${out}/dv, summed over v's uses as the pass reaches them`,
    );
    let at: string | null = null;
    for (const step of e.reverse.steps) {
      if (step.kind === 'seed')
        lines.push(`  ${barred(step.of)} = ${ratioText(out, step.of)} = ${num(step.value)}`);
      else if (step.kind === 'sum') {
        const terms = sumText(step.terms.map((t, i) => (i ? factorText(t) : num(t))));
        lines.push(
          `  ${barred(step.of)} = ${terms} = ${num(step.value)}` +
            note(`   (${step.of} is used ${step.terms.length} times: its contributions add up)`),
        );
      } else {
        if (step.node !== at) lines.push(`  at ${step.node} = ${definitions.get(step.node)}`);
        at = step.node;
        lines.push(
          `    ${adjointProductText(step, '*')}` +
            ` = ${factorText(step.upstream)} * ${factorText(step.local.value)} = ${num(step.value)}`,
        );
      }
    }
    lines.push(gradientLine(e.gradients.reverse!, barred));
  }

  if (e.forward) {
    lines.push(
      '',
      title('Forward mode: one pass per input; each carries a tangent ẋ = dx/d(input) beside every value x'),
    );
    e.forward.passes.forEach((pass, i) => {
      const seeds = Object.entries(pass.seeds).map(([name, t]) => `${dotted(name)} = ${num(t)}`);
      lines.push(`  pass ${i + 1} of ${e.forward!.passes.length}, for ${pass.input}: ${seeds.join(', ')}`);
      for (const step of pass.steps) {
        const symbols = tangentSumText(
          step.node,
          step.terms.map((t) => t.input),
        );
        const numbers = sumText(
          step.terms.map((t) => `${factorText(t.local.value)}·${factorText(t.tangent)}`),
        );
        lines.push(`    ${dotted(step.node)} = ${symbols} = ${numbers} = ${num(step.tangent)}`);
      }
      lines.push(`    so ${ratioText(out, pass.input)} = ${dotted(out)} = ${num(pass.derivative)}`);
    });
    lines.push(gradientLine(e.gradients.forward!));
  }

  const n = e.wrt.length;
  lines.push(
    '',
    title('Cost: ') +
      `reverse mode gives ${inputDerivativesText(n)} ` +
      'from one backward pass, run after the forward pass;',
    `      forward mode needs ${plural(n, 'one pass', `${n} passes, one per input`)}, ` +
      'but never has to wait for the end.',
  );
  return `${lines.join('\n')}\n`;
}
