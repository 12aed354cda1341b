// Checkpoints of format 1, written before the rules shared one architecture union: each rule
// described its network its own way, kept the run's epochs and batch size among its
// hyperparameters, and Forward-Forward named its tensors outside the model's state dict.
// They are read by rewriting them into format 2, so runs saved then still evaluate, predict
// and resume; the result is checked like any other checkpoint.

import type { Tensor } from '../tensor/tensor.js';
import { checkRecord } from '../validate.js';

/** Settings format 1 kept in the hyperparameters that are now the architecture's or the run's. */
const MOVED = ['inputSize', 'epochs', 'batchSize'];

export function fromFormat1(
  metadata: Record<string, unknown>,
  tensors: Record<string, Tensor>,
  source: string,
): { metadata: Record<string, unknown>; tensors: Record<string, Tensor> } {
  const a = checkRecord(metadata.architecture, `${source}: architecture`);
  const given = checkRecord(metadata.hyperparameters, `${source}: hyperparameters`);
  const hyperparameters = Object.fromEntries(Object.entries(given).filter(([k]) => !MOVED.includes(k)));
  const inputs = a.inputs ?? a.inputSize;
  const upgraded = (architecture: object, renamed = tensors) => ({
    metadata: { ...metadata, version: 2, architecture, hyperparameters },
    tensors: renamed,
  });
  if (metadata.algorithm !== 'ff') {
    const { hidden, classes, batchNorm } = a;
    // The seed network ('seed-network', bp's) had no activation field: it was always tanh.
    return upgraded({ kind: 'mlp', inputs, hidden, classes, batchNorm, activation: a.activation ?? 'tanh' });
  }
  const renamed = Object.fromEntries(
    Object.entries(tensors).map(([name, t]) => {
      const peer = /^peer_means\.(\d+)$/.exec(name);
      if (peer) return [`model.layers.${peer[1]}.peer_mean`, t];
      return [/^(layers|head)\./.test(name) ? `model.${name}` : name, t];
    }),
  );
  const { hidden, classes, readoutFrom } = a;
  return upgraded({ kind: 'ff-stack', inputs, hidden, classes, readoutFrom }, renamed);
}
