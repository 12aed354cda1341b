// The recurrent Forward-Forward net settling on one test image, in the network view: for each
// time step, each hidden layer's units as a small grid (the steps side by side, the chosen step
// larger), how much each step changed them (damping makes that shrink), and every label's
// goodness over the steps, the scored ones marked, so the winning label shows. The worker
// computes the settling (settling.ts); this only draws it.

import { RECURRENT_DAMPING } from '../../src/browser.js';
import { LOOKS } from './algorithms.js';
import { h, type Panel, svg } from './dom.js';
import { digitCanvas, imageOf, testSplitOnce } from './mnist.js';
import type { Settling } from './protocol.js';
import type { Session } from './sessions.js';
import { layerActivity, layerScale, relativeChanges, unitGrid, winner } from './settling.js';

/** Test images to pick from. */
const IMAGES = 100;
const STEP_MS = 700;
const IMAGE_ZOOM = 3;
const COLOR = LOOKS['ff-recurrent'].color;
/** Grid cells past a layer's last unit. */
const EMPTY = [238, 241, 245];

const hexRgb = (hex: string) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
const mix = (a: number[], b: number[], f: number) => a.map((v, i) => Math.round(v + (b[i] - v) * f));

const DARK = [40, 20, 10];
/** Activity 0..1 as a colour: white, the rule's colour at 0.6, near black at 1. */
const HEAT = (() => {
  const [white, middle, dark] = [[255, 255, 255], hexRgb(COLOR), DARK];
  return Array.from({ length: 256 }, (_, i) => {
    const f = i / 255;
    return f < 0.6 ? mix(white, middle, f / 0.6) : mix(middle, dark, (f - 0.6) / 0.4);
  });
})();

