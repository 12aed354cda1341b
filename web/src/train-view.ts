// The train view: pick learning rules and settings, train each in its own worker on MNIST,
// watch loss and test accuracy against time, stop, resume, download a checkpoint, or load
// one written by `chainrule train`.

import { decodeCheckpoint } from '../../src/browser.js';
import { ALGORITHM_NAMES, LOOKS } from './algorithms.js';
import { h, type View } from './dom.js';
import { loadMnist, loadTestSplit } from './mnist.js';
import type { TrainSettings } from './protocol.js';
import { runCard } from './run-cards.js';
import type { Lab, Session } from './sessions.js';
import { createTrainCharts } from './train-charts.js';
import { createTrainForm, SettingsError } from './train-form.js';

export function createTrainView(lab: Lab): View {
  const form = createTrainForm();
  const charts = createTrainCharts();
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
      ...form.elements,
      h('div', { class: 'actions' }, start, stopAll, resumeAll),
      status,
    ),
    runs,
    charts.element,
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

  async function startTraining(): Promise<void> {
    const chosen = form.chosen();
    if (!chosen.length) {
      status.textContent = 'Check at least one learning rule to train.';
      return;
    }
    let settings: TrainSettings[];
    try {
      settings = chosen.map((name) => form.read(name));
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
      const testExamples = form.testExamples();
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

  const cards = new Map<Session, ReturnType<typeof runCard>>();

  let scheduled = false;
  function render(): void {
    scheduled = false;
    const sessions = lab.all();
    for (const session of sessions) {
      if (!cards.has(session)) {
        const card = runCard(session, (s) => void download(s));
        cards.set(session, card);
        runs.append(card.element);
      }
      cards.get(session)!.update();
    }
    stopAll.disabled = !sessions.some((s) => s.state === 'training');
    resumeAll.disabled = !sessions.some((s) => s.state === 'stopped');
    charts.update(sessions);
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
      charts.resize();
    },
  };
}
