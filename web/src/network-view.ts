// The network view: each learning rule's network as layer boxes, animated to show WHEN each
// layer can update during one step (network-model.ts), and the per-layer statistics that the
// running trainer reports with every step.

import {
  type Algorithm,
  type Architecture,
  createTrainer,
  DATASET_CLASSES,
  type LayerStats,
  type Normalization,
  rule,
  type Split,
} from '../../src/browser.js';
import { ALGORITHM_NAMES, LOOKS, PLAYGROUND_PRESET } from './algorithms.js';
import { h, type Panel, svg, type View } from './dom.js';
import {
  type FFThresholdSettings,
  goodnessSamples,
  histogram,
  labelledImage,
  layerThresholds,
  negativeLabel,
  readoutThreshold,
} from './ff-inputs.js';
import { digitCanvas, imageOf, testSplitOnce } from './mnist.js';
import { type LayerBox, layerBoxes, type Phase, stepPhases } from './network-model.js';
import type { Lab, Session } from './sessions.js';
import { settlePanel } from './settle-view.js';

const PHASE_MS = 550;
/** Inputs in [0, 1]: enough to build a trainer whose architecture is all that is read. */
const ARCHITECTURE_ONLY: Normalization = { kind: 'unit', mean: 0, std: 1 };
const MARK_TEXT = {
  forward: 'forward',
  tangent: 'value + tangent',
  loss: 'loss',
  backward: 'backward',
  update: 'updates',
  done: 'done',
};

const LESSONS: Record<Algorithm, string> = {
  bp: 'Backprop: no layer can update until the loss is known and the backward pass has come back down to it.',
  ff: 'Forward-Forward: every layer has a loss of its own, so each one can update right after its own forward step.',
  fg: 'Forward gradient: a tangent rides along with the forward pass; at the loss every layer can update, with no backward pass.',
  'fg-a':
    "Forward gradient on activities: tangents ride on each layer's pre-activations; at the loss every layer can update, with no backward pass.",
  'lg-bp':
    'Local losses: every block has a classifier of its own and a backward pass through itself only, so it updates right after its own forward step.',
  'lg-fg-w':
    'Local losses with forward gradients: each block perturbs its own weights and updates as soon as its own classifier has scored it.',
  'lg-fg-a':
    'Local losses with forward gradients on activities: each block updates as soon as its own classifiers have scored it; nothing crosses a block.',
  fa: 'Feedback alignment: the error still comes back down layer by layer, but through fixed random matrices, not the transposed weights.',
  dfa: 'Direct feedback alignment: the output error goes straight to every layer through fixed random matrices, so all layers update at once.',
  'ff-recurrent':
    'Recurrent Forward-Forward: each layer learns from its own goodness at each step, computed from its neighbours one step before, so nothing crosses a layer or a step.',
};

const format = (v: number | undefined) => (v === undefined ? '–' : v < 100 ? v.toPrecision(3) : v.toFixed(0));

function statsLine(stats: LayerStats): string {
  const parts = [
    stats.activationNorm !== undefined && `‖h‖ ${format(stats.activationNorm)}`,
    stats.gradientNorm !== undefined && `‖∇W‖ ${format(stats.gradientNorm)}`,
    stats.goodnessPositive !== undefined && `G⁺ ${format(stats.goodnessPositive)}`,
    stats.goodnessNegative !== undefined && `G⁻ ${format(stats.goodnessNegative)}`,
  ];
  return parts.filter(Boolean).join(' · ');
}

/** The latest statistics, one row per reporting layer, named by its box where it has one. */
function statsTable(layers: LayerStats[], title: string, boxes: LayerBox[]): HTMLElement {
  if (!layers.length) {
    return h(
      'p',
      { class: 'help' },
      'Per-layer statistics appear here while this learning rule trains, if its trainer reports them.',
    );
  }
  const columns: [keyof LayerStats, string][] = [
    ['activationNorm', 'activation norm'],
    ['gradientNorm', 'gradient norm'],
    ['goodnessPositive', 'goodness, positive'],
    ['goodnessNegative', 'goodness, negative'],
  ];
  const shown = columns.filter(([key]) => layers.some((l) => l[key] !== undefined));
  return h(
    'table',
    { class: 'stats' },
    h('caption', {}, `${title}: per-layer statistics of the latest step`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'layer'),
        ...shown.map(([, label]) => h('th', { scope: 'col' }, label)),
      ),
    ),
    h(
      'tbody',
      {},
      ...layers.map((l) => {
        const box = boxes.find((b) => b.stats === l.name);
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, box ? `${box.title} (${box.detail})` : l.name),
          ...shown.map(([key]) => h('td', { class: 'number' }, format(l[key] as number | undefined))),
        );
      }),
    ),
  );
}