/** One layer's units at one step as a canvas of one pixel per unit (CSS scales it up). */
function unitsCanvas(units: Float32Array, scale: number, attrs: Record<string, string | number>) {
  const { cols, rows } = unitGrid(units.length);
  const canvas = h('canvas', { width: cols, height: rows, ...attrs });
  const context = canvas.getContext('2d');
  if (!context) return canvas;
  const image = new ImageData(cols, rows);
  for (let i = 0; i < cols * rows; i++) {
    const rgb = i < units.length ? HEAT[Math.round(255 * Math.min(1, units[i] / (scale || 1)))] : EMPTY;
    image.data.set([...rgb, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

const percent = (v: number) => `${Math.round(100 * v)}%`;
const tick = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
const isScored = (s: Settling, t: number) => t + 1 >= s.scored[0] && t + 1 <= s.scored[1];

/**
 * Every label's goodness against the step, over steps first..last (0-based): all of them from
 * zero, to show the settling, or the scored ones alone with the axis fitted to them, to show
 * the labels apart. The scored steps are shaded, the current step marked.
 */
function goodnessPlot(
  s: Settling,
  shown: number,
  step: number,
  [first, last]: readonly [number, number],
  fitted: boolean,
): SVGSVGElement {
  const [W, H, left, right, top, bottom] = [300, 170, 34, 18, 24, 28];
  const best = winner(s.scores);
  const seen = s.goodness.flatMap((g) => g.slice(first, last + 1));
  const [most, least] = [Math.max(...seen), fitted ? Math.min(...seen) : 0];
  const span = most - least || 1;
  const [lo, hi] = fitted ? [least - 0.05 * span, most + 0.05 * span] : [0, most || 1];
  const x = (t: number) => left + ((t - first) / (last - first || 1)) * (W - left - right);
  const y = (g: number) => H - bottom - ((g - lo) / (hi - lo)) * (H - top - bottom);
  const half = (W - left - right) / (last - first || 1) / 2;
  const [from, to] = [Math.max(first, s.scored[0] - 1), Math.min(last, s.scored[1] - 1)];
  const steps = `steps ${first + 1}-${last + 1}`;
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'settle-chart',
    'data-steps': steps,
    role: 'img',
    'aria-label': `Goodness of each of ${s.goodness.length} labels over ${steps}; steps ${s.scored[0]}-${s.scored[1]} are scored; label ${best} wins`,
  });
  root.append(
    svg('rect', {
      x: Math.max(left, x(from) - half),
      y: top,
      width: Math.min(W - right, x(to) + half) - Math.max(left, x(from) - half),
      height: H - top - bottom,
      class: 'scored-band',
    }),
    svg(
      'text',
      { x: left, y: top - 10, class: 'chart-title' },
      fitted ? 'Scored steps, zoomed in' : 'Goodness, every step',
    ),
    svg('line', { x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, class: 'axis' }),
    svg('text', { x: left - 4, y: top + 4, class: 'chart-text', 'text-anchor': 'end' }, tick(hi)),
    svg('text', { x: left - 4, y: H - bottom, class: 'chart-text', 'text-anchor': 'end' }, tick(lo)),
  );
  if (step >= first && step <= last)
    root.append(svg('line', { x1: x(step), x2: x(step), y1: top, y2: H - bottom, class: 'now' }));
  for (let t = first; t <= last; t++)
    root.append(
      svg('text', { x: x(t), y: H - 12, class: 'chart-text', 'text-anchor': 'middle' }, `${t + 1}`),
    );
  const kindOf = (label: number) => (label === best ? 'winner' : label === shown ? 'shown' : 'other');
  const rank = { other: 0, shown: 1, winner: 2 };
  // The winner and the label shown are drawn last, over the others.
  const order = s.goodness.map((_, label) => label).sort((a, b) => rank[kindOf(a)] - rank[kindOf(b)]);
  for (const label of order) {
    const g = s.goodness[label].slice(first, last + 1);
    const kind = kindOf(label);
    const points = g.map((v, i) => `${x(first + i).toFixed(1)},${y(v).toFixed(1)}`);
    root.append(
      svg(
        'path',
        { d: `M${points.join('L')}`, class: `curve ${kind}`, 'data-label': label },
        svg('title', {}, `label ${label}: score ${s.scores[label].toPrecision(4)}`),
      ),
    );
    if (step >= first && step <= last)
      root.append(
        svg('circle', {
          cx: x(step),
          cy: y(g[step - first]),
          r: kind === 'other' ? 2 : 3.5,
          class: `dot ${kind}`,
        }),
      );
    if (kind !== 'other')
      root.append(
        svg('text', { x: x(last) + 6, y: y(g.at(-1)!) + 4, class: `end-label ${kind}` }, String(label)),
      );
  }
  return root;
}

export function settlePanel(session: () => Session | undefined): Panel {
  const testSet = testSplitOnce(IMAGES);
  const picture = h('figure', { class: 'settle-image' });
  const imageField = h('input', {
    type: 'number',
    min: 0,
    max: IMAGES - 1,
    step: 1,
    value: 0,
    id: 'settle-image',
  });
  const nextImage = h('button', { type: 'button' }, 'Next image');
  const labels = h('div', {
    class: 'settle-labels',
    role: 'group',
    'aria-label': 'Label clamped at the top',
  });
  const verdict = h('p', { class: 'settle-verdict', 'aria-live': 'polite' });
  const back = h('button', { type: 'button', 'aria-label': 'Step back' }, '◀');
  const playButton = h('button', { type: 'button', class: 'settle-play' }, 'Play');
  const forward = h('button', { type: 'button', 'aria-label': 'Next step' }, '▶');
  const slider = h('input', { type: 'range', min: 1, max: 1, step: 1, value: 1, 'aria-label': 'Time step' });
  const stepText = h('output', { class: 'settle-step' });
  const now = h('div', { class: 'settle-now' });
  const chartBox = h('div', { class: 'settle-chart-box' });
  const strip = h('div', { class: 'settle-strip', role: 'group', 'aria-label': 'Every layer at every step' });
  const legend = h(
    'p',
    { class: 'help settle-legend' },
    h('span', {
      class: 'heat-scale',
      style: `background: linear-gradient(to right, #fff, ${COLOR} 60%, rgb(${DARK}))`,
    }),
    ' each cell is a unit, from 0 to the layer’s largest activity over every step and label; under it, how much the layer changed at that step.',
  );
  const status = h('p', { class: 'help settle-status', 'aria-live': 'polite' });
  const element = h(
    'section',
    { class: 'settle-panel', 'aria-label': 'How the recurrent net settles on a test image' },
    h('h3', {}, 'How the net settles on a test image'),
    h(
      'p',
      { class: 'help' },
      'The image is shown at every step, a label clamped above the top layer. Each layer starts at zero and moves ' +
        `${percent(1 - RECURRENT_DAMPING)} of the way to what its neighbours ask of it; damping keeps ${percent(RECURRENT_DAMPING)} ` +
        `of where it was (the paper’s ${RECURRENT_DAMPING} old + ${1 - RECURRENT_DAMPING} new), so each step changes it less. ` +
        'The label whose goodness (summed squared activity) is highest over the scored steps wins.',
    ),
    h(
      'div',
      { class: 'settle-head' },
      picture,
      h(
        'div',
        { class: 'settle-pick' },
        h(
          'div',
          { class: 'settle-image-row' },
          h('label', { for: 'settle-image' }, 'Test image'),
          imageField,
          nextImage,
        ),
        h('p', { class: 'help' }, 'Label clamped at the top:'),
        labels,
        verdict,
      ),
    ),
    h('div', { class: 'settle-time' }, back, playButton, forward, slider, stepText),
    h('div', { class: 'settle-body' }, now, chartBox),
    strip,
    legend,
    status,
  );

  let settling: Settling | null = null;
  /** The true label of the image settled on. */
  let truth = 0;
  /** The label whose activity is drawn; null: the winner's. */
  let chosen: number | null = null;
  /** The step shown (0-based); the last one until another is chosen. */
  let step = Infinity;
  let index = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  /** What the settling on screen was computed from, to ask again when the model moves on. */
  let settledFor: { info: Session['info']; evaluations: number; index: number } | null = null;
  let asking = false;

  const shownLabel = () => chosen ?? (settling ? winner(settling.scores) : 0);

  function draw(): void {
    for (const control of [back, playButton, forward, slider]) control.disabled = !settling;
    legend.hidden = !settling;
    if (!settling) {
      for (const part of [labels, now, chartBox, strip]) part.replaceChildren();
      verdict.textContent = stepText.value = '';
      return;
    }
    const s = settling;
    slider.max = String(s.steps);
    slider.value = String(step + 1);
    stepText.value = `Step ${step + 1} of ${s.steps}${isScored(s, step) ? ', scored' : ''}`;
    const label = shownLabel();
    const best = winner(s.scores);
    labels.replaceChildren(
      ...s.scores.map((_, c) =>
        h(
          'button',
          {
            type: 'button',
            class: `label-choice${c === best ? ' winner' : ''}`,
            'aria-pressed': String(c === label),
            title: `score ${s.scores[c].toPrecision(4)}`,
            onclick: () => {
              chosen = c;
              draw();
            },
          },
          String(c),
        ),
      ),
    );
    const runnerUp = winner(s.scores.map((v, c) => (c === best ? -Infinity : v)));
    verdict.textContent =
      `Goodness over steps ${s.scored[0]}–${s.scored[1]}: label ${best} wins with ${s.scores[best].toPrecision(4)}, ` +
      `then ${runnerUp} with ${s.scores[runnerUp].toPrecision(4)}: ${best === truth ? 'right' : 'wrong'}, the image is a ${truth}.`;
    const scales = s.widths.map((_, layer) => layerScale(s, layer));
    const changes = s.widths.map((_, layer) => relativeChanges(s, label, layer));
    now.replaceChildren(
      ...s.widths.map((width, layer) =>
        h(
          'figure',
          {},
          unitsCanvas(layerActivity(s, label, step, layer), scales[layer], {
            class: 'units',
            'data-layer': layer + 1,
            role: 'img',
            'aria-label': `layer ${layer + 1} at step ${step + 1}, label ${label} clamped`,
          }),
          h(
            'figcaption',
            {},
            `Layer ${layer + 1} (${width} units), step ${step + 1}: changed ${percent(changes[layer][step])}`,
          ),
        ),
      ),
    );
    chartBox.replaceChildren(
      goodnessPlot(s, label, step, [0, s.steps - 1], false),
      goodnessPlot(s, label, step, [s.scored[0] - 1, s.scored[1] - 1], true),
    );
    const header = Array.from({ length: s.steps }, (_, t) =>
      h(
        'span',
        { class: `step-head${isScored(s, t) ? ' scored' : ''}${t === step ? ' current' : ''}` },
        String(t + 1),
      ),
    );
    strip.style.setProperty('--steps', String(s.steps));
    strip.replaceChildren(
      h('span', { class: 'strip-corner' }, 'step'),
      ...header,
      ...s.widths.flatMap((_, layer) => [
        h('span', { class: 'strip-layer' }, `Layer ${layer + 1}`),
        ...Array.from({ length: s.steps }, (_, t) =>
          h(
            'span',
            {
              class: `strip-cell${isScored(s, t) ? ' scored' : ''}${t === step ? ' current' : ''}${t > step ? ' later' : ''}`,
            },
            unitsCanvas(layerActivity(s, label, t, layer), scales[layer], {
              'data-layer': layer + 1,
              'data-step': t + 1,
            }),
            h('span', { class: 'change' }, percent(changes[layer][t])),
          ),
        ),
      ]),
    );
  }

  function goTo(t: number): void {
    if (!settling) return;
    step = Math.max(0, Math.min(settling.steps - 1, t));
    draw();
  }

  function pause(): void {
    clearInterval(timer);
    timer = undefined;
    playButton.textContent = 'Play';
  }

  function play(): void {
    if (timer !== undefined) {
      pause();
      return;
    }
    if (!settling) return;
    if (step >= settling.steps - 1) goTo(0);
    playButton.textContent = 'Pause';
    timer = setInterval(() => {
      if (settling && step < settling.steps - 1) goTo(step + 1);
      else pause();
    }, STEP_MS);
  }

  async function showImage(): Promise<void> {
    try {
      const split = await testSet();
      const pixels = imageOf(split, index);
      picture.replaceChildren(
        digitCanvas(pixels, IMAGE_ZOOM, { 'aria-label': `test image ${index}, a ${split.labels[index]}` }),
        h('figcaption', {}, `test image ${index}: a ${split.labels[index]}`),
      );
    } catch (error) {
      picture.textContent = `Could not load the test images: ${(error as Error).message}`;
    }
  }

  /** Asks the worker to settle the image when the model or the image has changed since. */
  async function settle(): Promise<void> {
    const s = session();
    if (asking || !s?.hasModel || s.state === 'failed') return;
    const wanted = { info: s.info, evaluations: s.accuracy.length, index };
    if (
      settledFor?.info === wanted.info &&
      settledFor.evaluations === wanted.evaluations &&
      settledFor.index === index
    )
      return;
    asking = true;
    status.textContent = `Settling test image ${index}…`;
    try {
      const split = await testSet();
      const result = await s.settle(imageOf(split, wanted.index).slice());
      if (wanted.index !== settledFor?.index) chosen = null;
      settling = result;
      truth = split.labels[wanted.index];
      settledFor = wanted;
      step = Math.min(step, result.steps - 1);
      status.textContent =
        s.state === 'training' ? 'Training: this is redrawn at each of the run’s test evaluations.' : '';
      draw();
    } catch (error) {
      status.textContent = `Could not settle: ${(error as Error).message}`;
      settledFor = wanted;
    } finally {
      asking = false;
    }
    refresh();
  }

  function pick(i: number): void {
    index = ((i % IMAGES) + IMAGES) % IMAGES;
    imageField.value = String(index);
    void showImage();
    refresh();
  }

  function refresh(): void {
    if (!picture.childElementCount) void showImage();
    if (!session()?.hasModel) {
      settling = null;
      settledFor = null;
      pause();
      draw();
      status.textContent =
        'Train Recurrent Forward-Forward in the Train view (or load its checkpoint) to watch it settle on this image.';
      return;
    }
    void settle();
  }

  imageField.addEventListener('change', () => {
    const value = Number(imageField.value);
    if (Number.isInteger(value)) pick(value);
  });
  nextImage.addEventListener('click', () => pick(index + 1));
  back.addEventListener('click', () => {
    pause();
    goTo(step - 1);
  });
  forward.addEventListener('click', () => {
    pause();
    goTo(step + 1);
  });
  playButton.addEventListener('click', play);
  slider.addEventListener('input', () => {
    pause();
    goTo(Number(slider.value) - 1);
  });
  return { element, refresh };
}
