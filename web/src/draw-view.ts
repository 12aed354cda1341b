// The draw view: a digit drawn with mouse, finger or pen, made MNIST-like (mnist-image.ts), and
// every trained or loaded model's prediction; for Forward-Forward also the goodness of the
// image paired with each candidate label, the quantity it actually compares.

import { DATASET_CLASSES, type Split } from '../../src/browser.js';
import { LOOKS } from './algorithms.js';
import { decimalsToTell, h, percent, type View } from './dom.js';
import { loadTestSplit } from './mnist.js';
import { MNIST_TEST_COUNT } from './mnist-files.js';
import { MNIST_SIDE, toMnist } from './mnist-image.js';
import type { Lab, Prediction, Session } from './sessions.js';

const PAD = 280;
const STROKE = 22;
/** How often predictions refresh while a stroke is being drawn. */
const LIVE_EVERY_MS = 150;
const CLASSES = DATASET_CLASSES.mnist;

/** One bar per class; lengths run from `floor` (empty) to the largest value (full). */
function bars(values: number[], format: (v: number) => string, label: string, floor: number): HTMLElement {
  const top = Math.max(...values);
  const best = values.indexOf(top);
  const length = (v: number) => (top > floor ? (v - floor) / (top - floor) : 1);
  return h(
    'ul',
    { class: 'bars', 'aria-label': label },
    ...values.map((v, i) =>
      h(
        'li',
        { class: i === best ? 'best' : undefined },
        h('span', { class: 'bar-label' }, CLASSES[i]),
        h(
          'span',
          { class: 'bar-track' },
          h('span', { class: 'bar', style: `width:${(length(v) * 100).toFixed(1)}%` }),
        ),
        h('span', { class: 'bar-value' }, format(v)),
      ),
    ),
  );
}

function predictionCard(session: Session, prediction: Prediction): HTMLElement {
  const look = LOOKS[session.algorithm];
  const p = prediction.probabilities;
  const best = p.indexOf(Math.max(...p));
  const goodness = prediction.goodness;
  // Goodness differs little between labels; bars that start a little below the lowest show how.
  const goodnessFloor =
    goodness && Math.min(...goodness) - 0.25 * (Math.max(...goodness) - Math.min(...goodness));
  return h(
    'article',
    {
      class: 'card prediction',
      'data-algorithm': session.algorithm,
      'aria-label': `${look.title} prediction`,
      style: `--algo: ${look.color}`,
    },
    h('h3', {}, h('span', { class: 'swatch', style: `background:${look.color}` }), look.title),
    h(
      'p',
      { class: 'verdict' },
      'predicts ',
      h('strong', { class: 'digit' }, CLASSES[best]),
      ` with ${percent(p[best])}`,
    ),
    bars(p, (v) => percent(v), `${look.title}: probability of each digit`, 0),
    goodness &&
      h(
        'div',
        { class: 'goodness' },
        h('h4', {}, 'Goodness with each candidate label'),
        h(
          'p',
          { class: 'help' },
          'The image is shown with every label in turn; the label it fits makes the layers most active. ' +
            'The bars start just below the lowest goodness.',
        ),
        bars(
          goodness,
          (v) => v.toFixed(decimalsToTell(goodness)),
          `${look.title}: goodness of each candidate label`,
          goodnessFloor!,
        ),
      ),
  );
}

