// `chainrule export`: a checkpoint's weights as exactly the state_dict of the equivalent
// torch.nn module, so `model.load_state_dict(load_file(path))` works with strict=True. A
// checkpoint also carries what only resuming needs (optimiser moments, FF's peer-normalisation
// means) and keeps bp's and fg's network under `model.`; neither belongs in a state_dict.

import { parseArgs } from 'node:util';
import { ChainruleError } from '../errors.js';
import { saveSafetensors } from '../io/safetensors-file.js';
import type { CheckpointMetadata } from '../learn/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { helpFlag, printHelp, restoreFromFlags } from './shared.js';

const HELP = `usage: chainrule export --checkpoint FILE --out FILE.safetensors

Writes a checkpoint's weights as the state_dict of the equivalent torch.nn module, loadable
with strict=True:

  bp, fg   nn.Sequential(nn.Linear(784, H), [nn.BatchNorm1d(H),] nn.Tanh(), ..., nn.Linear(H, 10))
  ff       nn.ModuleDict({'layers': nn.ModuleList([nn.Linear(784, H1), ...]),
                          'head': nn.Linear(H_readout, 10)})

The metadata (JSON strings) carries the algorithm, architecture, hyperparameters and input
normalisation, which a forward pass in PyTorch needs to reproduce chainrule's outputs.

  --checkpoint FILE      a checkpoint written by \`chainrule train --out DIR\`
  --out FILE             where to write the weights (written atomically)
  -h, --help             this help`;

/** Tensors a checkpoint holds only to resume training. */
const TRAINING_STATE = /^(optimizer|peer_means)\./;
/** The prefix under which bp and fg store their single Sequential. */
const MODEL_PREFIX = 'model.';

/** A checkpoint's tensors renamed and filtered into the torch module's state_dict. */
export function torchStateDict(tensors: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(tensors)
      .filter(([name]) => !TRAINING_STATE.test(name))
      .map(([name, t]) => [name.startsWith(MODEL_PREFIX) ? name.slice(MODEL_PREFIX.length) : name, t]),
  );
}

/** What the export records beside the weights, as safetensors metadata strings. */
function exportMetadata(m: CheckpointMetadata): Record<string, string> {
  const { algorithm, inference, architecture, hyperparameters, normalization } = m;
  const fields = { algorithm, inference, architecture, hyperparameters, normalization };
  return {
    format: 'pt',
    ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, JSON.stringify(v)])),
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { checkpoint: { type: 'string' }, out: { type: 'string' }, ...helpFlag },
  });
  if (values.help) return printHelp(HELP);
  if (!values.out)
    throw new ChainruleError('export needs --out FILE.safetensors (see chainrule export --help)');
  // Rebuilding the trainer checks that the tensors fit the recorded architecture.
  const { checkpoint } = await restoreFromFlags('export', { ...values, backend: 'reference' });
  const state = torchStateDict(checkpoint.tensors);
  saveSafetensors(values.out, state, exportMetadata(checkpoint.metadata));
  const count = Object.keys(state).length;
  process.stdout.write(
    `wrote ${values.out}: ${count} tensors, the state_dict of the ${checkpoint.metadata.algorithm} network ` +
      '(load with strict=True; see chainrule export --help for the module)\n',
  );
  return 0;
}
