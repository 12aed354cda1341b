// The chain rule, written out for a built program. Everything here is read from the engine's
// own records: values from the evaluated tensors, local derivatives from each node's op
// (`symbolic` for the formula, its VJP at cotangent 1 for the number), the reverse pass from
// backward()'s steps in the order it runs them, and the forward passes from each op's JVP
// applied node by node. Nothing re-derives the math.

import { backward, topologicalOrder, zeroGrad } from '../autodiff/reverse.js';
import { ChainruleError } from '../errors.js';
import { noGrad } from '../ops/index.js';
import type { Node } from '../tensor/node.js';
import { ones, type Tensor, tensor } from '../tensor/tensor.js';
import { type BuiltProgram, byName, byValue, describe, type Evaluation, operandText } from './build.js';
import { clipped, ExpressionError } from './error.js';

export type Mode = 'reverse' | 'forward' | 'both';

export interface ValueRow {
  name: string;
  role: 'input' | 'constant' | 'computed';
  /** How it was computed, by name and by value (`a * b`, `2 * 3`); null for inputs and constants. */
  definition: string | null;
  withValues: string | null;
  value: number;
}

/** d(of)/d(wrt) through one input slot of the node that computed `of`. */
export interface LocalDerivative {
  of: string;
  wrt: string;
  slot: number;
  /** True when the node takes `wrt` in more than one slot (as in x * x). */
  repeated: boolean;
  symbolic: string;
  value: number;
}

export type ReverseStep =
  /** The pass starts from d(output)/d(output) = 1. */
  | { kind: 'seed'; of: string; value: number }
  /** One chain-rule product: d(output)/d(input) via `node` = upstream * local. */
  | {
      kind: 'product';
      node: string;
      input: string;
      upstream: number;
      local: LocalDerivative;
      value: number;
      /** True when `input` is used more than once, so this is one of several contributions. */
      accumulates: boolean;
    }
  /** A value used more than once: its derivative is the sum of its contributions. */
  | { kind: 'sum'; of: string; terms: number[]; value: number };

export interface ForwardTerm {
  input: string;
  local: LocalDerivative;
  tangent: number;
  value: number;
}

export interface ForwardPass {
  /** The input this pass differentiates with respect to (its tangent is seeded with 1). */
  input: string;
  seeds: Record<string, number>;
  /** One per node, in evaluation order: its tangent as the sum of local derivative * tangent. */
  steps: { node: string; terms: ForwardTerm[]; tangent: number }[];
  derivative: number;
}

export interface Explanation {
  /** The program, one statement each (a bare final expression shown with its generated name). */
  statements: string[];
  output: string;
  inputs: Record<string, number>;
  wrt: string[];
  values: ValueRow[];
  localDerivatives: LocalDerivative[];
  reverse?: { steps: ReverseStep[] };
  forward?: { passes: ForwardPass[] };
  gradients: { reverse?: Record<string, number>; forward?: Record<string, number> };
}

/** Most forward-mode steps (passes times recorded nodes) one explanation writes out. */
export const MAX_FORWARD_STEPS = 20_000;

const one = () => ones([], { dtype: 'float64' });

function valueRows(built: BuiltProgram): ValueRow[] {
  const inputs = built.inputs.map(
    (t): ValueRow => ({
      name: byName(t),
      role: 'input',
      definition: null,
      withValues: null,
      value: t.item(),
    }),
  );
  const computed = built.evaluations.map(
    (e): ValueRow =>
      e.operation === null
        ? {
            name: byName(e.tensor),
            role: 'constant',
            definition: null,
            withValues: null,
            value: e.tensor.item(),
          }
        : {
            name: byName(e.tensor),
            role: 'computed',
            definition: describe(e, byName),
            withValues: describe(e, byValue),
            value: e.tensor.item(),
          },
  );
  return [...inputs, ...computed];
}

/** A name as it appears inside a derivative formula: negative literals in parentheses. */
const symbolOf = (t: Tensor) => operandText(byName(t));

function localDerivatives(
  built: BuiltProgram,
  recorded: Evaluation[],
): Map<Node, (LocalDerivative | null)[]> {
  const locals = new Map<Node, (LocalDerivative | null)[]>();
  noGrad(() => {
    for (const { tensor: out, statement, at } of recorded) {
      const node = out.node!;
      const ctx = { inputs: node.inputs, out, attrs: node.attrs };
      if (!node.op.symbolic)
        throw new ChainruleError(`internal: op ${node.op.name} has no symbolic derivative`);
      const formulas = node.op.symbolic(node.inputs.map(symbolOf), symbolOf(out));
      const pullbacks = node.op.vjp(one(), ctx);
      const row = node.inputs.map((input, slot): LocalDerivative | null => {
        if (!input.tracksGrad) return null;
        const local = {
          of: byName(out),
          wrt: byName(input),
          slot,
          repeated: node.inputs.filter((x) => x === input).length > 1,
          symbolic: formulas[slot],
          value: pullbacks[slot]!().item(),
        };
        if (!Number.isFinite(local.value)) {
          throw new ExpressionError(
            `the local derivative d${local.of}/d${local.wrt} = ${local.symbolic} is ${local.value} here ` +
              `(in '${clipped(statement.text, 60)}'): the expression is not differentiable at this point; choose other values with --at`,
            { source: built.program.source, ...at },
          );
        }
        return local;
      });
      locals.set(node, row);
    }
  });
  return locals;
}

