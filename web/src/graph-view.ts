// The graph view: an expression, its inputs, and its graph laid out left to right (dagre),
// stepped through three ways: the forward pass (values), reverse mode (one backward pass) and
// forward mode (one pass per input). The words and numbers come from graph-model.ts, which
// reads them from the engine's explanation.

import dagre from '@dagrejs/dagre';
import {
  buildProgram,
  type Explanation,
  ExpressionError,
  explain,
  formatNumber,
  parseProgram,
  SEED_EXPRESSION,
  SEED_VALUES,
} from '../../src/browser.js';
import { h, svg, type View } from './dom.js';
import { type ExpressionGraph, type Frame, framesOf, graphOf, type Walk } from './graph-model.js';

/** The value a newly typed input starts with. */
const NEW_INPUT_VALUE = 1;

const WALKS: { walk: Walk; label: string; key: string }[] = [
  { walk: 'values', label: 'Forward pass', key: 'V' },
  { walk: 'reverse', label: 'Reverse mode', key: 'R' },
  { walk: 'forward', label: 'Forward mode', key: 'F' },
];

const FONT = {
  name: "600 15px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  text: "13px ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
};
const NAME_HEIGHT = 22;
const LINE_HEIGHT = 17;
const PAD = 10;

let measureContext: CanvasRenderingContext2D | null = null;
function textWidth(text: string, font: string): number {
  measureContext ??= document.createElement('canvas').getContext('2d')!;
  measureContext.font = font;
  return measureContext.measureText(text).width;
}

interface Walkthrough {
  graph: ExpressionGraph;
  explanation: Explanation;
}

interface Layout {
  width: number;
  height: number;
  nodes: Map<string, { x: number; y: number; width: number; height: number }>;
  edges: Map<string, { points: { x: number; y: number }[]; x: number; y: number }>;
}

/** Lays the graph out so every frame of the walk fits: sizes are the largest text each gets. */
function layout({ graph }: Walkthrough, frames: Frame[]): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 28, ranksep: 70, edgesep: 16, marginx: 12, marginy: 12 });
  for (const node of graph.nodes) {
    const lines = frames.map((f) => f.nodeText[node.id] ?? []);
    const widest = Math.max(
      textWidth(node.name, FONT.name),
      ...lines.flat().map((line) => textWidth(line, FONT.text)),
    );
    const tallest = Math.max(...lines.map((l) => l.length));
    g.setNode(node.id, {
      width: Math.ceil(widest) + 2 * PAD,
      height: NAME_HEIGHT + tallest * LINE_HEIGHT + PAD,
    });
  }
  for (const edge of graph.edges) {
    const labels = frames.map((f) => f.edgeText[edge.id]).filter((t) => t !== undefined);
    const width = labels.length ? Math.max(...labels.map((t) => textWidth(t, FONT.text))) + 8 : 0;
    g.setEdge(
      edge.from,
      edge.to,
      { width, height: labels.length ? LINE_HEIGHT + 4 : 0, labelpos: 'c' },
      edge.id,
    );
  }
  dagre.layout(g);
  const nodes = new Map(
    graph.nodes.map((n) => [n.id, g.node(n.id) as { x: number; y: number; width: number; height: number }]),
  );
  const edges = new Map(
    graph.edges.map((e) => {
      const label = g.edge({ v: e.from, w: e.to, name: e.id }) as {
        points: { x: number; y: number }[];
        x: number;
        y: number;
      };
      return [e.id, label];
    }),
  );
  const { width = 0, height = 0 } = g.graph();
  return { width, height, nodes, edges };
}