const CLASSES = DATASET_CLASSES.mnist.length;
/** Test images whose goodness the histograms show. */
const MEASURED_IMAGES = 100;
const HISTOGRAM_BINS = 24;
const ZOOM = 5;

/**
 * FF's threshold settings: a loaded checkpoint's (its architecture and hyperparameters), else
 * the playground preset's (read from the rule's descriptor, not a trainer: this runs on every
 * refresh).
 */
function thresholdSettings(session: Session | undefined): FFThresholdSettings {
  const saved = session?.loaded?.metadata;
  const settings = saved
    ? { ...saved.hyperparameters, ...saved.architecture }
    : rule('ff').presets[PLAYGROUND_PRESET].config;
  return settings as unknown as FFThresholdSettings;
}

/** A 28x28 image drawn ZOOM times larger, the label pixels of its first row outlined. */
function labelledCanvas(pixels: Uint8Array, label: number, what: string): HTMLCanvasElement {
  const canvas = digitCanvas(pixels, ZOOM, { class: 'ff-input', 'aria-label': what });
  const context = canvas.getContext('2d');
  if (!context) return canvas;
  context.strokeStyle = LOOKS.ff.color;
  context.lineWidth = 2;
  context.strokeRect(1, 1, CLASSES * ZOOM - 2, ZOOM);
  context.fillStyle = LOOKS.ff.color;
  context.fillRect(label * ZOOM, 0, ZOOM, ZOOM);
  return canvas;
}

/** The first 10 pixels enlarged, one cell per digit, the label's lit. */
function labelStrip(label: number): HTMLElement {
  return h(
    'ol',
    { class: 'label-strip', 'aria-label': `the first ${CLASSES} pixels: only pixel ${label} is lit` },
    ...Array.from({ length: CLASSES }, (_, c) => h('li', { class: c === label ? 'lit' : '' }, String(c))),
  );
}

/** Positive and negative goodness as two overlaid histograms, with the readout threshold. */
function goodnessChart(positive: number[], negative: number[], theta: number): SVGSVGElement {
  const [W, H, pad] = [360, 150, 24];
  const all = [...positive, ...negative, theta];
  const [lo, hi] = [Math.min(...all), Math.max(...all)];
  const from = lo - 0.02 * (hi - lo);
  const to = hi + 0.02 * (hi - lo);
  const series = [
    { name: 'positive', values: positive, color: LOOKS.ff.color },
    { name: 'negative', values: negative, color: '#6b7280' },
  ].map((s) => ({ ...s, bins: histogram(s.values, HISTOGRAM_BINS, from, to) }));
  const top = Math.max(...series.flatMap((s) => s.bins.fractions));
  const x = (v: number) => pad + ((v - from) / (to - from)) * (W - 2 * pad);
  const y = (f: number) => H - pad - (f / top) * (H - 2 * pad);
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'goodness-chart',
    role: 'img',
    'aria-label': `Goodness of ${positive.length} test images with their true label and with each wrong label; threshold ${theta}`,
  });
  for (const s of series) {
    const { fractions, width } = s.bins;
    for (const [i, f] of fractions.entries()) {
      if (!f) continue;
      const left = x(from + i * width);
      root.append(
        svg('rect', {
          x: left,
          y: y(f),
          width: x(from + (i + 1) * width) - left - 1,
          height: H - pad - y(f),
          fill: s.color,
          'fill-opacity': 0.55,
          'data-series': s.name,
        }),
      );
    }
  }
  root.append(
    svg('line', { x1: pad, x2: W - pad, y1: H - pad, y2: H - pad, class: 'axis' }),
    svg('line', { x1: x(theta), x2: x(theta), y1: pad / 2, y2: H - pad, class: 'theta' }),
    svg('text', { x: x(theta) + 4, y: pad, class: 'chart-text' }, `θ sum = ${theta}`),
    svg('text', { x: pad, y: H - 6, class: 'chart-text' }, from.toPrecision(3)),
    svg('text', { x: W - pad, y: H - 6, class: 'chart-text', 'text-anchor': 'end' }, to.toPrecision(3)),
  );
  return root;
}

/**
 * Forward-Forward's data as its layers see it: a test image with the true label (positive) and
 * a wrong one (negative) in its first 10 pixels, each layer's θ, and, from a trained model, the
 * goodness of positive and negative data.
 */