function reversePass(
  built: BuiltProgram,
  locals: Map<Node, (LocalDerivative | null)[]>,
): { steps: ReverseStep[]; gradients: Record<string, number> } {
  const { output } = built;
  const uses = new Map<Tensor, number>();
  for (const t of topologicalOrder(output)) {
    for (const input of t.node!.inputs) if (input.tracksGrad) uses.set(input, (uses.get(input) ?? 0) + 1);
  }
  const received = new Map<Tensor, number[]>();
  const steps: ReverseStep[] = [{ kind: 'seed', of: byName(output), value: 1 }];
  const sumOf = (t: Tensor, total: Tensor | null) => {
    const terms = received.get(t) ?? [];
    if (terms.length > 1) steps.push({ kind: 'sum', of: byName(t), terms, value: total!.item() });
  };
  zeroGrad(built.wrt);
  backward(output, undefined, {
    retainGraph: true,
    onStep: ({ node, out, outGrad, inputGrads }) => {
      sumOf(out, outGrad);
      inputGrads.forEach((g, slot) => {
        if (!g) return;
        const input = node.inputs[slot];
        const value = g.item();
        steps.push({
          kind: 'product',
          node: byName(out),
          input: byName(input),
          upstream: outGrad.item(),
          local: locals.get(node)![slot]!,
          value,
          accumulates: uses.get(input)! > 1,
        });
        received.set(input, [...(received.get(input) ?? []), value]);
      });
    },
  });
  for (const leaf of built.wrt) sumOf(leaf, leaf.grad);
  const gradients = Object.fromEntries(built.wrt.map((leaf) => [byName(leaf), leaf.grad?.item() ?? 0]));
  return { steps, gradients };
}

function forwardPasses(
  built: BuiltProgram,
  recorded: Evaluation[],
  locals: Map<Node, (LocalDerivative | null)[]>,
): ForwardPass[] {
  return noGrad(() =>
    built.wrt.map((seeded): ForwardPass => {
      const tangents = new Map<Tensor, Tensor>(
        built.wrt.map((leaf) => [leaf, tensor(leaf === seeded ? 1 : 0, { dtype: 'float64' })]),
      );
      const steps = recorded.map(({ tensor: out }) => {
        const node = out.node!;
        const pushforwards = node.op.jvp({ inputs: node.inputs, out, attrs: node.attrs });
        const terms: ForwardTerm[] = [];
        let sum: Tensor | null = null;
        node.inputs.forEach((input, slot) => {
          const tangent = tangents.get(input);
          if (!tangent) return;
          const term = pushforwards[slot]!(tangent);
          sum = sum ? sum.add(term) : term;
          terms.push({
            input: byName(input),
            local: locals.get(node)![slot]!,
            tangent: tangent.item(),
            value: term.item(),
          });
        });
        tangents.set(out, sum!);
        return { node: byName(out), terms, tangent: sum!.item() };
      });
      return {
        input: byName(seeded),
        seeds: Object.fromEntries(built.wrt.map((leaf) => [byName(leaf), tangents.get(leaf)!.item()])),
        steps,
        derivative: tangents.get(built.output)!.item(),
      };
    }),
  );
}

/** The whole story of differentiating `built` at its bound values, in one or both modes. */
export function explain(built: BuiltProgram, mode: Mode = 'both'): Explanation {
  const wrt = built.wrt.map(byName);
  if (!built.output.node) {
    throw new ExpressionError(
      `the output ${byName(built.output)} does not depend on ${wrt.join(', ')}, so there is nothing to differentiate`,
    );
  }
  const recorded = built.evaluations.filter((e) => e.tensor.node);
  const forwardSteps = mode === 'reverse' ? 0 : wrt.length * recorded.length;
  if (forwardSteps > MAX_FORWARD_STEPS) {
    throw new ExpressionError(
      `forward mode would write ${wrt.length} passes of ${recorded.length} steps each (${forwardSteps} steps, ` +
        `more than the ${MAX_FORWARD_STEPS} explain writes out); use reverse mode alone, or differentiate ` +
        'with respect to fewer inputs',
    );
  }
  const locals = localDerivatives(built, recorded);
  const reverse = mode === 'forward' ? undefined : reversePass(built, locals);
  const forward = mode === 'reverse' ? undefined : forwardPasses(built, recorded, locals);
  return {
    statements: built.program.statements.map((s) => (s.assigned ? s.text : `${s.name} = ${s.text}`)),
    output: byName(built.output),
    inputs: Object.fromEntries(built.inputs.map((t) => [byName(t), t.item()])),
    wrt,
    values: valueRows(built),
    localDerivatives: [...locals.values()].flat().filter((l) => l !== null),
    reverse: reverse && { steps: reverse.steps },
    forward: forward && { passes: forward },
    gradients: {
      reverse: reverse?.gradients,
      forward: forward && Object.fromEntries(forward.map((p) => [p.input, p.derivative])),
    },
  };
}
