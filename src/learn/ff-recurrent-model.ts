// The recurrent Forward-Forward network (Hinton 2022, section 3.4): the image is a static video,
// and at every time step each hidden layer's activity is computed from the length-normalised
// activities of the layer below and the layer above at the previous step (the image below the
// first, the label's one-hot above the last), damped toward its own previous activity. A
// softmax head reads a single bottom-up pass, which no label reaches: its predictions pick the
// hard negative labels, and the pass can set the activities before the first step.

import { ChainruleError } from '../errors.js';
import { Linear, ModuleList } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { concat } from '../ops/shape.js';
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

/** What the hidden layers hold before the first step: see FFRecurrentNetwork.initialState. */
export type RecurrentStart = 'bottom-up' | 'zero';
export const RECURRENT_STARTS: readonly RecurrentStart[] = ['bottom-up', 'zero'];

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

const totalWidth = (widths: readonly number[]) => widths.reduce((total, w) => total + w, 0);

export class FFRecurrentNetwork extends Module {
  readonly layers: readonly RecurrentLayer[];
  /** The softmax head over every hidden layer of the bottom-up pass (zero at the start: uniform predictions). */
  readonly head: Linear;

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
    this.head = this.registerModule('head', new Linear(totalWidth(hidden), classes, { rng }));
    this.head.weight.data.fill(0);
    this.head.bias!.data.fill(0);
  }

  /**
   * Every hidden layer's activity before the first step, for the image [..., rows, inputs]: the
   * bottom-up pass, or zero (then the first step is bottom-up and top-down alone).
   */
  initialState(image: Tensor, start: RecurrentStart): Tensor[] {
    if (start === 'bottom-up') return this.bottomUp(image);
    const lead = image.shape.slice(0, -1);
    return this.architecture.hidden.map((width) => zeros([...lead, width]));
  }

  /** A single bottom-up pass from the image, each layer from the one below alone (no label reaches it). */
  bottomUp(image: Tensor): Tensor[] {
    const state: Tensor[] = [];
    let below = image;
    for (const layer of this.layers) state.push((below = project(layer.up, below).relu()));
    return state;
  }

  /** The head's logits [rows, classes] from the bottom-up pass's activities [rows, width] (cut from the graph). */
  headLogits(state: readonly Tensor[]): Tensor {
    return this.head.forward(
      concat(
        state.map((s) => rmsNormalize(s.detach())),
        1,
      ),
    );
  }

  /**
   * One synchronous step: every layer from the state of the step before, which is cut from
   * the graph first, so a layer's new activity reaches only its own weights.
   *
   * Leading dimensions broadcast, so several labels can settle on one image at once: with the
   * image and the starting state [1, rows, ...] and the labels [groups, rows, classes], a layer's
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
    shapes['head.weight'] = [classes, totalWidth(hidden)];
    shapes['head.bias'] = [classes];
    return shapes;
  },
  build: (a, rng) => new FFRecurrentNetwork(a, rng),
  describe: (a) => `${[a.inputs, ...a.hidden].join('-')}<->${a.classes} recurrent ReLU`,
};
