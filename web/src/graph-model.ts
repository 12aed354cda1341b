// The graph view's content as plain data: the expression's nodes and edges (from the recorded
// program), and for each of the three walks (values, reverse mode, forward mode for one input)
// the frames a learner steps through. Every number comes from the engine's explanation model;
// this module only decides what to write where. Pure, so it is tested without a browser.

import {
  adjointProductText,
  type BuiltProgram,
  backward,
  barred,
  dotted,
  type Explanation,
  ExpressionError,
  factorText,
  formatNumber,
  inputDerivativesText,
  localDerivativeText,
  operandText,
  ratioText,
  type Tensor,
  tangentSumText,
  topologicalOrder,
  zeroGrad,
} from '../../src/browser.js';

export type NodeRole = 'input' | 'constant' | 'computed';

export interface GraphNode {
  id: string;
  /** What the node is called on screen: its name, or a literal's own text. */
  name: string;
  role: NodeRole;
}

/** An operand flowing into the value that uses it; `id` is `<to>:<slot>`. */
export interface GraphEdge {
  id: string;
  from: string;
  to: string;
  slot: number;
}

export interface ExpressionGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export type Walk = 'values' | 'reverse' | 'forward';

/** One step of a walk: the text on every node and edge, and what the step is about. */
export interface Frame {
  caption: string;
  nodeText: Record<string, string[]>;
  edgeText: Record<string, string>;
  activeNodes: string[];
  activeEdges: string[];
}

const edgeId = (to: string, slot: number) => `${to}:${slot}`;

/** The recorded program as a graph: inputs, named and literal constants, and computed values. */
export function graphOf(built: BuiltProgram): ExpressionGraph {
  const ids = new Map<Tensor, string>();
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const add = (t: Tensor, role: NodeRole, id = t.name!) => {
    ids.set(t, id);
    nodes.push({ id, name: t.name!, role });
  };
  for (const input of built.inputs) add(input, 'input');
  for (const evaluation of built.evaluations) {
    const to = evaluation.tensor.name!;
    evaluation.operands.forEach((operand, slot) => {
      // A literal such as the 2 in `2 * x` is named by its text, which may repeat.
      if (!ids.has(operand)) add(operand, 'constant', `literal ${nodes.length}`);
      edges.push({ id: edgeId(to, slot), from: ids.get(operand)!, to, slot });
    });
    add(evaluation.tensor, evaluation.operation === null ? 'constant' : 'computed');
  }
  return { nodes, edges };
}

const num = formatNumber;

function valueText(row: Explanation['values'][number]): string[] {
  return row.definition === null ? [`= ${num(row.value)}`] : [row.definition, `= ${num(row.value)}`];
}

function copy(frame: Frame, caption: string): Frame {
  return {
    caption,
    nodeText: Object.fromEntries(Object.entries(frame.nodeText).map(([k, v]) => [k, [...v]])),
    edgeText: { ...frame.edgeText },
    activeNodes: [],
    activeEdges: [],
  };
}

function valueFrames(graph: ExpressionGraph, e: Explanation): Frame[] {
  const rows = new Map(e.values.map((row) => [row.name, row]));
  const given = e.values.filter((row) => row.role !== 'computed');
  const first: Frame = {
    caption: `The inputs: ${given.map((row) => `${row.name} = ${num(row.value)}`).join(', ')}. Step forward to compute each value.`,
    nodeText: {},
    edgeText: {},
    activeNodes: given.map((row) => row.name),
    activeEdges: [],
  };
  for (const row of e.values)
    first.nodeText[row.name] = row.role === 'computed' ? [row.definition!, '= ?'] : valueText(row);
  const frames = [first];
  for (const row of e.values.filter((r) => r.role === 'computed')) {
    const frame = copy(
      frames.at(-1)!,
      `${row.name} = ${row.definition} = ${row.withValues} = ${num(row.value)}`,
    );
    frame.nodeText[row.name] = valueText(row);
    frame.activeNodes = [row.name];
    frame.activeEdges = graph.edges.filter((edge) => edge.to === row.name).map((edge) => edge.id);
    frames.push(frame);
  }
  const last = copy(frames.at(-1)!, `Forward pass done: ${e.output} = ${num(rows.get(e.output)!.value)}.`);
  last.activeNodes = [e.output];
  return [...frames, last];
}

