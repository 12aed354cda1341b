// The networks of the rules that learn without a global backward pass: a stack of blocks that
// each carry their own small classifier (local losses), and a perceptron that carries fixed
// random feedback matrices (feedback alignment). Both are plain Linear layers underneath, so
// their state dicts read like any other; models.ts lists them in its table of architectures.
// Only types come from models.ts, so the two files can be loaded in either order.

import { ChainruleError } from '../errors.js';
import { Linear, ModuleList } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import type { Rng } from '../tensor/random.js';
import { rand, type Tensor } from '../tensor/tensor.js';
import { check, checkChoice, checkKnownKeys, checkWidths } from '../validate.js';
import type { ArchitectureEntry, HiddenActivation } from './models.js';

const ACTIVATION_NAMES: readonly HiddenActivation[] = ['tanh', 'relu'];

/** The hidden layers' nonlinearity, and its derivative at the pre-activation (for rules that apply the chain rule by hand). */
export const activate = (name: HiddenActivation, z: Tensor): Tensor =>
  name === 'tanh' ? z.tanh() : z.relu();
export const activationSlope = (name: HiddenActivation, z: Tensor): Tensor =>
  name === 'tanh' ? z.tanh().square().neg().add(1) : z.gt(0).to(z.dtype);

/** Added to the variance before dividing, so a constant row stays finite. */
const NORM_EPSILON = 1e-5;

/**
 * Each row centred and scaled to unit variance, with no parameters: a block sees its input on
 * one scale whatever the block below learned, so each local learner starts from the same footing.
 */
export const normalizeRows = (h: Tensor): Tensor =>
  h.sub(h.mean(1, true)).div(h.variance(1, true).add(NORM_EPSILON).sqrt());

interface PerceptronFields {
  inputs: number;
  hidden: number[];
  classes: number;
  activation: HiddenActivation;
}

/**
 * Blocks of Linear -> activation, each fed its input row-normalised and read by its own
 * classifiers: its units split into `groups` equal slices, each slice with a linear classifier
 * of its own (Ren et al.'s grouped local losses, so a loss depends on few units). The
 * prediction is the mean of the last block's classifiers' logits.
 */
export interface LocalMlpArchitecture extends PerceptronFields {
  kind: 'local-mlp';
  groups: number;
}

/**
 * A perceptron (Linear -> activation per hidden layer, then a Linear to the classes) with fixed
 * random feedback matrices: 'fa-mlp' one per layer above the first, shaped like that layer's
 * weight (feedback alignment); 'dfa-mlp' one per hidden layer, from the classes straight to it
 * (direct feedback alignment).
 */
export type FeedbackMlpArchitecture = PerceptronFields & { kind: 'fa-mlp' | 'dfa-mlp' };
export type FaMlpArchitecture = PerceptronFields & { kind: 'fa-mlp' };
export type DfaMlpArchitecture = PerceptronFields & { kind: 'dfa-mlp' };

/** The architecture of a configuration that holds a perceptron's fields (and others). */
export const perceptron =
  <K extends 'fa-mlp' | 'dfa-mlp'>(kind: K) =>
  (c: PerceptronFields) => ({
    kind,
    inputs: c.inputs,
    hidden: c.hidden,
    classes: c.classes,
    activation: c.activation,
  });

export const localMlpArchitecture = (c: Omit<LocalMlpArchitecture, 'kind'>): LocalMlpArchitecture => ({
  ...perceptron('fa-mlp')(c),
  kind: 'local-mlp',
  groups: c.groups,
});

function readPerceptron<K extends string>(kind: K, f: Record<string, unknown>, name: string, extra = {}) {
  checkKnownKeys(f, { kind: 0, inputs: 0, hidden: 0, classes: 0, activation: 0, ...extra }, name);
  return {
    kind,
    inputs: check('features', f.inputs, `${name}.inputs`),
    hidden: checkWidths(f.hidden, `${name}.hidden`),
    classes: check('classes', f.classes, `${name}.classes`),
    activation: checkChoice(f.activation, ACTIVATION_NAMES, `${name}.activation`),
  };
}

/** Widths of every layer from the input to the classes. */
const widths = (a: PerceptronFields) => [a.inputs, ...a.hidden, a.classes];

const linearShapes = (prefix: string, inputs: number, outputs: number) => ({
  [`${prefix}.weight`]: [outputs, inputs],
  [`${prefix}.bias`]: [outputs],
});

const describePerceptron = (a: PerceptronFields, note: string) =>
  `${widths(a)
    .map((w, i) => (i > 0 && i <= a.hidden.length ? `${w}-${a.activation}` : String(w)))
    .join('-')} ${note}`;

/** `groups` linear classifiers, the g-th reading the g-th of as many equal slices of its input's units. */
export class GroupedHead extends Module {
  /** [groups, units per group, classes] */
  readonly weight: Tensor;
  /** [groups, 1, classes] */
  readonly bias: Tensor;

  constructor(
    readonly groups: number,
    units: number,
    classes: number,
    rng: Rng,
  ) {
    super();
    const size = units / groups;
    // A Linear's initialisation for each slice's classifier.
    const init = { rng, low: -1 / Math.sqrt(size), high: 1 / Math.sqrt(size) };
    this.weight = this.registerParameter('weight', rand([groups, size, classes], init));
    this.bias = this.registerParameter('bias', rand([groups, 1, classes], init));
  }

