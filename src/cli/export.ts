// `chainrule export`: a checkpoint's weights as exactly the state_dict of the equivalent
// torch.nn module, so `model.load_state_dict(load_file(path))` works with strict=True. A
// checkpoint keeps the network under `model.` beside what only resuming needs (optimiser
// moments), and FF's layers hold their peer-normalisation means, which only its training
// uses; none of that belongs in a state_dict.

import { parseArgs } from 'node:util';
import { ChainruleError, formatShape } from '../errors.js';
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

The command prints the module's constructor for this checkpoint, and the metadata carries it
('module') with the algorithm, architecture, hyperparameters and input normalisation (JSON),
which a forward pass in PyTorch needs to reproduce chainrule's outputs.

  --checkpoint FILE      a checkpoint written by \`chainrule train --out DIR\`
  --out FILE             where to write the weights (written atomically)
  -h, --help             this help`;

/** The prefix of the model's own tensors in a checkpoint (the rest is training state). */
const MODEL_PREFIX = 'model.';
/** Model buffers only training reads: Forward-Forward's running mean activity per unit. */
const TRAINING_ONLY = /(^|\.)peer_mean$/;

/** A checkpoint's tensors renamed and filtered into the torch module's state_dict. */
export function torchStateDict(tensors: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(tensors).flatMap(([name, t]) => {
      const own = name.startsWith(MODEL_PREFIX) ? name.slice(MODEL_PREFIX.length) : null;
      return own === null || TRAINING_ONLY.test(own) ? [] : [[own, t]];
    }),
  );
}

/** torch.nn's constructor for the layer whose tensors (named without the layer's prefix) are `own`. */
function torchLayer(own: Map<string, Tensor>): string {
  const weight = own.get('weight');
  if (own.has('running_mean')) return `nn.BatchNorm1d(${own.get('running_mean')!.shape[0]})`;
  if (weight?.ndim === 2) {
    const [outputs, inputs] = weight.shape;
    return `nn.Linear(${inputs}, ${outputs}${own.has('bias') ? '' : ', bias=False'})`;
  }
  if (weight) {
    throw new ChainruleError(
      `export writes networks of Linear and BatchNorm1d layers, and this one has a weight of shape ${formatShape(weight.shape)} ` +
        "(a convolution, or a locally connected layer, which torch.nn lacks); the checkpoint's tensors are safetensors as they are, and eval and predict read it",
    );
  }
  throw new ChainruleError(`internal: no torch.nn layer holds ${[...own.keys()].join(', ')}`);
}

/**
 * The torch.nn module whose state_dict `state` is, as Python: an nn.Sequential for names such
 * as `0.weight` (a gap in the numbering is a parameter-free layer, the activation), else an
 * nn.ModuleDict of nn.ModuleLists (FF's `layers.0.weight`) and single layers (`head.weight`).
 */
export function torchModule(state: Record<string, Tensor>, activation: string): string {
  const layers = new Map<string, Map<string, Tensor>>();
  for (const [name, t] of Object.entries(state)) {
    const cut = name.lastIndexOf('.');
    const layer = name.slice(0, cut);
    if (!layers.has(layer)) layers.set(layer, new Map());
    layers.get(layer)!.set(name.slice(cut + 1), t);
  }
  const numbered = (prefix: string) =>
    [...layers.keys()]
      .filter((k) => k.startsWith(prefix) && /^\d+$/.test(k.slice(prefix.length)))
      .map((k) => Number(k.slice(prefix.length)));
  const list = (prefix: string, fill: string | null) => {
    const last = Math.max(...numbered(prefix));
    return Array.from({ length: last + 1 }, (_, i) => {
      const own = layers.get(`${prefix}${i}`);
      return own ? torchLayer(own) : fill;
    });
  };
  const act = activation === 'relu' ? 'nn.ReLU()' : 'nn.Tanh()';
  if (numbered('').length === layers.size) return `nn.Sequential(${list('', act).join(', ')})`;
  const entries = new Map<string, string>();
  for (const layer of layers.keys()) {
    const parent = /^(.*)\.\d+$/.exec(layer)?.[1];
    if (parent === undefined) entries.set(layer, torchLayer(layers.get(layer)!));
    else if (!entries.has(parent))
      entries.set(parent, `nn.ModuleList([${list(`${parent}.`, null).join(', ')}])`);
  }
  return `nn.ModuleDict({${[...entries].map(([k, v]) => `'${k}': ${v}`).join(', ')}})`;
}

/**
 * What the export records beside the weights, as safetensors metadata strings: `module`, the
 * torch.nn constructor as Python, and the settings a forward pass needs, as JSON.
 */
function exportMetadata(m: CheckpointMetadata, module: string): Record<string, string> {
  const { algorithm, inference, architecture, hyperparameters, normalization } = m;
  const fields = { algorithm, inference, architecture, hyperparameters, normalization };
  return {
    format: 'pt',
    module,
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
  const { architecture } = checkpoint.metadata;
  const module = torchModule(state, architecture.kind === 'mlp' ? architecture.activation : 'relu');
  saveSafetensors(values.out, state, exportMetadata(checkpoint.metadata, module));
  const count = Object.keys(state).length;
  // A note on what was written, like train's and compare's: stderr, so stdout stays for results.
  process.stderr.write(
    `wrote ${values.out}: ${count} tensors, the state_dict of the ${checkpoint.metadata.algorithm} network\n` +
      `  model = ${module}\n` +
      `  model.load_state_dict(safetensors.torch.load_file('${values.out}'))   # strict=True\n`,
  );
  return 0;
}