export function createDrawView(lab: Lab): View {
  const pad = h('canvas', {
    width: PAD,
    height: PAD,
    class: 'pad',
    role: 'img',
    'aria-label': 'Drawing pad: draw a digit with a mouse, a finger or a pen; or press R for a test digit',
  });
  const preview = h('canvas', {
    width: MNIST_SIDE,
    height: MNIST_SIDE,
    class: 'preview',
    role: 'img',
    'aria-label': 'The 28 by 28 image the models see',
  });
  const clear = h('button', { type: 'button', 'aria-keyshortcuts': 'E' }, 'Clear', h('kbd', {}, 'E'));
  const sample = h(
    'button',
    { type: 'button', 'aria-keyshortcuts': 'R' },
    'Random test digit',
    h('kbd', {}, 'R'),
  );
  const note = h('p', { class: 'help', 'aria-live': 'polite' });
  const predictions = h('div', { class: 'predictions', 'aria-live': 'polite' });
  const element = h(
    'section',
    { class: 'view draw-view' },
    h(
      'div',
      { class: 'card draw-card' },
      h('h2', {}, 'Draw a digit'),
      pad,
      h('div', { class: 'actions' }, clear, sample),
      h(
        'figure',
        { class: 'seen' },
        preview,
        h(
          'figcaption',
          {},
          'What the models see: the ink scaled into 20×20 and centred by mass in 28×28, as MNIST was made.',
        ),
      ),
      note,
    ),
    predictions,
  );

  const ink = pad.getContext('2d', { willReadFrequently: true })!;
  const seen = preview.getContext('2d')!;
  let image: Uint8Array | null = null;
  let generation = 0;

  function blank(): void {
    ink.fillStyle = '#000';
    ink.fillRect(0, 0, PAD, PAD);
    seen.fillStyle = '#000';
    seen.fillRect(0, 0, MNIST_SIDE, MNIST_SIDE);
  }

  function showImage(bytes: Uint8Array): void {
    const rgba = new ImageData(MNIST_SIDE, MNIST_SIDE);
    for (const [i, v] of bytes.entries()) rgba.data.set([v, v, v, 255], 4 * i);
    seen.putImageData(rgba, 0, 0);
  }

  async function predict(): Promise<void> {
    const models = lab.models();
    const mine = ++generation;
    if (!image) {
      predictions.replaceChildren(
        h('p', { class: 'card empty' }, 'Draw a digit on the pad to see what each model predicts.'),
      );
      return;
    }
    if (!models.length) {
      predictions.replaceChildren(
        h(
          'p',
          { class: 'card empty' },
          'No model yet: train one in the Train view (key 3) or load a checkpoint there.',
        ),
      );
      return;
    }
    const results = await Promise.allSettled(models.map((s) => s.predict(image!)));
    if (mine !== generation) return;
    predictions.replaceChildren(
      ...results.map((r, i) =>
        r.status === 'fulfilled'
          ? predictionCard(models[i], r.value)
          : h(
              'p',
              { class: 'card error' },
              `${LOOKS[models[i].algorithm].title}: ${(r.reason as Error).message}`,
            ),
      ),
    );
  }

  /** Reads the pad, refreshes the 28x28 image and the predictions. */
  function update(): void {
    const { data } = ink.getImageData(0, 0, PAD, PAD);
    const grey = new Uint8Array(PAD * PAD);
    for (let i = 0; i < grey.length; i++) grey[i] = data[4 * i];
    image = toMnist(grey, PAD, PAD);
    if (image) showImage(image);
    void predict();
  }

  let drawing = false;
  let lastUpdate = 0;
  const at = (event: PointerEvent) => {
    const box = pad.getBoundingClientRect();
    return [
      ((event.clientX - box.left) / box.width) * PAD,
      ((event.clientY - box.top) / box.height) * PAD,
    ] as const;
  };
  pad.addEventListener('pointerdown', (event) => {
    drawing = true;
    pad.setPointerCapture(event.pointerId);
    note.textContent = '';
    const [x, y] = at(event);
    ink.beginPath();
    ink.moveTo(x, y);
    ink.lineTo(x + 0.01, y);
    ink.stroke();
    event.preventDefault();
  });
  pad.addEventListener('pointermove', (event) => {
    if (!drawing) return;
    for (const e of event.getCoalescedEvents?.() ?? [event]) {
      const [x, y] = at(e);
      ink.lineTo(x, y);
    }
    ink.stroke();
    if (performance.now() - lastUpdate > LIVE_EVERY_MS) {
      lastUpdate = performance.now();
      update();
    }
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    update();
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);

  function erase(): void {
    blank();
    image = null;
    note.textContent = '';
    void predict();
  }

  let testSet: Promise<Split> | null = null;
  async function randomTestDigit(): Promise<void> {
    testSet ??= loadTestSplit(MNIST_TEST_COUNT, () => {});
    let test: Split;
    try {
      test = await testSet;
    } catch (error) {
      testSet = null;
      note.textContent = `Could not load the test set: ${(error as Error).message}`;
      return;
    }
    const index = Math.floor(Math.random() * test.count);
    const pixels = MNIST_SIDE * MNIST_SIDE;
    showImage(test.images.subarray(index * pixels, (index + 1) * pixels));
    ink.imageSmoothingEnabled = true;
    ink.drawImage(preview, 0, 0, PAD, PAD);
    note.textContent = `Test image ${index}, labelled ${CLASSES[test.labels[index]]}.`;
    update();
  }

  clear.addEventListener('click', erase);
  sample.addEventListener('click', () => void randomTestDigit());
  // A hidden view need not keep up: shown() predicts when it comes back.
  lab.listen((_session, message) => {
    if (element.hidden) return;
    if (message && ['stopped', 'loaded', 'evaluation'].includes(message.type)) void predict();
  });

  blank();
  ink.strokeStyle = '#fff';
  ink.lineWidth = STROKE;
  ink.lineCap = 'round';
  ink.lineJoin = 'round';
  void predict();

  return {
    id: 'draw',
    title: 'Draw',
    element,
    shortcuts: [
      ['E', 'clear the pad'],
      ['R', 'a random test digit'],
    ],
    onKey(event) {
      const key = event.key.toLowerCase();
      if (key === 'e' || event.key === 'Delete') erase();
      else if (key === 'r') void randomTestDigit();
      else return false;
      return true;
    },
    shown() {
      void predict();
    },
  };
}