  /** Each group's logits, [rows, groups, classes], for activities [rows, units]. */
  forward(h: Tensor): Tensor {
    const [rows, units] = h.shape;
    const slices = h.reshape([rows, this.groups, units / this.groups]).permute([1, 0, 2]);
    return slices.matmul(this.weight).add(this.bias).permute([1, 0, 2]);
  }
}

/** The local-loss network: its blocks and the classifiers each block is judged by. */
export class LocalMlp extends Module {
  readonly blocks: readonly Linear[];
  readonly heads: readonly GroupedHead[];

  constructor(
    readonly architecture: LocalMlpArchitecture,
    rng: Rng,
  ) {
    super();
    const w = widths(architecture);
    const hidden = architecture.hidden;
    this.blocks = this.registerModule(
      'blocks',
      new ModuleList(hidden.map((width, i) => new Linear(w[i], width, { rng }))),
    ).items;
    this.heads = this.registerModule(
      'heads',
      new ModuleList(
        hidden.map((width) => new GroupedHead(architecture.groups, width, architecture.classes, rng)),
      ),
    ).items;
  }

  /** Block `l`'s activity from the activity below it (the input for block 0). */
  block(l: number, below: Tensor): Tensor {
    return activate(this.architecture.activation, this.blocks[l].forward(normalizeRows(below)));
  }

  /** The mean of the last block's classifiers' logits. */
  forward(x: Tensor): Tensor {
    const top = this.blocks.reduce((h, _, l) => this.block(l, h), x);
    return this.heads.at(-1)!.forward(top).mean(1);
  }
}

/** The feedback-alignment network: its layers, and the fixed matrices that carry errors down. */
export class FeedbackMlp extends Module {
  readonly layers: readonly Linear[];
  /** feedback[l] carries the error to hidden layer l (saved in the state dict, never trained). */
  readonly feedback: readonly Tensor[];

  constructor(
    readonly architecture: FeedbackMlpArchitecture,
    rng: Rng,
  ) {
    super();
    const w = widths(architecture);
    this.layers = this.registerModule(
      'layers',
      new ModuleList(w.slice(1).map((width, i) => new Linear(w[i], width, { rng }))),
    ).items;
    this.feedback = feedbackShapes(architecture).map(([rows, cols], l) => {
      // Drawn like a Linear's weight with `rows` outputs, so the error comes down at the scale
      // the transposed weight would bring it.
      const bound = 1 / Math.sqrt(cols);
      return this.registerBuffer(`feedback${l}`, rand([rows, cols], { rng, low: -bound, high: bound }));
    });
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce(
      (h, layer, l) =>
        l < this.layers.length - 1
          ? activate(this.architecture.activation, layer.forward(h))
          : layer.forward(h),
      x,
    );
  }
}

/** Shape [rows, hidden width] of each hidden layer's feedback matrix: rows of the layer above (FA) or the classes (DFA). */
function feedbackShapes(a: FeedbackMlpArchitecture): [number, number][] {
  const w = widths(a);
  return a.hidden.map((width, l) => [a.kind === 'fa-mlp' ? w[l + 2] : a.classes, width]);
}

export const localMlp: ArchitectureEntry<LocalMlpArchitecture> = {
  read(f, name) {
    const a = {
      ...readPerceptron('local-mlp', f, name, { groups: 0 }),
      groups: check('width', f.groups, `${name}.groups`),
    };
    const uneven = a.hidden.find((width) => width % a.groups !== 0);
    if (uneven !== undefined) {
      throw new ChainruleError(
        `${name}.groups is ${a.groups}, which does not divide the hidden width ${uneven}; each block's units are split into equal groups, so pick widths that ${a.groups} divides or another group count`,
      );
    }
    return a;
  },
  shapes(a) {
    const w = widths(a);
    const shapes: Record<string, number[]> = {};
    a.hidden.forEach((width, l) => {
      Object.assign(shapes, linearShapes(`blocks.${l}`, w[l], width));
      shapes[`heads.${l}.weight`] = [a.groups, width / a.groups, a.classes];
      shapes[`heads.${l}.bias`] = [a.groups, 1, a.classes];
    });
    return shapes;
  },
  build: (a, rng) => new LocalMlp(a, rng),
  describe: (a) =>
    describePerceptron(
      a,
      a.groups === 1 ? 'with a local classifier per block' : `with ${a.groups} local classifiers per block`,
    ),
};

const feedbackEntry = <A extends FeedbackMlpArchitecture>(
  kind: A['kind'],
  note: string,
): ArchitectureEntry<A> => ({
  read: (f, name) => readPerceptron(kind, f, name) as A,
  shapes(a) {
    const w = widths(a);
    const shapes: Record<string, number[]> = {};
    for (let l = 0; l + 1 < w.length; l++) Object.assign(shapes, linearShapes(`layers.${l}`, w[l], w[l + 1]));
    feedbackShapes(a).forEach((shape, l) => {
      shapes[`feedback${l}`] = shape;
    });
    return shapes;
  },
  build: (a, rng) => new FeedbackMlp(a, rng),
  describe: (a) => describePerceptron(a, note),
});

export const faMlp = feedbackEntry<FaMlpArchitecture>('fa-mlp', 'with fixed random feedback per layer');
export const dfaMlp = feedbackEntry<DfaMlpArchitecture>(
  'dfa-mlp',
  'with fixed random feedback from the output',
);