function ffInputsPanel(session: () => Session | undefined): Panel {
  const images = h('div', { class: 'ff-inputs' });
  const another = h('button', { type: 'button' }, 'Another image');
  const thresholds = h('p', { class: 'help ff-theta' });
  const measure = h(
    'button',
    { type: 'button', class: 'measure' },
    `Measure goodness on ${MEASURED_IMAGES} test images`,
  );
  const chart = h('div', { class: 'goodness-box', 'aria-live': 'polite' });
  const element = h(
    'section',
    { class: 'ff-panel', 'aria-label': 'What Forward-Forward layers are shown' },
    h('h3', {}, 'What the layers are shown'),
    h(
      'p',
      { class: 'help' },
      'The label is written over the first 10 pixels (outlined): positive data carries the true label, negative data a wrong one. ' +
        'Each layer learns to make its goodness G (the mean of its squared activities) high for positive data and low for negative.',
    ),
    images,
    another,
    thresholds,
    measure,
    chart,
  );
  const testSet = testSplitOnce(MEASURED_IMAGES);
  let index = 0;

  async function showImages(): Promise<void> {
    let split: Split;
    try {
      split = await testSet();
    } catch (error) {
      images.textContent = `Could not load the test images: ${(error as Error).message}`;
      return;
    }
    const truth = split.labels[index];
    const wrong = negativeLabel(truth, index, CLASSES);
    const pixels = imageOf(split, index);
    const figure = (label: number, kind: string) =>
      h(
        'figure',
        { 'data-kind': kind },
        labelledCanvas(
          labelledImage(pixels, label, CLASSES),
          label,
          `${kind}: test image ${index} with label ${label}`,
        ),
        labelStrip(label),
        h('figcaption', {}, `${kind}: label ${label}${kind === 'positive' ? ' (true)' : ' (wrong)'}`),
      );
    images.replaceChildren(figure(truth, 'positive'), figure(wrong, 'negative'));
  }

  async function measureGoodness(): Promise<void> {
    const s = session();
    if (!s?.hasModel) return;
    measure.disabled = true;
    chart.textContent = 'Measuring…';
    try {
      const split = await testSet();
      const examples = [];
      for (let i = 0; i < split.count; i++) {
        const { goodness } = await s.predict(imageOf(split, i).slice());
        if (goodness) examples.push({ label: split.labels[i], goodness });
      }
      const { positive, negative } = goodnessSamples(examples);
      const theta = readoutThreshold(thresholdSettings(s));
      const mean = (v: number[]) => (v.reduce((a, b) => a + b, 0) / v.length).toPrecision(3);
      chart.replaceChildren(
        goodnessChart(positive, negative, theta),
        h(
          'p',
          { class: 'help' },
          h('span', { class: 'swatch', style: `background:${LOOKS.ff.color}` }),
          ` positive (true label): mean ${mean(positive)}  `,
          h('span', { class: 'swatch', style: 'background:#6b7280' }),
          ` negative (each wrong label): mean ${mean(negative)}. Goodness summed over the read-out layers, against the sum of their θ.`,
        ),
      );
    } catch (error) {
      chart.textContent = `Could not measure: ${(error as Error).message}`;
    } finally {
      refresh();
    }
  }

  function refresh(): void {
    const s = session();
    const settings = thresholdSettings(s);
    const thetas = layerThresholds(settings);
    thresholds.textContent =
      `θ per layer: ${thetas.join(', ')} (${settings.goodness} goodness); a layer calls its input positive with ` +
      'probability σ((G − θ)/T).';
    measure.disabled = !s?.hasModel || chart.textContent === 'Measuring…';
    measure.title = s?.hasModel ? '' : 'Train Forward-Forward in the Train view (or load a checkpoint) first';
    if (!images.childElementCount) void showImages();
  }

  another.addEventListener('click', () => {
    index = (index + 1) % MEASURED_IMAGES;
    void showImages();
  });
  measure.addEventListener('click', () => void measureGoodness());
  return { element, refresh };
}

/** What a rule's card shows beyond its step: what its layers are shown, or how its net settles. */
const PANELS: Partial<Record<Algorithm, (session: () => Session | undefined) => Panel>> = {
  ff: ffInputsPanel,
  'ff-recurrent': settlePanel,
};

interface NetworkCard {
  element: HTMLElement;
  /** Redraws boxes and statistics from the session (or the default architecture). */
  refresh(): void;
  play(): void;
}

