// The recurrent Forward-Forward network (Hinton 2022, section 4): the image is a static video,
// and at every time step each hidden layer's activity is computed from the length-normalised
// activities of the layer below and the layer above at the previous step (the image below the
// first, the label's one-hot above the last), damped toward its own previous activity.

import { ChainruleError } from '../errors.js';
import { Linear, ModuleList } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import type { Rng } from '../tensor/random.js';
import { randn, type Tensor, zeros } from '../tensor/tensor.js';
import { check, checkKnownKeys, checkWidths } from '../validate.js';
import type { ArchitectureEntry } from './models.js';
import { rmsNormalize } from './rms-normalize.js';

export interface FFRecurrentArchitecture {
  kind: 'ff-recurrent';
  inputs: number;
  hidden: number[];
  classes: number;
}

/** The share of a layer's previous activity it keeps each step (the paper's 0.3 old + 0.7 new). */
export const RECURRENT_DAMPING = 0.3;

/** A neighbour's activity [..., rows, width], length-normalised and projected by one linear map. */
function project(linear: Linear, activity: Tensor): Tensor {
  if (activity.ndim === 2) return linear.forward(rmsNormalize(activity));
  const lead = activity.shape.slice(0, -1);
  const rows = activity.reshape([-1, activity.shape.at(-1)!]);
  return linear.forward(rmsNormalize(rows)).reshape([...lead, linear.outFeatures]);
}

/** A hidden layer of the recurrent net: bottom-up weights with a bias, top-down weights without. */
export class RecurrentLayer extends Module {
  readonly up: Linear;
  readonly down: Linear;

  constructor(below: number, width: number, above: number, rng: Rng) {
    super();
    // W ~ N(0, 1/(below + above)) on both: with both inputs of root mean square 1, each unit's
    // input starts with variance about 1, as Hinton's initialisation gives the feed-forward stack.
    const std = 1 / Math.sqrt(below + above);
    this.up = this.registerModule('up', new Linear(below, width, { rng }));
    this.down = this.registerModule('down', new Linear(above, width, { rng, bias: false }));
    this.up.weight.data.set(randn(this.up.weight.shape, { rng, std }).data);
    this.up.bias!.data.fill(0);
    this.down.weight.data.set(randn(this.down.weight.shape, { rng, std }).data);
  }

  /**
   * The layer's next activity from its previous one and its neighbours' (all cut from the graph).
   * Each may carry leading dimensions that broadcast: a label group's axis in front of the rows.
   */
  next(previous: Tensor, below: Tensor, above: Tensor): Tensor {
    const fresh = project(this.up, below).add(project(this.down, above)).relu();
    return previous.mul(RECURRENT_DAMPING).add(fresh.mul(1 - RECURRENT_DAMPING));
  }

  forward(): Tensor {
    throw new ChainruleError('a recurrent layer needs its neighbours: use next(previous, below, above)');
  }
}

export class FFRecurrentNetwork extends Module {
  readonly layers: readonly RecurrentLayer[];

  constructor(
    readonly architecture: FFRecurrentArchitecture,
    rng: Rng,
  ) {
    super();
    const { inputs, hidden, classes } = architecture;
    const layers = hidden.map(
      (width, i) =>
        new RecurrentLayer(i === 0 ? inputs : hidden[i - 1], width, hidden[i + 1] ?? classes, rng),
    );
    this.layers = this.registerModule('layers', new ModuleList(layers)).items;
  }

  /**
   * Every hidden layer's activity before the first step, [...lead, width]: zero (the first step
   * is bottom-up and top-down alone).
   */
  initialState(lead: readonly number[]): Tensor[] {
    return this.architecture.hidden.map((width) => zeros([...lead, width]));
  }

  /**
   * One synchronous step: every layer from the state of the step before, which is cut from
   * the graph first, so a layer's new activity reaches only its own weights.
   *
   * Leading dimensions broadcast, so several labels can settle on one image at once: with the
   * image and the zero state [1, rows, ...] and the labels [groups, rows, classes], a layer's
   * activity is one [1, rows, width] for all groups until the label has reached it (one layer
   * down per step), and each term a layer takes from a neighbour that has not yet heard from the
   * label is computed once for all groups.
   */
  step(state: readonly Tensor[], image: Tensor, label: Tensor): Tensor[] {
    const before = state.map((s) => s.detach());
    return this.layers.map((layer, i) =>
      layer.next(before[i], i === 0 ? image : before[i - 1], before[i + 1] ?? label),
    );
  }

  forward(): Tensor {
    throw new ChainruleError('the recurrent Forward-Forward network runs step by step; use step()');
  }
}

export const ffRecurrent: ArchitectureEntry<FFRecurrentArchitecture> = {
  read(f, name) {
    checkKnownKeys(f, { kind: 0, inputs: 0, hidden: 0, classes: 0 }, name);
    return {
      kind: 'ff-recurrent',
      inputs: check('features', f.inputs, `${name}.inputs`),
      hidden: checkWidths(f.hidden, `${name}.hidden`),
      classes: check('classes', f.classes, `${name}.classes`),
    };
  },
  shapes({ inputs, hidden, classes }) {
    const shapes: Record<string, number[]> = {};
    hidden.forEach((width, i) => {
      shapes[`layers.${i}.up.weight`] = [width, i === 0 ? inputs : hidden[i - 1]];
      shapes[`layers.${i}.up.bias`] = [width];
      shapes[`layers.${i}.down.weight`] = [width, hidden[i + 1] ?? classes];
    });
    return shapes;
  },
  build: (a, rng) => new FFRecurrentNetwork(a, rng),
  describe: (a) => `${[a.inputs, ...a.hidden].join('-')}<->${a.classes} recurrent ReLU`,
};