function reverseFrames(graph: ExpressionGraph, e: Explanation, values: Frame): Frame[] {
  const out = e.output;
  // Each node's derivative lines, shown under its value lines.
  const derivatives = new Map<string, string[]>();
  const frames: Frame[] = [];
  const push = (caption: string, active: { nodes: string[]; edges?: string[] }, edge?: [string, string]) => {
    const frame = copy(frames.at(-1) ?? values, caption);
    for (const [node, lines] of derivatives) frame.nodeText[node] = [...values.nodeText[node], ...lines];
    if (edge) frame.edgeText[edge[0]] = edge[1];
    frame.activeNodes = active.nodes;
    frame.activeEdges = active.edges ?? [];
    frames.push(frame);
  };
  for (const step of e.reverse!.steps) {
    if (step.kind === 'seed') {
      derivatives.set(step.of, [`${barred(step.of)} = ${num(step.value)}`]);
      push(
        `Reverse mode starts at the output: ${barred(step.of)} = ${ratioText(out, step.of)} = ${num(step.value)}. ` +
          `A bar marks an adjoint: v̄ = ${ratioText(out, 'v')}, summed over v's uses as the pass runs back; ` +
          "∂ marks one operation's local derivative, written on its edge.",
        { nodes: [step.of] },
      );
    } else if (step.kind === 'product') {
      const symbols = adjointProductText(step, '·');
      const numbers = `${factorText(step.upstream)} · ${factorText(step.local.value)} = ${num(step.value)}`;
      const edge = edgeId(step.node, step.local.slot);
      const note = step.accumulates
        ? ` (${step.input} is used more than once: this is one contribution)`
        : '';
      derivatives.set(step.input, [...(derivatives.get(step.input) ?? []), symbols, `= ${numbers}`]);
      push(`${symbols} = ${numbers}${note}`, { nodes: [step.input], edges: [edge] }, [
        edge,
        localDerivativeText(step.local),
      ]);
    } else {
      const terms = step.terms.map((t, i) => (i ? factorText(t) : num(t))).join(' + ');
      derivatives.set(step.of, [`${barred(step.of)} = ${terms}`, `= ${num(step.value)}`]);
      push(`${barred(step.of)} = ${terms} = ${num(step.value)}: the contributions of every use add up.`, {
        nodes: [step.of],
        edges: graph.edges.filter((edge) => edge.from === step.of).map((edge) => edge.id),
      });
    }
  }
  const gradients = Object.entries(e.gradients.reverse!);
  push(
    `Done: one backward pass gave ${inputDerivativesText(gradients.length)}: ` +
      gradients.map(([name, g]) => `${ratioText(out, name)} = ${barred(name)} = ${num(g)}`).join(', '),
    { nodes: gradients.map(([name]) => name) },
  );
  return frames;
}

function forwardFrames(e: Explanation, values: Frame, input: string): Frame[] {
  const pass = e.forward!.passes.find((p) => p.input === input);
  if (!pass) throw new Error(`no forward-mode pass for '${input}'; the inputs are ${e.wrt.join(', ')}`);
  const seeds = Object.entries(pass.seeds);
  const seed = copy(
    values,
    `Forward mode for ${input}: seed ${dotted(input)} = d${input}/d${input} = 1 and every other input's tangent with 0. ` +
      `A dot marks a tangent: ẋ = dx/d${input}, carried beside each value.`,
  );
  for (const [name, t] of seeds) seed.nodeText[name].push(`${dotted(name)} = ${num(t)}`);
  seed.activeNodes = seeds.map(([name]) => name);
  const frames = [seed];
  for (const step of pass.steps) {
    const symbols = tangentSumText(
      step.node,
      step.terms.map((t) => t.input),
    );
    const numbers = step.terms
      .map((t) => `${factorText(t.local.value)}·${factorText(t.tangent)}`)
      .join(' + ');
    const frame = copy(
      frames.at(-1)!,
      `${dotted(step.node)} = ${symbols} = ${numbers} = ${num(step.tangent)}`,
    );
    frame.nodeText[step.node].push(
      `${dotted(step.node)} = ${symbols}`,
      `= ${numbers} = ${num(step.tangent)}`,
    );
    frame.activeNodes = [step.node];
    for (const term of step.terms) {
      const edge = edgeId(step.node, term.local.slot);
      frame.edgeText[edge] = localDerivativeText(term.local);
      frame.activeEdges.push(edge);
    }
    frames.push(frame);
  }
  const others = e.wrt.length - 1;
  const rest =
    others === 0
      ? ''
      : ` The other ${others} input${others === 1 ? '' : 's'} need${others === 1 ? 's' : ''} a pass each.`;
  const last = copy(
    frames.at(-1)!,
    `So ${ratioText(e.output, input)} = ${dotted(e.output)} = ${num(pass.derivative)}: one forward pass gave one derivative.${rest}`,
  );
  last.activeNodes = [e.output];
  return [...frames, last];
}

