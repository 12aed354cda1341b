// The train view's run cards: one per learning rule that trains or was loaded, showing its
// state, progress and, for a loaded checkpoint, what the file holds.

import type { CheckpointMetadata } from '../../src/browser.js';
import { LOOKS } from './algorithms.js';
import { h, percent } from './dom.js';
import type { Session } from './sessions.js';

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

/** A run's card, built once and updated in place so focus stays on its buttons. */
export function runCard(
  session: Session,
  download: (session: Session) => void,
): { element: HTMLElement; update(): void } {
  const look = LOOKS[session.algorithm];
  const button = (label: string, action: () => void) =>
    h('button', { type: 'button', onClick: action, 'aria-label': `${label}: ${look.title}` }, label);
  const stop = button('Stop', () => session.stop());
  const resume = button('Resume', () => session.resume());
  const save = button('Download checkpoint', () => download(session));
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
