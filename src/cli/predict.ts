// `chainrule predict`: classifies a 28x28 grey PNG with a checkpoint.

import { normalizePixels } from '../data/loader.js';
import { DATASET_CLASSES, type DatasetName } from '../data/split.js';
import { ChainruleError } from '../errors.js';
import { readGreyPng, refuseInverted } from '../io/png.js';
import { inputShapeOf } from '../learn/models.js';
import { noGrad } from '../ops/dispatch.js';
import { Tensor } from '../tensor/tensor.js';
import { formatPercent, outputRule } from './progress.js';
import { backendOptions, helpFlag, parseFlags, printHelp, restoreFromFlags } from './shared.js';

const HELP = `usage: chainrule predict --checkpoint FILE IMAGE.png [IMAGE.png ...]

Classifies 28x28 grey images (a light digit on a dark background, as in MNIST; colour is
converted to grey).

  --checkpoint FILE      a checkpoint written by \`chainrule train --out DIR\`
  --json                 print the result as JSON
${backendOptions.help}
  -h, --help             this help

${outputRule()}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { checkpoint: { type: 'string' }, json: { type: 'boolean' }, ...backendOptions.flags, ...helpFlag },
    true,
  );
  if (values.help) return printHelp(HELP);
  if (!positionals.length && values.checkpoint) {
    throw new ChainruleError('predict needs at least one IMAGE.png to classify');
  }
  const { checkpoint, trainer } = await restoreFromFlags('predict', values);
  const { inputs } = trainer.architecture;
  const classes = DATASET_CLASSES[checkpoint.metadata.dataset as DatasetName] ?? DATASET_CLASSES.mnist;
  const results = positionals.map((path) => {
    const image = readGreyPng(path, inputs);
    refuseInverted(image, path);
    const x = new Tensor(normalizePixels(image.pixels, checkpoint.normalization), [
      1,
      ...inputShapeOf(trainer.architecture),
    ]);
    const probabilities = [...noGrad(() => trainer.probabilities(x)).data];
    const best = probabilities.indexOf(Math.max(...probabilities));
    return { image: path, prediction: classes[best], classIndex: best, probabilities };
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  }
  for (const r of results) {
    const ranked = r.probabilities
      .map((p, i) => [p, i] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 3)
      .map(([p, i]) => `${classes[i]} ${formatPercent(p)}`);
    process.stdout.write(`${r.image}: ${r.prediction}   (${ranked.join(', ')})\n`);
  }
  return 0;
}
