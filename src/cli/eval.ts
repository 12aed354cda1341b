// `chainrule eval`: a checkpoint's accuracy on a test set, per class, with the confusion matrix.

import { DATASET_CLASSES, type DatasetName } from '../data/split.js';
import { ChainruleError } from '../errors.js';
import { trainingData } from '../learn/data.js';
import { evaluate } from '../learn/loop.js';
import { inputShapeOf } from '../learn/models.js';
import { rule } from '../learn/registry.js';
import { checkChoice } from '../validate.js';
import { formatPercent, outputRule } from './progress.js';
import { backendOptions, helpFlag, openDataset, parseFlags, printHelp, restoreFromFlags } from './shared.js';

const HELP = `usage: chainrule eval --checkpoint FILE [options]

Reports a checkpoint's test accuracy, its accuracy on each class and the confusion matrix.

  --checkpoint FILE      a checkpoint written by \`chainrule train --out DIR\`
  --dataset NAME         mnist | fashion-mnist (default: the one it was trained on)
  --data-dir DIR         read the four IDX files from DIR instead
  --inference MODE       how the model scores the classes, where its rule has several
                         (ff: softmax, the head, or goodness, per label); default: its own
  --json                 print the result as JSON
${backendOptions.help}
  -h, --help             this help

${outputRule()}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    checkpoint: { type: 'string' },
    dataset: { type: 'string' },
    'data-dir': { type: 'string' },
    inference: { type: 'string' },
    json: { type: 'boolean' },
    ...backendOptions.flags,
    ...helpFlag,
  });
  if (values.help) return printHelp(HELP);
  const { checkpoint, trainer } = await restoreFromFlags('eval', values);
  const dataset = openDataset(values.dataset ?? checkpoint.metadata.dataset, values['data-dir']);
  const data = trainingData(dataset, {
    batchSize: 1000,
    seed: 0,
    normalization: checkpoint.normalization,
    inputShape: inputShapeOf(trainer.architecture),
  });
  const classes = DATASET_CLASSES[dataset.name as DatasetName];
  const modes = rule(trainer.algorithm).capabilities.inferenceModes;
  if (values.inference !== undefined && modes.length === 1) {
    throw new ChainruleError(
      `--inference: a ${trainer.algorithm} checkpoint scores one way only (${modes[0]}); drop --inference`,
    );
  }
  const inference =
    values.inference === undefined ? trainer.inference : checkChoice(values.inference, modes, '--inference');
  const { accuracy, confusion } = evaluate(
    { scores: (x) => trainer.scores(x, inference) },
    data.testBatches(),
    classes.length,
  );
  const perClass = confusion.map(
    (row, c) =>
      row[c] /
      Math.max(
        1,
        row.reduce((a, b) => a + b, 0),
      ),
  );
  if (values.json) {
    const result = {
      checkpoint: values.checkpoint,
      algorithm: trainer.algorithm,
      inference,
      dataset: dataset.name,
      examples: dataset.test.count,
      accuracy,
      perClass: Object.fromEntries(classes.map((name, i) => [name, perClass[i]])),
      confusion,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `${values.checkpoint}: ${trainer.describe()} trained by ${trainer.algorithm} (inference: ${inference})`,
    `test accuracy on ${dataset.name}: ${formatPercent(accuracy)} of ${dataset.test.count} examples`,
    '',
    'per class:',
    ...classes.map((name, i) => `  ${name.padEnd(12)} ${formatPercent(perClass[i]).padStart(7)}`),
    '',
    'confusion matrix (rows: true class, columns: predicted):',
    `       ${classes.map((_, j) => String(j).padStart(5)).join('')}`,
    ...confusion.map(
      (row, i) => `  ${String(i).padStart(3)}  ${row.map((v) => String(v).padStart(5)).join('')}`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
