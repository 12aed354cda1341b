// The graph view: an expression, its inputs, and its graph (dagre: left to right, or top to
// bottom on a narrow screen), stepped through three ways: the forward pass (values), reverse
// mode (one backward pass, its arrows pointing back) and forward mode (one pass per input).
// The layout is made once per expression from the text of every step of every walk, so no node
// moves while a learner steps. The words and numbers come from graph-model.ts, which reads them
// from the engine's explanation.

import dagre from '@dagrejs/dagre';
import {
  type BuiltProgram,
  buildProgram,
  type Explanation,
  ExpressionError,
  explain,
  formatNumber,
  inputDerivativesText,
  parseProgram,
  SEED_EXPRESSION,
  SEED_VALUES,
} from '../../src/browser.js';
import { h, svg, type View } from './dom.js';
import {
  derivativeProgram,
  type ExpressionGraph,
  type Frame,
  framesOf,
  graphOf,
  type Walk,
} from './graph-model.js';

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
/** Below this width the graph is laid out top to bottom. */
const NARROW = 640;
/** The graph shrinks to fit its box, but not below this scale, where its text gets too small: then it scrolls. */
const MIN_SCALE = 0.75;
/** Each press of zoom in or out changes the scale by this factor, within these bounds. */
const ZOOM_STEP = 1.25;
const ZOOM_RANGE = [0.25, 2] as const;
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
  built: BuiltProgram;
  graph: ExpressionGraph;
  explanation: Explanation;
}

interface Layout {
  width: number;
  height: number;
  nodes: Map<string, { x: number; y: number; width: number; height: number }>;
  edges: Map<string, { points: { x: number; y: number }[]; x: number; y: number }>;
}

type Direction = 'LR' | 'TB';

/** Every frame of every walk: what the layout must leave room for. */
function everyFrame({ graph, explanation }: Walkthrough): Frame[] {
  return [
    ...framesOf(graph, explanation, 'values'),
    ...framesOf(graph, explanation, 'reverse'),
    ...explanation.wrt.flatMap((input) => framesOf(graph, explanation, 'forward', input)),
  ];
}

/** Lays the graph out so every frame fits: each node and label is as large as its largest text. */
function layout({ graph }: Walkthrough, frames: Frame[], rankdir: Direction): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  const gaps = rankdir === 'LR' ? { nodesep: 28, ranksep: 70 } : { nodesep: 16, ranksep: 44 };
  g.setGraph({ rankdir, ...gaps, edgesep: 16, marginx: 12, marginy: 12 });
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

/**
 * The graph for one frame. `backward` turns every arrow around: in the reverse pass the
 * derivatives flow from the output back to the inputs.
 */