function networkCard(name: Algorithm, session: () => Session | undefined): NetworkCard {
  const look = LOOKS[name];
  const title = h('h2', {}, h('span', { class: 'swatch', style: `background:${look.color}` }), look.title);
  const model = h('p', { class: 'model' });
  const row = h('ol', { class: 'layers', 'aria-label': `${look.title} network, input to output` });
  const caption = h('p', { class: 'phase', 'aria-live': 'polite' });
  const live = h('p', { class: 'live' });
  const playButton = h(
    'button',
    { type: 'button', class: 'play', 'aria-label': `Play one ${look.title} step` },
    'Play one step',
  );
  const stats = h('div', { class: 'stats-box' });
  const panel = PANELS[name]?.(session);
  const element = h(
    'article',
    { class: 'card network', 'data-algorithm': name },
    title,
    h('p', { class: 'lesson' }, LESSONS[name]),
    model,
    row,
    h('div', { class: 'phase-row' }, playButton, caption),
    live,
    stats,
    panel?.element,
  );

  let boxes: LayerBox[] = [];
  let phases: Phase[] = [];
  /** The model the boxes show; undefined until first drawn, null for the default architecture. */
  let drawnFor: Session['info'] | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let phase = -1;

  /** The architecture to draw: the session's model, else a fresh trainer with the default settings. */
  function architecture(): { model: string; architecture: Architecture } {
    const info = session()?.info;
    if (info) return info;
    const { hidden, lr } = look.defaults;
    const trainer = createTrainer(
      name,
      { hidden, lr },
      { preset: PLAYGROUND_PRESET, normalization: ARCHITECTURE_ONLY },
    );
    return { model: trainer.describe(), architecture: trainer.architecture };
  }

  function drawBoxes(): void {
    const info = session()?.info ?? null;
    if (drawnFor === info) return;
    const { model: text, architecture: a } = architecture();
    boxes = layerBoxes(a);
    phases = stepPhases(name, boxes);
    drawnFor = info;
    model.textContent = info ? text : `${text} (the Train view's defaults)`;
    row.replaceChildren(
      ...boxes.map((box) =>
        h(
          'li',
          { class: `layer${box.learns ? ' learns' : ''}` },
          h('span', { class: 'layer-title' }, box.title),
          h('span', { class: 'layer-detail' }, box.detail),
          h('span', { class: 'layer-stats' }),
          h('span', { class: 'layer-mark' }),
        ),
      ),
    );
    showPhase(phase);
  }

  function showPhase(index: number): void {
    const current = phases[index];
    [...row.children].forEach((li, i) => {
      const mark = current?.marks[i];
      li.className = `layer${boxes[i].learns ? ' learns' : ''}${mark ? ` ${mark}` : ''}`;
      li.querySelector('.layer-mark')!.textContent = mark ? MARK_TEXT[mark] : '';
    });
    caption.textContent = current
      ? current.caption
      : 'Press “Play one step”, or start training to watch every step.';
  }

  function refresh(): void {
    try {
      drawBoxes();
    } catch (error) {
      model.textContent = '';
      row.replaceChildren(
        h('li', { class: 'error' }, `Cannot draw this network: ${(error as Error).message}`),
      );
      boxes = [];
      return;
    }
    const s = session();
    const layers = s?.layers ?? [];
    const byName = new Map(layers.map((l) => [l.name, l]));
    [...row.children].forEach((li, i) => {
      const stats = boxes[i].stats && byName.get(boxes[i].stats!);
      li.querySelector('.layer-stats')!.textContent = stats ? statsLine(stats) : '';
    });
    const p = s?.progress;
    live.textContent =
      s?.state === 'training' && p
        ? `Training now: epoch ${p.epoch} of ${p.epochs}, step ${p.batch} of ${p.batches}.`
        : '';
    stats.replaceChildren(statsTable(layers, look.title, boxes));
    panel?.refresh();
    if (s?.state === 'training' && timer === undefined) play();
  }

  /** Steps through one training step's phases; keeps going while the run trains. */
  function play(): void {
    clearTimeout(timer);
    phase = 0;
    // A single step is read out; the endless loop of a live run would only chatter.
    caption.setAttribute('aria-live', session()?.state === 'training' ? 'off' : 'polite');
    const tick = () => {
      showPhase(phase);
      const more = phase < phases.length - 1 || session()?.state === 'training';
      if (!more) {
        timer = undefined;
        return;
      }
      phase = (phase + 1) % phases.length;
      timer = setTimeout(tick, PHASE_MS);
    };
    tick();
  }

  playButton.addEventListener('click', play);
  return { element, refresh, play };
}

export function createNetworkView(lab: Lab): View {
  const sessions = new Map<Algorithm, Session>();
  const cards = ALGORITHM_NAMES.map((name) => networkCard(name, () => sessions.get(name)));
  const element = h(
    'section',
    { class: 'view network-view' },
    h(
      'p',
      { class: 'intro' },
      `The same question, ${cards.length} answers: when may a layer change its weights? Watch one step of each learning rule, ` +
        'or train in the Train view and watch them live.',
    ),
    ...cards.map((c) => c.element),
  );
  let scheduled = false;
  const refresh = () => {
    scheduled = false;
    if (!element.hidden) for (const card of cards) card.refresh();
  };
  lab.listen((session) => {
    sessions.set(session.algorithm, session);
    if (!scheduled) requestAnimationFrame(refresh);
    scheduled = true;
  });
  return {
    id: 'network',
    title: 'Network',
    element,
    shortcuts: [['P', 'play one step of each']],
    onKey(event) {
      if (event.key.toLowerCase() !== 'p') return false;
      for (const card of cards) card.play();
      return true;
    },
    shown() {
      refresh();
    },
  };
}