/** The frames of one walk; `input` picks forward mode's seeded input. */
export function framesOf(graph: ExpressionGraph, e: Explanation, walk: Walk, input = e.wrt[0]): Frame[] {
  const values = valueFrames(graph, e);
  if (walk === 'values') return values;
  const done = values.at(-1)!;
  return walk === 'reverse' ? reverseFrames(graph, e, done) : forwardFrames(e, done, input);
}

// ---- the reverse pass as a program of its own ----------------------------------------------

/** How each op the reverse pass of a small expression records is written in the expression language. */
const SYNTAX: Record<string, (operands: string[]) => string> = {
  add: ([a, b]) => `${a} + ${b}`,
  sub: ([a, b]) => `${a} - ${b}`,
  mul: ([a, b]) => `${a} * ${b}`,
  div: ([a, b]) => `${a} / ${b}`,
  pow: ([a, b]) => `${a}^${b}`,
  neg: ([a]) => `-${a}`,
  reciprocal: ([a]) => `1 / ${a}`,
  square: ([a]) => `${a}^2`,
  ...Object.fromEntries(
    ['relu', 'tanh', 'sigmoid', 'softplus', 'exp', 'log', 'sqrt', 'abs'].map((f) => [
      f,
      ([a]: string[]) => `${f}(${a})`,
    ]),
  ),
};
/** Ops whose derivative is 0 wherever it exists (relu's and abs's slopes): written as their value. */
const PIECEWISE_CONSTANT = new Set(['sign', 'step']);
/** The name of a recorded value that is neither a forward value nor an adjoint (u1, u2, ...). */
const INTERMEDIATE = 'u';

/**
 * The reverse pass that gives d(output)/d(`input`), recorded by the engine as a graph of its
 * own (backward with createGraph), written back as a program: the forward values it reuses,
 * the seed, every adjoint (ā) and intermediate product, and the result h_a = dh/da. Explained like any expression, its
 * reverse mode gives the second derivatives d²(output)/d(input)d(each input): reverse over
 * reverse, and its forward mode forward over reverse.
 */
export function derivativeProgram(built: BuiltProgram, input: string): string {
  const leaf = built.wrt.find((t) => t.name === input);
  if (!leaf)
    throw new Error(
      `'${input}' is not an input of the expression; the inputs are ${built.wrt.map((t) => t.name).join(', ')}`,
    );
  const names = new Map<Tensor, string>();
  for (const t of [...built.inputs, ...built.evaluations.map((e) => e.tensor)]) names.set(t, t.name!);
  const taken = new Set(names.values());
  /** Names `t` if it has no name yet: `wanted`, or (taken, or the intermediate 'u') numbered. */
  const name = (t: Tensor, wanted: string) => {
    if (names.has(t)) return;
    let chosen = wanted === INTERMEDIATE ? `${wanted}1` : wanted;
    for (let n = 2; taken.has(chosen); n++) chosen = `${wanted}${n}`;
    names.set(t, chosen);
    taken.add(chosen);
  };
  zeroGrad(built.wrt);
  backward(built.output, undefined, {
    createGraph: true,
    onStep: ({ out, outGrad }) => name(outGrad, barred(names.get(out) ?? INTERMEDIATE)),
  });
  const derivative = leaf.grad!;
  zeroGrad(built.wrt);
  if (!derivative.node) {
    throw new ExpressionError(
      `${ratioText(built.output.name!, input)} = ${formatNumber(derivative.item())} whatever the inputs, so every second derivative is 0: there is no graph to differentiate`,
    );
  }
  // Not x̄: in the new program's own reverse pass, x̄ will be the adjoint of the input x.
  name(derivative, `${names.get(built.output)}_${input}`);
  const statements: string[] = [];
  const operand = (t: Tensor) => names.get(t) ?? operandText(formatNumber(t.item()));
  const order = topologicalOrder(derivative);
  // The seed and any other named constant come first, as constants of the program.
  for (const t of new Set(order.flatMap((o) => o.node!.inputs))) {
    if (!t.node && names.has(t) && !built.inputs.includes(t))
      statements.push(`${names.get(t)} = ${formatNumber(t.item())}`);
  }
  for (const t of order) {
    name(t, INTERMEDIATE);
    const { op, inputs } = t.node!;
    const write = SYNTAX[op.name];
    if (write) statements.push(`${names.get(t)} = ${write(inputs.map(operand))}`);
    else if (PIECEWISE_CONSTANT.has(op.name)) statements.push(`${names.get(t)} = ${operand(t.detach())}`);
    else throw new Error(`the reverse pass uses ${op.name}, which the expression language cannot write`);
  }
  return statements.join('; ');
}