function renderGraph(
  { graph }: Walkthrough,
  frame: Frame,
  at: Layout,
  options: { backward: boolean; scale: number },
): SVGSVGElement {
  const active = { nodes: new Set(frame.activeNodes), edges: new Set(frame.activeEdges) };
  const { scale } = options;
  const root = svg('svg', {
    viewBox: `0 0 ${at.width} ${at.height}`,
    role: 'img',
    'aria-label': `Computation graph: ${frame.caption}`,
    class: options.backward ? 'backward' : 'forward',
    width: Math.round(at.width * scale),
    height: Math.round(at.height * scale),
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
    const { points: along } = at.edges.get(edge.id)!;
    const points = options.backward ? [...along].reverse() : along;
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

/** The expression language names the CLI's --at flag; on this page the values are the fields above. */
function inPageTerms(message: string): string {
  return message
    .replace(/choose other values with --at/g, 'change the input values above')
    .replace(/ and bind it with --at \w+=<number>/g, '; it gets a value field above')
    .replace(/bind (it|them) with --at \S+/g, 'give $1 a value in the fields above');
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
  const zoomOut = h(
    'button',
    { type: 'button', class: 'zoom-button', 'aria-label': 'Zoom out', 'aria-keyshortcuts': '-' },
    '−',
  );
  const zoomFit = h(
    'button',
    { type: 'button', class: 'zoom-button', 'aria-label': 'Fit the whole graph', 'aria-keyshortcuts': '0' },
    'Fit',
  );
  const zoomIn = h(
    'button',
    { type: 'button', class: 'zoom-button', 'aria-label': 'Zoom in', 'aria-keyshortcuts': '+' },
    '+',
  );
  const position = h('span', { class: 'position', 'aria-live': 'off' });
  const derive = h(
    'button',
    {
      type: 'button',
      'aria-keyshortcuts': 'D',
      title: 'Show the reverse pass for this derivative as a graph',
    },
    'Differentiate again',
    h('kbd', {}, 'D'),
  );
  const derivedNote = h('p', { class: 'derived-note', hidden: true });
  const caption = h('p', { class: 'caption', 'aria-live': 'polite', id: 'graph-caption' });
  // Focusable, so that after Enter in a field the keys go to the walk (and the canvas scrolls by keyboard).
  const canvas = h('div', { class: 'graph-canvas', tabindex: '-1', 'aria-label': 'Computation graph' });
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
      derivedNote,
    ),
    h(
      'div',
      { class: 'toolbar' },
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'What to step through' }, ...walkButtons),
      h('label', { class: 'inline' }, 'd/d', forwardInput),
      derive,
      h('div', { class: 'stepper', role: 'group', 'aria-label': 'Steps' }, back, next, reset, all, position),
    ),
    caption,
    h(
      'div',
      { class: 'graph-layout' },
      h(
        'div',
        { class: 'graph-frame' },
        h('div', { class: 'zoom', role: 'group', 'aria-label': 'Zoom' }, zoomOut, zoomFit, zoomIn),
        canvas,
      ),
      passes,
    ),
  );

  const values = new Map<string, number>(Object.entries(SEED_VALUES));
  let current: Walkthrough | null = null;
  let walk: Walk = 'values';
  let frames: Frame[] = [];
  /** The layout of the current expression, made once for every frame of every walk. */
  let placed: { layout: Layout; direction: Direction } | null = null;
  let index = 0;
  /** The scale the user chose with the zoom buttons; null fits the graph to the width. */
  let zoom: number | null = null;
  /** The walks run to their end for the current expression and values: 'reverse', and inputs. */
  const completed = new Set<string>();

  /** An invalid expression: its message, and no trace of the graph it replaced. */
  function showError(err: unknown): void {
    if (!(err instanceof ExpressionError)) throw err;
    const message = inPageTerms(err.message);
    error.textContent = err.excerpt ? `${message}\n${err.excerpt}` : message;
    error.hidden = false;
    expression.setAttribute('aria-invalid', 'true');
    current = null;
    placed = null;
    frames = [];
    canvas.replaceChildren();
    passes.replaceChildren();
    caption.textContent = 'No graph: fix the expression above to see it.';
    position.textContent = '';
    for (const control of [back, next, reset, all, forwardInput, derive, ...walkButtons])
      control.disabled = true;
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
          onKeydown: leaveOnEnter,
        });
        return h('label', { class: 'input-value' }, name, field);
      }),
    );
  }

  /** Re-reads the expression and values; `fresh` starts the walk over (a new expression). */
  function rebuild(fresh: boolean): void {
    completed.clear();
    if (fresh) derivedNote.hidden = true;
    try {
      const program = parseProgram(expression.value);
      syncInputs(program.inputs);
      const bindings = Object.fromEntries(program.inputs.map((name) => [name, values.get(name)!]));
      const built = buildProgram(program, bindings);
      current = { built, graph: graphOf(built), explanation: explain(built) };
      error.hidden = true;
      expression.removeAttribute('aria-invalid');
    } catch (err) {
      showError(err);
      return;
    }
    for (const control of [derive, forwardInput, ...walkButtons]) control.disabled = false;
    placed = null;
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
    show(Math.min(at, frames.length - 1));
  }

  /** The layout for the canvas's width: made again only when the direction must change. */
  function placement(walkthrough: Walkthrough): Layout {
    const direction: Direction = canvas.clientWidth < NARROW ? 'TB' : 'LR';
    if (placed?.direction !== direction)
      placed = { layout: layout(walkthrough, everyFrame(walkthrough), direction), direction };
    return placed.layout;
  }

  function show(at: number): void {
    if (!current) return;
    index = Math.max(0, Math.min(at, frames.length - 1));
    if (index === frames.length - 1)
      completed.add(walk === 'forward' ? `forward:${forwardInput.value}` : walk);
    const frame = frames[index];
    for (const button of walkButtons)
      button.setAttribute('aria-pressed', String(button.dataset.walk === walk));
    back.disabled = index === 0;
    next.disabled = index === frames.length - 1;
    reset.disabled = false;
    all.disabled = false;
    position.textContent = `step ${index + 1} of ${frames.length}`;
    caption.textContent = frame.caption;
    const width = canvasWidth();
    const laidOut = placement(current);
    canvas.replaceChildren(
      renderGraph(current, frame, laidOut, { backward: walk === 'reverse', scale: scaleFor(width, laidOut) }),
    );
    renderPasses(current.explanation);
    revealActive(frame);
  }

  /** The canvas's inner width; before the view is on the page it has none, and the graph shows at full size. */
  function canvasWidth(): number {
    const style = getComputedStyle(canvas);
    const padding = (parseFloat(style.paddingLeft) || 0) + (parseFloat(style.paddingRight) || 0);
    return canvas.clientWidth ? canvas.clientWidth - padding : Infinity;
  }

  /** The user's zoom, else fit to the width, but no smaller than MIN_SCALE (then the canvas scrolls). */
  function scaleFor(width: number, at: Layout): number {
    return zoom ?? Math.max(MIN_SCALE, Math.min(1, width / at.width));
  }

  /** Scrolls the canvas (and the page, if need be) so the step's first active node is in view. */
  function revealActive(frame: Frame): void {
    const id = frame.activeNodes[0];
    if (id === undefined || element.hidden) return;
    canvas
      .querySelector(`[data-node="${CSS.escape(id)}"]`)
      ?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  /**
   * Replaces the expression by the reverse pass that computes d(output)/d(chosen input), as the
   * engine recorded it: its own reverse mode then gives the second derivatives.
   */
  function differentiateAgain(): void {
    if (!current) return;
    const input = forwardInput.value;
    const output = current.explanation.output;
    let program: string;
    try {
      program = derivativeProgram(current.built, input);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      caption.textContent = err.message;
      return;
    }
    const source = expression.value;
    clearTimeout(typing);
    expression.value = program;
    walk = 'values';
    rebuild(true);
    if (!current) return;
    const final = current.explanation.output;
    derivedNote.replaceChildren(
      `This is the reverse pass of ${source} that computes ${final} = d${output}/d${input}, recorded by the engine as a graph of its own (a bar marks an adjoint). Its reverse mode gives every second derivative d(${final})/d(·) = d²${output}/d${input}d(·) in one more backward pass: reverse over reverse.`,
      h(
        'button',
        {
          type: 'button',
          onClick: () => {
            expression.value = source;
            rebuild(true);
          },
        },
        'Back to the expression',
      ),
    );
    derivedNote.hidden = false;
  }

  /** Enter in a field applies it and hands the keys back to the walk, so R, F and Space work at once. */
  function leaveOnEnter(event: KeyboardEvent): void {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    if (event.target === expression) {
      clearTimeout(typing);
      rebuild(true);
    }
    canvas.focus({ preventScroll: true });
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
      h('h2', {}, `Passes for ${inputDerivativesText(n)}`),
      h(
        'dl',
        { class: 'pass-counts' },
        h('dt', {}, 'Reverse mode'),
        h(
          'dd',
          {},
          `1 forward pass for the values, then 1 backward pass gives ${inputDerivativesText(n)}.`,
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
  expression.addEventListener('keydown', leaveOnEnter);
  expression.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => rebuild(true), 250);
  });
  for (const [i, button] of walkButtons.entries())
    button.addEventListener('click', () => select(WALKS[i].walk));
  forwardInput.addEventListener('change', () => select('forward'));
  derive.addEventListener('click', differentiateAgain);
  const zoomBy = (factor: number) => {
    if (!placed) return;
    const current = zoom ?? scaleFor(canvasWidth(), placed.layout);
    zoom = Math.min(ZOOM_RANGE[1], Math.max(ZOOM_RANGE[0], current * factor));
    show(index);
  };
  const fitWhole = () => {
    if (!placed) return;
    zoom = Math.min(1, canvasWidth() / placed.layout.width);
    show(index);
  };
  zoomOut.addEventListener('click', () => zoomBy(1 / ZOOM_STEP));
  zoomIn.addEventListener('click', () => zoomBy(ZOOM_STEP));
  zoomFit.addEventListener('click', fitWhole);
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
    d: differentiateAgain,
    '-': () => zoomBy(1 / ZOOM_STEP),
    '+': () => zoomBy(ZOOM_STEP),
    '=': () => zoomBy(ZOOM_STEP),
    '0': fitWhole,
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

  // A turned phone or a resized window may call for the other direction, and a new fit.
  let shownWidth = 0;
  new ResizeObserver(() => {
    if (canvas.clientWidth === shownWidth) return;
    shownWidth = canvas.clientWidth;
    show(index);
  }).observe(canvas);

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
      ['D', 'differentiate again: the reverse pass as a graph'],
      ['− + 0', 'zoom out, in, fit the whole graph'],
    ],
    onKey(event) {
      const action = keys[event.key.length === 1 ? event.key.toLowerCase() : event.key];
      action?.();
      return action !== undefined;
    },
    shown() {
      show(index);
    },
  };
}
