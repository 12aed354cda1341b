// The train view: pick learning rules and settings, train each in its own worker on MNIST,
// watch loss and test accuracy against time, stop, resume, download a checkpoint, or load
// one written by `chainrule train`.

import {
  CategoryScale,
  Chart,
  type ChartDataset,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
} from 'chart.js';
import { type Algorithm, type CheckpointMetadata, decodeCheckpoint } from '../../src/browser.js';
import { ALGORITHM_NAMES, LOOKS, SHARED_DEFAULTS } from './algorithms.js';
import { h, percent, type View } from './dom.js';
import { loadMnist, loadTestSplit } from './mnist.js';
import { MNIST_TEST_COUNT, MNIST_TRAIN_COUNT } from './mnist-files.js';
import type { TrainSettings } from './protocol.js';
import type { Lab, Session } from './sessions.js';

Chart.register(
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  CategoryScale,
  Legend,
  Tooltip,
);

class SettingsError extends Error {}

/** A number field's value, or a SettingsError naming the field and the range it takes. */
function readNumber(
  field: HTMLInputElement,
  label: string,
  rule: { integer: boolean; aboveMin?: boolean },
): number {
  const value = field.valueAsNumber;
  const min = Number(field.min);
  const max = field.max === '' ? Infinity : Number(field.max);
  const ok =
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.aboveMin ? value > min : value >= min) &&
    value <= max;
  if (!ok) {
    field.setAttribute('aria-invalid', 'true');
    const range = max === Infinity ? `${rule.aboveMin ? 'above' : 'from'} ${min}` : `from ${min} to ${max}`;
    throw new SettingsError(`${label}: enter ${rule.integer ? 'a whole number' : 'a number'} ${range}`);
  }
  field.removeAttribute('aria-invalid');
  return value;
}

function readWidths(field: HTMLInputElement, label: string, one: boolean): number[] {
  const widths = field.value.split(',').map((w) => Number(w.trim()));
  if (!widths.every((w) => Number.isInteger(w) && w >= 1 && w <= 4096) || (one && widths.length !== 1)) {
    field.setAttribute('aria-invalid', 'true');
    throw new SettingsError(
      one
        ? `${label}: enter one width from 1 to 4096`
        : `${label}: enter widths from 1 to 4096 separated by commas, e.g. 256, 256`,
    );
  }
  field.removeAttribute('aria-invalid');
  return widths;
}

const WHOLE = { integer: true };

const numberField = (name: string, value: number, attrs: Record<string, string | number>) =>
  h('input', { type: 'number', name, value, ...attrs });

const STATE_TEXT: Record<Session['state'], string> = {
  idle: 'not started',
  training: 'training',
  stopping: 'stopping…',
  stopped: 'stopped (can resume)',
  done: 'finished',
  loading: 'loading checkpoint…',
  loaded: 'loaded from a checkpoint',
  failed: 'failed',
};

