// The train view's form: which learning rules to train and with what settings. Fields take
// their defaults from each rule's playground preset and are checked with the library's own
// vocabulary (one range per quantity), the same checks the CLI's flags get.

import { type Algorithm, parse, parseWidths, type Quantity, RANGES } from '../../src/browser.js';
import { ALGORITHM_NAMES, type AlgorithmLook, LOOKS, SHARED_DEFAULTS } from './algorithms.js';
import { h } from './dom.js';
import { MNIST_TEST_COUNT, MNIST_TRAIN_COUNT } from './mnist-files.js';
import type { TrainSettings } from './protocol.js';
import { SETTING_LABELS } from './protocol.js';

export class SettingsError extends Error {}

/** Marks `field` valid or not by what `read` makes of it; a library error becomes a SettingsError. */
function readField<T>(field: HTMLInputElement, read: () => T): T {
  try {
    const value = read();
    field.removeAttribute('aria-invalid');
    return value;
  } catch (error) {
    field.setAttribute('aria-invalid', 'true');
    throw new SettingsError((error as Error).message);
  }
}

/** A number field's value, checked against the quantity's range and at most `max`. */
function readNumber(field: HTMLInputElement, label: string, quantity: Quantity, max = Infinity): number {
  return readField(field, () => {
    const value = parse(quantity, field.value, label)!;
    if (value > max) throw new Error(`${label} must be at most ${max}, got ${value}`);
    return value;
  });
}

/** A number input whose hints (min, max) come from the quantity's range. */
function numberField(
  name: string,
  value: number,
  quantity: Quantity,
  attrs: Record<string, string | number>,
) {
  const range = RANGES[quantity];
  const limits = {
    ...(range.minOpen ? {} : { min: range.min }),
    ...(range.max === Infinity ? {} : { max: range.max }),
  };
  return h('input', { type: 'number', name, value, step: range.integer ? 1 : 'any', ...limits, ...attrs });
}

function ruleRow(name: Algorithm, look: AlgorithmLook) {
  const d = look.defaults;
  const fields = {
    enabled: h('input', {
      type: 'checkbox',
      name: `train-${name}`,
      checked: true,
      'aria-label': `Train ${look.title}`,
    }),
    epochs: numberField(`${name}-epochs`, d.epochs, 'epochs', { 'aria-label': `${look.title} epochs` }),
    batchSize: numberField(`${name}-batch`, d.batchSize, 'batchSize', {
      'aria-label': `${look.title} batch size`,
    }),
    lr: numberField(`${name}-lr`, d.lr, 'lr', { 'aria-label': `${look.title} learning rate` }),
    hidden: h('input', {
      type: 'text',
      name: `${name}-hidden`,
      value: d.hidden.join(', '),
      inputmode: 'numeric',
      'aria-label': `${look.title} hidden widths`,
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
    h('td', { 'data-label': 'Hidden widths' }, fields.hidden),
  );
  return { name, look, fields, row };
}

export function createTrainForm() {
  const rows = ALGORITHM_NAMES.map((name) => ruleRow(name, LOOKS[name]));
  const shared = {
    trainExamples: numberField('train-examples', SHARED_DEFAULTS.trainExamples, 'limit', {
      max: MNIST_TRAIN_COUNT,
      step: 100,
      id: 'train-examples',
    }),
    testExamples: numberField('test-examples', SHARED_DEFAULTS.testExamples, 'limit', {
      max: MNIST_TEST_COUNT,
      step: 100,
      id: 'test-examples',
    }),
    seed: numberField('seed', SHARED_DEFAULTS.seed, 'seed', { id: 'seed' }),
  };
  const table = h(
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
  );
  const sharedSettings = h(
    'div',
    { class: 'shared-settings' },
    h('label', { for: 'train-examples' }, 'Training examples', shared.trainExamples),
    h('label', { for: 'test-examples' }, 'Test examples', shared.testExamples),
    h('label', { for: 'seed' }, 'Seed', shared.seed),
  );

  const testExamples = () => readNumber(shared.testExamples, 'Test examples', 'limit', MNIST_TEST_COUNT);

  return {
    elements: [table, sharedSettings],
    /** The rules whose box is checked. */
    chosen: () => rows.filter((r) => r.fields.enabled.checked).map((r) => r.name),
    testExamples,
    /** One rule's settings, or a SettingsError naming the first bad field. */
    read(name: Algorithm): TrainSettings {
      const { fields, look } = rows.find((r) => r.name === name)!;
      const label = (field: string) => `${look.title} ${SETTING_LABELS[field]}`;
      return {
        epochs: readNumber(fields.epochs, label('epochs'), 'epochs'),
        batchSize: readNumber(fields.batchSize, label('batchSize'), 'batchSize'),
        lr: readNumber(fields.lr, label('lr'), 'lr'),
        hidden: readField(fields.hidden, () => parseWidths(fields.hidden.value, label('hidden'))!),
        trainExamples: readNumber(shared.trainExamples, 'Training examples', 'limit', MNIST_TRAIN_COUNT),
        testExamples: testExamples(),
        seed: readNumber(shared.seed, 'Seed', 'seed'),
        evaluationsPerEpoch: SHARED_DEFAULTS.evaluationsPerEpoch,
      };
    },
  };
}