function renderGraph({ graph }: Walkthrough, frame: Frame, at: Layout): SVGSVGElement {
  const active = { nodes: new Set(frame.activeNodes), edges: new Set(frame.activeEdges) };
  const root = svg('svg', {
    viewBox: `0 0 ${at.width} ${at.height}`,
    role: 'img',
    'aria-label': `Computation graph: ${frame.caption}`,
    // Shrinks to fit, but not below 70%, where the text would get too small: then it scrolls.
    style: `width: 100%; max-width: ${at.width}px; min-width: ${Math.round(at.width * 0.7)}px`,
  });
  root.append(
    svg(
      'defs',
      {},
      ...['plain', 'active'].map((kind) =>
        svg(
          'marker',
          {
            id: `arrow-${kind}`,
            viewBox: '0 0 10 10',
            refX: 9,
            refY: 5,
            markerWidth: 7,
            markerHeight: 7,
            orient: 'auto',
          },
          svg('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrowhead ${kind}` }),
        ),
      ),
    ),
  );
  for (const edge of graph.edges) {
    const { points } = at.edges.get(edge.id)!;
    const kind = active.edges.has(edge.id) ? 'active' : 'plain';
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    root.append(
      svg('path', { d, class: `edge ${kind}`, 'marker-end': `url(#arrow-${kind})`, 'data-edge': edge.id }),
    );
  }
  for (const edge of graph.edges) {
    const text = frame.edgeText[edge.id];
    if (text === undefined) continue;
    const { x, y } = at.edges.get(edge.id)!;
    const width = textWidth(text, FONT.text) + 8;
    root.append(
      svg(
        'g',
        {
          class: `edge-label${active.edges.has(edge.id) ? ' active' : ''}`,
          transform: `translate(${x},${y})`,
          'data-edge': edge.id,
        },
        svg('rect', {
          class: 'label-box',
          x: -width / 2,
          y: -LINE_HEIGHT / 2 - 2,
          width,
          height: LINE_HEIGHT + 4,
          rx: 4,
        }),
        svg('text', { 'text-anchor': 'middle', 'dominant-baseline': 'central' }, text),
      ),
    );
  }
  for (const node of graph.nodes) {
    const box = at.nodes.get(node.id)!;
    const lines = frame.nodeText[node.id] ?? [];
    const text = svg('text', {});
    text.append(svg('tspan', { x: PAD, y: NAME_HEIGHT - 5, class: 'node-name' }, node.name));
    for (const [i, line] of lines.entries()) {
      text.append(svg('tspan', { x: PAD, y: NAME_HEIGHT + (i + 1) * LINE_HEIGHT - 4 }, line));
    }
    root.append(
      svg(
        'g',
        {
          class: `node ${node.role}${active.nodes.has(node.id) ? ' active' : ''}`,
          transform: `translate(${box.x - box.width / 2},${box.y - box.height / 2})`,
          'data-node': node.id,
        },
        svg('rect', { class: 'node-box', width: box.width, height: box.height, rx: 8 }),
        text,
      ),
    );
  }
  return root;
}

export function createGraphView(): View {
  const expression = h('input', {
    id: 'expression',
    type: 'text',
    value: SEED_EXPRESSION,
    spellcheck: 'false',
    autocomplete: 'off',
    'aria-describedby': 'expression-help',
  });
  const inputs = h('div', { class: 'inputs', role: 'group', 'aria-label': 'Input values' });
  const error = h('pre', { class: 'error', role: 'alert', hidden: true });
  const walkButtons = WALKS.map(({ walk, label, key }) =>
    h(
      'button',
      { type: 'button', 'data-walk': walk, 'aria-pressed': 'false', 'aria-keyshortcuts': key },
      label,
      h('kbd', {}, key),
    ),
  );
  const forwardInput = h('select', {
    'aria-label': 'Input that forward mode differentiates with respect to',
  });
  const back = h('button', { type: 'button', 'aria-keyshortcuts': 'ArrowLeft' }, '◀ Back');
  const next = h(
    'button',
    { type: 'button', class: 'primary', 'aria-keyshortcuts': 'ArrowRight Space' },
    'Step ▶',
  );
  const reset = h('button', { type: 'button', 'aria-keyshortcuts': 'Home' }, 'Reset');
  const all = h('button', { type: 'button', 'aria-keyshortcuts': 'End' }, 'Show all');
  const position = h('span', { class: 'position', 'aria-live': 'off' });
  const caption = h('p', { class: 'caption', 'aria-live': 'polite', id: 'graph-caption' });
  const canvas = h('div', { class: 'graph-canvas' });
  const passes = h('aside', { class: 'passes', 'aria-label': 'Passes each mode needs' });

  const element = h(
    'section',
    { class: 'view graph-view' },
    h(
      'div',
      { class: 'card expression-card' },
      h('div', { class: 'expression-row' }, h('label', { for: 'expression' }, 'Expression'), expression),
      h(
        'div',
        { class: 'inputs-row' },
        inputs,
        h(
          'p',
          { id: 'expression-help', class: 'help' },
          "Statements separated by ';', the last one the output; + - * / ^ and relu tanh sigmoid softplus exp log sqrt abs.",
        ),
      ),
      error,
    ),
    h(
      'div',
      { class: 'toolbar' },
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'What to step through' }, ...walkButtons),
      h('label', { class: 'inline' }, 'd/d', forwardInput),
      h('div', { class: 'stepper', role: 'group', 'aria-label': 'Steps' }, back, next, reset, all, position),
    ),
    caption,
    h('div', { class: 'graph-layout' }, canvas, passes),
  );

  const values = new Map<string, number>(Object.entries(SEED_VALUES));
  let current: Walkthrough | null = null;
  let walk: Walk = 'values';
  let frames: Frame[] = [];
  let frameLayout: Layout | null = null;
  let index = 0;
  /** The walks run to their end for the current expression and values: 'reverse', and inputs. */
  const completed = new Set<string>();

  function showError(err: unknown): void {
    if (!(err instanceof ExpressionError)) throw err;
    error.textContent = err.excerpt ? `${err.message}\n${err.excerpt}` : err.message;
    error.hidden = false;
    expression.setAttribute('aria-invalid', 'true');
  }

  function syncInputs(names: string[]): void {
    const present = [...inputs.querySelectorAll('input')].map((i) => i.name);
    if (present.join() === names.join()) return;
    inputs.replaceChildren(
      ...names.map((name) => {
        if (!values.has(name)) values.set(name, NEW_INPUT_VALUE);
        const field = h('input', {
          type: 'number',
          step: 'any',
          name,
          id: `input-${name}`,
          value: values.get(name)!,
          onInput: (event: Event) => {
            const value = (event.target as HTMLInputElement).valueAsNumber;
            if (Number.isFinite(value)) {
              values.set(name, value);
              rebuild(false);
            }
          },
        });
        return h('label', { class: 'input-value' }, name, field);
      }),
    );
  }

  /** Re-reads the expression and values; `fresh` starts the walk over (a new expression). */
  function rebuild(fresh: boolean): void {
    completed.clear();
    try {
      const program = parseProgram(expression.value);
      syncInputs(program.inputs);
      const bindings = Object.fromEntries(program.inputs.map((name) => [name, values.get(name)!]));
      const built = buildProgram(program, bindings);
      current = { graph: graphOf(built), explanation: explain(built) };
      error.hidden = true;
      expression.removeAttribute('aria-invalid');
    } catch (err) {
      showError(err);
      return;
    }
    const wrt = current.explanation.wrt;
    const chosen = forwardInput.value;
    forwardInput.replaceChildren(...wrt.map((name) => h('option', { value: name }, name)));
    forwardInput.value = wrt.includes(chosen) ? chosen : wrt[0];
    select(walk, fresh ? 0 : index);
  }

  function select(next: Walk, at = 0): void {
    if (!current) return;
    walk = next;
    frames = framesOf(current.graph, current.explanation, walk, forwardInput.value);
    frameLayout = layout(current, frames);
    show(Math.min(at, frames.length - 1));
  }

  function show(at: number): void {
    if (!current || !frameLayout) return;
    index = Math.max(0, Math.min(at, frames.length - 1));
    if (index === frames.length - 1)
      completed.add(walk === 'forward' ? `forward:${forwardInput.value}` : walk);
    const frame = frames[index];
    for (const button of walkButtons)
      button.setAttribute('aria-pressed', String(button.dataset.walk === walk));
    forwardInput.disabled = walk !== 'forward';
    back.disabled = index === 0;
    next.disabled = index === frames.length - 1;
    position.textContent = `step ${index + 1} of ${frames.length}`;
    caption.textContent = frame.caption;
    canvas.replaceChildren(renderGraph(current, frame, frameLayout));
    renderPasses(current.explanation);
  }

  function renderPasses(e: Explanation): void {
    const n = e.wrt.length;
    const reverseDone = completed.has('reverse');
    const forwardDone = e.wrt.filter((name) => completed.has(`forward:${name}`));
    const cell = (shown: boolean, value: number | undefined) =>
      h(
        'td',
        { class: shown ? 'number' : 'number pending' },
        shown && value !== undefined ? formatNumber(value) : '…',
      );
    passes.replaceChildren(
      h('h2', {}, `Passes for all ${n} input derivative${n === 1 ? '' : 's'}`),
      h(
        'dl',
        { class: 'pass-counts' },
        h('dt', {}, 'Reverse mode'),
        h(
          'dd',
          {},
          `1 forward pass for the values, then 1 backward pass gives all ${n}.`,
          h('strong', {}, ` Run: ${reverseDone ? 1 : 0} of 1.`),
        ),
        h('dt', {}, 'Forward mode'),
        h(
          'dd',
          {},
          `${n} pass${n === 1 ? '' : 'es'}, one per input, each carrying one tangent.`,
          h('strong', {}, ` Run: ${forwardDone.length} of ${n}.`),
        ),
      ),
      h(
        'table',
        { class: 'gradients' },
        h('caption', {}, `Derivatives of ${e.output}, filled in as each walk reaches its end`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, ''),
            h('th', { scope: 'col' }, 'reverse'),
            h('th', { scope: 'col' }, 'forward'),
          ),
        ),
        h(
          'tbody',
          {},
          ...e.wrt.map((name) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, `d${e.output}/d${name}`),
              cell(reverseDone, e.gradients.reverse?.[name]),
              cell(forwardDone.includes(name), e.gradients.forward?.[name]),
            ),
          ),
        ),
      ),
    );
  }

  let typing: ReturnType<typeof setTimeout> | undefined;
  expression.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => rebuild(true), 250);
  });
  for (const [i, button] of walkButtons.entries())
    button.addEventListener('click', () => select(WALKS[i].walk));
  forwardInput.addEventListener('change', () => select('forward'));
  back.addEventListener('click', () => show(index - 1));
  next.addEventListener('click', () => show(index + 1));
  reset.addEventListener('click', () => show(0));
  all.addEventListener('click', () => show(frames.length - 1));

  const cycleInput = () => {
    const options = [...forwardInput.options].map((o) => o.value);
    forwardInput.value = options[(options.indexOf(forwardInput.value) + 1) % options.length];
    select('forward');
  };
  const keys: Record<string, () => void> = {
    v: () => select('values'),
    r: () => select('reverse'),
    f: () => select('forward'),
    i: cycleInput,
    ArrowRight: () => show(index + 1),
    ' ': () => show(index + 1),
    ArrowLeft: () => show(index - 1),
    Home: () => show(0),
    End: () => show(frames.length - 1),
  };

  rebuild(true);
  return {
    id: 'graph',
    title: 'Graph',
    element,
    shortcuts: [
      ['V R F', 'forward pass, reverse mode, forward mode'],
      ['→ Space / ←', 'step / back'],
      ['Home / End', 'first / last step'],
      ['I', 'next input for forward mode'],
    ],
    onKey(event) {
      const action = keys[event.key.length === 1 ? event.key.toLowerCase() : event.key];
      action?.();
      return action !== undefined;
    },
    shown() {},
  };
}
