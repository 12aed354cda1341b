// The tensors chainrule writes into test/fixtures/safetensors/chainrule-written.safetensors, which
// scripts/make-safetensors-fixtures.py reads back with PyTorch. test/safetensors.test.ts checks
// that encoding these tensors still gives that file byte for byte. Regenerate with
//
//   npx tsc -p . && node dist/scripts/write-safetensors-fixture.js
//
// and then run the Python script to check the new file against torch.

import { fileURLToPath } from 'node:url';
import { saveSafetensors, type Tensor, tensor } from '../src/index.js';

export const CHAINRULE_FIXTURE_PATH = fileURLToPath(
  new URL('../../test/fixtures/safetensors/chainrule-written.safetensors', import.meta.url),
);

/** Mirrors expected_chainrule_tensors() in make-safetensors-fixtures.py. */
export function chainruleFixture(): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const weights = Array.from({ length: 12 }, (_, i) => i * 0.1 - 0.55);
  return {
    tensors: {
      'dense.weight': tensor(new Float32Array(weights), { shape: [3, 4] }),
      'dense.bias': tensor(new Float64Array([Math.PI, -Math.E, 1e-300, 1 / 3])),
      labels: tensor(new Int32Array([0, -1, 2147483647, -2147483648, 7])),
      scale: tensor(new Float32Array([0.5]), { shape: [] }),
      empty: tensor(new Float32Array(0), { shape: [0, 3] }),
    },
    metadata: {
      chainrule: JSON.stringify({
        format: 1,
        normalization: { kind: 'standardize', mean: 0.1307, std: 0.3081 },
      }),
      note: 'π ≈ 3.14159, non-ASCII on purpose',
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { tensors, metadata } = chainruleFixture();
  saveSafetensors(CHAINRULE_FIXTURE_PATH, tensors, metadata);
  process.stdout.write(`wrote ${CHAINRULE_FIXTURE_PATH}\n`);
}
