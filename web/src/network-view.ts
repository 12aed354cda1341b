// The network view: each learning rule's network as layer boxes, animated to show WHEN each
// layer can update during one step (network-model.ts), and the per-layer statistics that the
// running trainer reports with every step.

import {
  type Algorithm,
  type Architecture,
  createTrainer,
  type LayerStats,
  type Normalization,
} from '../../src/browser.js';
import { ALGORITHM_NAMES, LOOKS, PLAYGROUND_PRESET } from './algorithms.js';
import { h, type View } from './dom.js';
import { type LayerBox, layerBoxes, type Phase, stepPhases } from './network-model.js';
import type { Lab, Session } from './sessions.js';

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
      'The same question, three answers: when may a layer change its weights? Watch one step of each learning rule, ' +
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