function lineChart(
  canvas: HTMLCanvasElement,
  yTitle: string,
  yFormat: (v: number) => string,
  y: { type: 'linear' | 'logarithmic'; min?: number; max?: number },
) {
  return new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      parsing: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: { type: 'linear', min: 0, title: { display: true, text: 'seconds of training' } },
        y: {
          ...y,
          title: { display: true, text: yTitle },
          ticks: { callback: (v) => yFormat(Number(v)) },
        },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${yFormat(item.parsed.y ?? 0)}` } },
      },
    },
  });
}

export function createTrainView(lab: Lab): View {
  const rows = ALGORITHM_NAMES.map((name) => {
    const look = LOOKS[name];
    const d = look.defaults;
    const fields = {
      enabled: h('input', {
        type: 'checkbox',
        name: `train-${name}`,
        checked: name === 'bp',
        'aria-label': `Train ${look.title}`,
      }),
      epochs: numberField(`${name}-epochs`, d.epochs, {
        min: 1,
        max: 50,
        step: 1,
        'aria-label': `${look.title} epochs`,
      }),
      batchSize: numberField(`${name}-batch`, d.batchSize, {
        min: 1,
        max: 1000,
        step: 1,
        'aria-label': `${look.title} batch size`,
      }),
      lr: numberField(`${name}-lr`, d.lr, {
        min: 0,
        step: 'any',
        'aria-label': `${look.title} learning rate`,
      }),
      hidden: h('input', {
        type: 'text',
        name: `${name}-hidden`,
        value: d.hidden.join(', '),
        inputmode: 'numeric',
        'aria-label': `${look.title} hidden ${look.layers === 'one' ? 'width' : 'widths'}`,
      }),
    };
    const row = h(
      'tr',
      {},
      h('td', {}, fields.enabled),
      h(
        'th',
        { scope: 'row' },
        h('span', { class: 'swatch', style: `background:${look.color}` }),
        look.title,
        h('small', {}, look.summary),
      ),
      h('td', { 'data-label': 'Epochs' }, fields.epochs),
      h('td', { 'data-label': 'Batch' }, fields.batchSize),
      h('td', { 'data-label': 'Learning rate' }, fields.lr),
      h('td', { 'data-label': look.layers === 'one' ? 'Hidden width' : 'Hidden widths' }, fields.hidden),
    );
    return { name, look, fields, row };
  });
  const shared = {
    trainExamples: numberField('train-examples', SHARED_DEFAULTS.trainExamples, {
      min: 100,
      max: MNIST_TRAIN_COUNT,
      step: 100,
      id: 'train-examples',
    }),
    testExamples: numberField('test-examples', SHARED_DEFAULTS.testExamples, {
      min: 100,
      max: MNIST_TEST_COUNT,
      step: 100,
      id: 'test-examples',
    }),
    seed: numberField('seed', SHARED_DEFAULTS.seed, { min: 0, step: 1, id: 'seed' }),
  };
  const start = h(
    'button',
    { type: 'button', class: 'primary', 'aria-keyshortcuts': 'S' },
    'Start training',
    h('kbd', {}, 'S'),
  );
  const stopAll = h('button', { type: 'button', 'aria-keyshortcuts': 'X' }, 'Stop all', h('kbd', {}, 'X'));
  const resumeAll = h(
    'button',
    { type: 'button', 'aria-keyshortcuts': 'C' },
    'Resume all',
    h('kbd', {}, 'C'),
  );
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const runs = h('div', { class: 'runs', 'aria-label': 'Runs' });
  const lossCanvas = h('canvas', {
    role: 'img',
    'aria-label': 'Training loss against time, one line per learning rule',
  });
  const accuracyCanvas = h('canvas', {
    role: 'img',
    'aria-label': 'Test accuracy against time, one line per learning rule',
  });
  const fileInput = h('input', { type: 'file', accept: '.safetensors', id: 'checkpoint-file' });
  const loadInfo = h('div', { class: 'checkpoint-info', 'aria-live': 'polite' });

  const element = h(
    'section',
    { class: 'view train-view' },
    h(
      'div',
      { class: 'card' },
      h('h2', {}, 'Train on MNIST'),
      h(
        'p',
        { class: 'help' },
        'Each checked learning rule trains in its own worker, with the library itself. The defaults take well under a minute.',
      ),
      h(
        'table',
        { class: 'algorithms' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Train', 'Learning rule', 'Epochs', 'Batch', 'Learning rate', 'Hidden'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        h('tbody', {}, ...rows.map((r) => r.row)),
      ),
      h(
        'div',
        { class: 'shared-settings' },
        h('label', { for: 'train-examples' }, 'Training examples', shared.trainExamples),
        h('label', { for: 'test-examples' }, 'Test examples', shared.testExamples),
        h('label', { for: 'seed' }, 'Seed', shared.seed),
      ),
      h('div', { class: 'actions' }, start, stopAll, resumeAll),
      status,
    ),
    runs,
    h(
      'div',
      { class: 'charts' },
      h(
        'figure',
        { class: 'card chart' },
        h('figcaption', {}, 'Training loss', h('small', {}, ' (mean over the epoch so far)')),
        h('div', { class: 'chart-box' }, lossCanvas),
      ),
      h(
        'figure',
        { class: 'card chart' },
        h(
          'figcaption',
          {},
          'Test accuracy',
          h('small', {}, ` (${SHARED_DEFAULTS.evaluationsPerEpoch} evaluations per epoch)`),
        ),
        h('div', { class: 'chart-box' }, accuracyCanvas),
      ),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, 'Load a checkpoint'),
      h(
        'p',
        { class: 'help' },
        'A checkpoint.safetensors written by ',
        h('code', {}, 'chainrule train --out DIR'),
        ' or downloaded here. It is evaluated on the test examples and joins the Draw view.',
      ),
      h('label', { for: 'checkpoint-file', class: 'file' }, 'Checkpoint file', fileInput),
      loadInfo,
    ),
  );

  // Each learning rule has its own loss (Forward-Forward sums one per layer), so a log scale shows them all.
  const lossChart = lineChart(lossCanvas, 'loss (log scale)', (v) => String(Number(v.toPrecision(2))), {
    type: 'logarithmic',
  });
  const accuracyChart = lineChart(accuracyCanvas, 'test accuracy', (v) => percent(v, 0), {
    type: 'linear',
    max: 1,
  });

  function readSettings(name: Algorithm): TrainSettings {
    const row = rows.find((r) => r.name === name)!;
    const { title } = row.look;
    return {
      epochs: readNumber(row.fields.epochs, `${title} epochs`, WHOLE),
      batchSize: readNumber(row.fields.batchSize, `${title} batch size`, WHOLE),
      lr: readNumber(row.fields.lr, `${title} learning rate`, { integer: false, aboveMin: true }),
      hidden: readWidths(row.fields.hidden, `${title} hidden`, row.look.layers === 'one'),
      trainExamples: readNumber(shared.trainExamples, 'Training examples', WHOLE),
      testExamples: readNumber(shared.testExamples, 'Test examples', WHOLE),
      seed: readNumber(shared.seed, 'Seed', WHOLE),
      evaluationsPerEpoch: SHARED_DEFAULTS.evaluationsPerEpoch,
    };
  }

  async function startTraining(): Promise<void> {
    const chosen = rows.filter((r) => r.fields.enabled.checked).map((r) => r.name);
    if (!chosen.length) {
      status.textContent = 'Check at least one learning rule to train.';
      return;
    }
    let settings: TrainSettings[];
    try {
      settings = chosen.map(readSettings);
    } catch (error) {
      if (!(error instanceof SettingsError)) throw error;
      status.textContent = error.message;
      return;
    }
    start.disabled = true;
    try {
      const { trainExamples, testExamples } = settings[0];
      const data = await loadMnist(trainExamples, testExamples, (done, total) => {
        status.textContent = `Downloading MNIST: ${done} of ${total} files…`;
      });
      status.textContent = `Training on ${trainExamples.toLocaleString('en')} examples, testing on ${testExamples.toLocaleString('en')}.`;
      for (const [i, name] of chosen.entries()) lab.session(name).train(settings[i], data);
    } catch (error) {
      status.textContent = `Could not start: ${(error as Error).message}`;
    } finally {
      start.disabled = false;
    }
  }

  async function download(session: Session): Promise<void> {
    try {
      const bytes = await session.checkpoint();
      const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
      const link = h('a', { href: url, download: `chainrule-${session.algorithm}.safetensors` });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      status.textContent = `Could not save the ${LOOKS[session.algorithm].title} checkpoint: ${(error as Error).message}`;
    }
  }

  function metadataList(metadata: CheckpointMetadata, fileName: string): HTMLElement {
    const metrics = Object.entries(metadata.metrics)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k} ${k.includes('Accuracy') ? percent(v!, 2) : Number(v).toPrecision(4)}`)
      .join(', ');
    const run = metadata.run;
    const entries: [string, string][] = [
      ['file', fileName],
      ['learning rule', `${metadata.algorithm}: ${LOOKS[metadata.algorithm]?.title ?? metadata.algorithm}`],
      ['architecture', JSON.stringify(metadata.architecture)],
      ['dataset', metadata.dataset],
      ['trained', `${Number(metadata.epoch.toFixed(2))} epochs (${metadata.step} steps)`],
      [
        'run',
        `seed ${run.seed}, batch ${run.batchSize}, ${run.epochs} epochs${run.limit ? `, first ${run.limit} examples` : ''}`,
      ],
      [
        'normalization',
        `${metadata.normalization.kind} (mean ${metadata.normalization.mean.toFixed(4)}, std ${metadata.normalization.std.toFixed(4)})`,
      ],
      ['metrics', metrics || 'none'],
      ['hyper-parameters', JSON.stringify(metadata.hyperparameters)],
    ];
    return h('dl', { class: 'metadata' }, ...entries.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  }

  async function loadCheckpoint(file: File): Promise<void> {
    loadInfo.replaceChildren(h('p', {}, `Reading ${file.name}…`));
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const { metadata } = decodeCheckpoint(bytes, file.name);
      if (!ALGORITHM_NAMES.includes(metadata.algorithm))
        throw new Error(`unknown learning rule '${metadata.algorithm}'`);
      const session = lab.session(metadata.algorithm);
      if (session.busy)
        throw new Error(
          `${LOOKS[metadata.algorithm].title} is training: stop it before loading a checkpoint`,
        );
      const testExamples = readNumber(shared.testExamples, 'Test examples', WHOLE);
      const test = await loadTestSplit(testExamples, (done, total) => {
        loadInfo.replaceChildren(h('p', {}, `Downloading the test set: ${done} of ${total} files…`));
      });
      session.load(bytes, file.name, metadata, test);
      loadInfo.replaceChildren(
        h(
          'p',
          {},
          `${file.name} holds a ${LOOKS[metadata.algorithm].title} model: its run card shows what it contains and its test accuracy.`,
        ),
      );
    } catch (error) {
      loadInfo.replaceChildren(h('p', { class: 'error', role: 'alert' }, (error as Error).message));
    }
  }

  /** A run's card, built once and updated in place so focus stays on its buttons. */
  function runCard(session: Session): { element: HTMLElement; update(): void } {
    const look = LOOKS[session.algorithm];
    const button = (label: string, action: () => void) =>
      h('button', { type: 'button', onClick: action, 'aria-label': `${label}: ${look.title}` }, label);
    const stop = button('Stop', () => session.stop());
    const resume = button('Resume', () => session.resume());
    const save = button('Download checkpoint', () => void download(session));
    const model = h('p', { class: 'model' });
    const bar = h('progress', { max: 1, value: 0, 'aria-label': `${look.title} progress` });
    const facts = h('p', { class: 'facts' });
    const details = h('div', {});
    const element = h(
      'article',
      {
        class: 'card run',
        'data-algorithm': session.algorithm,
        'aria-label': `${look.title} run`,
        style: `--algo: ${look.color}`,
      },
      h('h3', {}, h('span', { class: 'swatch', style: `background:${look.color}` }), look.title),
      model,
      bar,
      facts,
      details,
      h('div', { class: 'actions' }, stop, resume, save),
    );
    let shownDetails: unknown = null;
    return {
      element,
      update() {
        const p = session.progress;
        const loss = session.loss.at(-1)?.value;
        const accuracy = session.lastAccuracy;
        element.dataset.state = session.state;
        element.dataset.accuracy = accuracy === null ? '' : String(accuracy);
        model.textContent = session.info?.model ?? '';
        bar.value = p
          ? ((p.epoch - 1) * p.batches + p.batch) / (p.epochs * p.batches)
          : session.state === 'loaded'
            ? 1
            : 0;
        facts.textContent = [
          STATE_TEXT[session.state],
          p && `epoch ${p.epoch} of ${p.epochs}, batch ${p.batch} of ${p.batches}`,
          p && `${Math.round(p.samplesPerSecond).toLocaleString('en')} examples/s`,
          loss !== undefined && `loss ${loss.toFixed(3)}`,
          accuracy !== null && `test accuracy ${percent(accuracy, 2)}`,
        ]
          .filter(Boolean)
          .join(' · ');
        const wanted = session.error ?? session.loaded;
        if (wanted !== shownDetails) {
          shownDetails = wanted;
          details.replaceChildren(
            session.loaded ? metadataList(session.loaded.metadata, session.loaded.fileName) : '',
            session.error ? h('p', { class: 'error', role: 'alert' }, session.error) : '',
          );
        }
        stop.disabled = session.state !== 'training';
        resume.disabled = session.state !== 'stopped';
        save.disabled = !session.hasModel || session.loaded !== null || session.busy;
      },
    };
  }
  const cards = new Map<Session, ReturnType<typeof runCard>>();

  const dataset = (
    session: Session,
    points: Session['loss'],
    dots: boolean,
  ): ChartDataset<'line', { x: number; y: number }[]> => {
    const look = LOOKS[session.algorithm];
    return {
      label: look.title,
      data: points.map((p) => ({ x: p.seconds, y: p.value })),
      borderColor: look.color,
      backgroundColor: look.color,
      borderWidth: 2,
      pointRadius: dots ? 3 : 0,
    };
  };

  let scheduled = false;
  function render(): void {
    scheduled = false;
    const sessions = lab.all();
    for (const session of sessions) {
      if (!cards.has(session)) {
        const card = runCard(session);
        cards.set(session, card);
        runs.append(card.element);
      }
      cards.get(session)!.update();
    }
    stopAll.disabled = !sessions.some((s) => s.state === 'training');
    resumeAll.disabled = !sessions.some((s) => s.state === 'stopped');
    const trained = sessions.filter((s) => !s.loaded);
    lossChart.data.datasets = trained.map((s) => dataset(s, s.loss, false));
    accuracyChart.data.datasets = trained.map((s) => dataset(s, s.accuracy, true));
    lossChart.update('none');
    accuracyChart.update('none');
    element.querySelector('.charts')!.classList.toggle('empty', trained.length === 0);
  }
  // At most one render a frame, and none while hidden: shown() renders when the view returns.
  lab.listen(() => {
    if (element.hidden || scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  });

  start.addEventListener('click', () => void startTraining());
  stopAll.addEventListener('click', () => {
    for (const s of lab.all()) s.stop();
  });
  resumeAll.addEventListener('click', () => {
    for (const s of lab.all()) s.resume();
  });
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    if (file) void loadCheckpoint(file);
    fileInput.value = '';
  });
  render();

  return {
    id: 'train',
    title: 'Train',
    element,
    shortcuts: [
      ['S', 'start training'],
      ['X', 'stop all'],
      ['C', 'resume all'],
    ],
    onKey(event) {
      const key = event.key.toLowerCase();
      if (key === 's') void startTraining();
      else if (key === 'x') stopAll.click();
      else if (key === 'c') resumeAll.click();
      else return false;
      return true;
    },
    shown() {
      render();
      lossChart.resize();
      accuracyChart.resize();
    },
  };
}
