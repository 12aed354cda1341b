// The small CNN of scripts/make-conv-fixtures.py, initialised and run by chainrule: its state
// dict, a batch and its logits go to test/fixtures/conv/chainrule-written.safetensors, which the
// Python script loads into torch.nn.Sequential to check that torch computes the same logits.
//
//   npx tsc -p . && node dist/scripts/write-conv-fixture.js

import { fileURLToPath } from 'node:url';
import {
  AvgPool2d,
  Conv2d,
  Flatten,
  Linear,
  MaxPool2d,
  noGrad,
  ReLU,
  Rng,
  randn,
  Sequential,
  saveSafetensors,
  Tanh,
  type Tensor,
} from '../src/index.js';

export const CHAINRULE_CONV_FIXTURE = fileURLToPath(
  new URL('../../test/fixtures/conv/chainrule-written.safetensors', import.meta.url),
);

/** The network of make-conv-fixtures.py's model(), layer for layer. */
export function parityNetwork(rng?: Rng, dtype: 'float32' | 'float64' = 'float32'): Sequential {
  return new Sequential(
    new Conv2d(1, 4, 3, { padding: 1, rng, dtype }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(4, 6, 3, { groups: 2, rng, dtype }),
    new Tanh(),
    new AvgPool2d(2),
    new Flatten(),
    new Linear(24, 5, { rng, dtype }),
  );
}

/** The file's tensors: a seeded network's state dict (under `model.`), a batch x and its logits. */
export function chainruleConvFixture(): Record<string, Tensor> {
  const rng = new Rng(12);
  const net = parityNetwork(rng);
  const x = randn([3, 1, 12, 12], { rng });
  const tensors: Record<string, Tensor> = { x, logits: noGrad(() => net.forward(x)) };
  for (const [name, t] of Object.entries(net.stateDict())) tensors[`model.${name}`] = t;
  return tensors;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  saveSafetensors(CHAINRULE_CONV_FIXTURE, chainruleConvFixture(), {});
  process.stdout.write(`wrote ${CHAINRULE_CONV_FIXTURE}\n`);
}
