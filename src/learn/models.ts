// The networks the learning rules train, as Modules, and the architectures that describe them:
// a tagged union written into every checkpoint, with one reader that checks a checkpoint's
// description (and its tensors' shapes) before anything is allocated. A new kind of network
// is one entry of ARCHITECTURES.

import { ChainruleError, formatShape } from '../errors.js';
import { Conv2d, LocallyConnected2d, MaxPool2d } from '../nn/conv.js';
import { Flatten, Linear, ModuleList, ReLU, Sequential, Tanh } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { BatchNorm1d } from '../nn/normalization.js';
import { sameShape } from '../ops/broadcast.js';
import { concat } from '../ops/shape.js';
import type { Rng } from '../tensor/random.js';
import { randn, type Tensor, zeros } from '../tensor/tensor.js';
import {
  check,
  checkBoolean,
  checkChoice,
  checkKnownKeys,
  checkRecord,
  checkWidths,
  show,
} from '../validate.js';
import { type FFRecurrentArchitecture, ffRecurrent } from './ff-recurrent-model.js';
import {
  type DfaMlpArchitecture,
  dfaMlp,
  type FaMlpArchitecture,
  faMlp,
  type LocalMlpArchitecture,
  localMlp,
} from './local-models.js';
import { rmsNormalize } from './rms-normalize.js';

export const ACTIVATIONS = ['tanh', 'relu'] as const;
export type HiddenActivation = (typeof ACTIVATIONS)[number];

/**
 * A multilayer perceptron: per hidden layer Linear [-> BatchNorm] -> activation, then a Linear
 * to the classes. The seed network of our founding question is 784-1024-BN-tanh-10.
 */
export interface MlpArchitecture {
  kind: 'mlp';
  inputs: number;
  hidden: number[];
  classes: number;
  batchNorm: boolean;
  activation: HiddenActivation;
}

/**
 * A Forward-Forward stack: ReLU layers, each fed its input length-normalised, each keeping its
 * units' running mean activity (peer normalisation), and a linear softmax head over layers
 * readoutFrom..L. The label is written over the first `classes` inputs.
 */
export interface FFStackArchitecture {
  kind: 'ff-stack';
  inputs: number;
  /** Units of each hidden layer, input side first. */
  hidden: number[];
  /**
   * null: every layer is fully connected (Linear). Otherwise one receptive field per hidden
   * layer, and every layer is locally connected (no weight sharing) over the square grid of
   * the layer below, the image being a grid of one channel: layer i is a square grid of
   * locations, the field sliding over the grid below by its stride, with hidden[i] / (its
   * locations) channels at each. Checkpoints written before this field existed lack it: null.
   */
  receptiveFields: ReceptiveField[] | null;
  classes: number;
  /** First hidden layer (1-based) the head and the goodness readout read. */
  readoutFrom: number;
}

/** A locally connected layer's window on the grid below: `size` x `size` locations, `stride` apart. */
export interface ReceptiveField {
  size: number;
  stride: number;
}

/**
 * A LeNet-shaped convolutional network over square grey images of `inputs` pixels: per stage
 * a kernelSize x kernelSize convolution (no padding), ReLU and 2x2 max pooling, then Linear +
 * ReLU per hidden width and a Linear to the classes.
 */
export interface CnnArchitecture {
  kind: 'cnn';
  inputs: number;
  /** Filters of each convolution stage. */
  channels: number[];
  kernelSize: number;
  hidden: number[];
  classes: number;
}

export type Architecture =
  | MlpArchitecture
  | FFStackArchitecture
  | CnnArchitecture
  | LocalMlpArchitecture
  | FaMlpArchitecture
  | DfaMlpArchitecture
  | FFRecurrentArchitecture;
export type ArchitectureKind = Architecture['kind'];

/** The architecture of a configuration that holds an MLP's fields (and others). */
export const mlpArchitecture = (c: Omit<MlpArchitecture, 'kind'>): MlpArchitecture => ({
  kind: 'mlp',
  inputs: c.inputs,
  hidden: c.hidden,
  classes: c.classes,
  batchNorm: c.batchNorm,
  activation: c.activation,
});

export interface ArchitectureEntry<A extends Architecture> {
  /** Checks every field of a description read from a file or given by a user; `name` prefixes each error. */
  read(fields: Record<string, unknown>, name: string): A;
  /** The shape of every tensor of the model's state dict, computed without building it. */
  shapes(a: A): Record<string, number[]>;
  build(a: A, rng: Rng): Module;
  /** For humans: "784-1024-BN-tanh-10". */
  describe(a: A): string;
}

/** Widths from the input to the last hidden layer. */
const widthsOf = (a: { inputs: number; hidden: number[] }) => [a.inputs, ...a.hidden];

const linearShapes = (prefix: string, inputs: number, outputs: number) => ({
  [`${prefix}.weight`]: [outputs, inputs],
  [`${prefix}.bias`]: [outputs],
});

const mlp: ArchitectureEntry<MlpArchitecture> = {
  read(f, name) {
    checkKnownKeys(f, { kind: 0, inputs: 0, hidden: 0, classes: 0, batchNorm: 0, activation: 0 }, name);
    return {
      kind: 'mlp',
      inputs: check('features', f.inputs, `${name}.inputs`),
      hidden: checkWidths(f.hidden, `${name}.hidden`),
      classes: check('classes', f.classes, `${name}.classes`),
      batchNorm: checkBoolean(f.batchNorm, `${name}.batchNorm`),
      activation: checkChoice(f.activation, ACTIVATIONS, `${name}.activation`),
    };
  },
  shapes(a) {
    const widths = widthsOf(a);
    const shapes: Record<string, number[]> = {};
    let index = 0;
    a.hidden.forEach((width, i) => {
      Object.assign(shapes, linearShapes(String(index++), widths[i], width));
      if (a.batchNorm) {
        const bn = String(index++);
        for (const key of ['weight', 'bias', 'running_mean', 'running_var']) shapes[`${bn}.${key}`] = [width];
        shapes[`${bn}.num_batches_tracked`] = [];
      }
      index++; // the activation holds no state
    });
    return Object.assign(shapes, linearShapes(String(index), widths.at(-1)!, a.classes));
  },
  build(a, rng) {
    const widths = widthsOf(a);
    const hidden = a.hidden.flatMap((width, i) => [
      new Linear(widths[i], width, { rng }),
      ...(a.batchNorm ? [new BatchNorm1d(width)] : []),
      a.activation === 'tanh' ? new Tanh() : new ReLU(),
    ]);
    return new Sequential(...hidden, new Linear(widths.at(-1)!, a.classes, { rng }));
  },
  describe: (a) =>
    [a.inputs, ...a.hidden.map((w) => `${w}${a.batchNorm ? '-BN' : ''}-${a.activation}`), a.classes].join(
      '-',
    ),
};

/**
 * Hinton's initialisation, W ~ N(0, 1/fan_in) and zero biases: on a length-normalised input it
 * starts each layer's goodness near width/2, within reach of θ. PyTorch's uniform
 * initialisation starts it near width/6 and learned far worse in a measured epoch.
 */
function hintonInit(layer: { weight: Tensor; bias: Tensor | null }, fanIn: number, rng: Rng): void {
  layer.weight.data.set(randn(layer.weight.shape, { rng, std: 1 / Math.sqrt(fanIn) }).data);
  layer.bias!.data.fill(0);
}

/** A Forward-Forward layer: a Linear whose units also keep their running mean activity. */
export class FFLayer extends Linear {
  /** Each unit's running mean activity on positive data, for peer normalisation. */
  readonly peerMean: Tensor;

  constructor(inputs: number, outputs: number, rng: Rng) {
    super(inputs, outputs, { rng });
    hintonInit(this, inputs, rng);
    this.peerMean = this.registerBuffer('peer_mean', zeros([outputs]));
  }

  /** The layer's ReLU activity for an input, which it sees length-normalised. */
  override forward(x: Tensor): Tensor {
    return super.forward(rmsNormalize(x)).relu();
  }
}

/** Where a locally connected layer sits: the grid below (side, channels), its own, and its field. */
interface LocalGrid {
  below: { side: number; channels: number };
  side: number;
  channels: number;
  field: ReceptiveField;
}

/**
 * The grids of a locally connected stack, input side first, or an error naming `name` and the
 * layer that does not fit: the inputs must be a square image, each field must fit on the grid
 * below, and each layer's units must fill its locations evenly.
 */
function localGrids(inputs: number, hidden: number[], fields: ReceptiveField[], name: string): LocalGrid[] {
  const image = Math.round(Math.sqrt(inputs));
  if (image * image !== inputs) {
    throw new ChainruleError(
      `${name}.inputs is ${inputs}, not a square image; locally connected layers need one (or set receptiveFields to null)`,
    );
  }
  if (fields.length !== hidden.length) {
    throw new ChainruleError(
      `${name}.receptiveFields has ${fields.length} fields for ${hidden.length} hidden layers; give ${fields.length} hidden widths, ` +
        'one per field (or null receptiveFields for fully connected layers)',
    );
  }
  let below = { side: image, channels: 1 };
  return fields.map((field, i) => {
    const where = `${name}: layer ${i + 1}`;
    if (field.size > below.side) {
      throw new ChainruleError(
        `${where}'s ${field.size}x${field.size} field does not fit on the ${below.side}x${below.side} grid below; use a field of at most ${below.side}`,
      );
    }
    const side = Math.floor((below.side - field.size) / field.stride) + 1;
    const locations = side * side;
    if (hidden[i] % locations !== 0) {
      const fewer = Math.max(1, Math.floor(hidden[i] / locations));
      throw new ChainruleError(
        `${where} has ${hidden[i]} units, which do not fill its ${side}x${side} grid evenly; ` +
          `use a multiple of ${locations}, e.g. ${fewer * locations} (${fewer} channels) or ${(fewer + 1) * locations}`,
      );
    }
    const grid = { below, side, channels: hidden[i] / locations, field };
    below = { side, channels: grid.channels };
    return grid;
  });
}

/**
 * A locally connected Forward-Forward layer: a separate filter bank at each location of its
 * grid, each reading its field of the grid below (Hinton 2022, section 3.2's local receptive
 * fields). It takes and gives flat rows, the activity of the layer below length-normalised as
 * a whole, as a Linear layer's is, and read as channels x side x side.
 */
export class FFLocalLayer extends LocallyConnected2d {
  /** Each unit's running mean activity on positive data, for peer normalisation. */
  readonly peerMean: Tensor;
  readonly #below: number[];

  constructor({ below, side, channels, field }: LocalGrid, rng: Rng) {
    super(below.channels, channels, below.side, field.size, { stride: field.stride, rng });
    hintonInit(this, below.channels * field.size * field.size, rng);
    this.#below = [below.channels, below.side, below.side];
    this.peerMean = this.registerBuffer('peer_mean', zeros([channels * side * side]));
  }

  /** The layer's ReLU activity [rows, units] for rows of the layer below (or of the image). */
  override forward(x: Tensor): Tensor {
    const rows = x.shape[0];
    const images = rmsNormalize(x).reshape([rows, ...this.#below]);
    return super.forward(images).relu().reshape([rows, this.peerMean.size]);
  }
}

/** The layers of a Forward-Forward stack, fully or locally connected as its architecture says. */
function ffLayers(a: FFStackArchitecture, rng: Rng): (FFLayer | FFLocalLayer)[] {
  if (a.receptiveFields)
    return localGrids(a.inputs, a.hidden, a.receptiveFields, 'ff-stack').map((g) => new FFLocalLayer(g, rng));
  const widths = widthsOf(a);
  return a.hidden.map((width, i) => new FFLayer(widths[i], width, rng));
}

/** The Forward-Forward network: its layers and the softmax head that reads them. */
export class FFNetwork extends Module {
  readonly layers: readonly (FFLayer | FFLocalLayer)[];
  /** The softmax head over layers readoutFrom..L (zero at the start: uniform predictions). */
  readonly head: Linear;

  constructor(
    readonly architecture: FFStackArchitecture,
    rng: Rng,
  ) {
    const layers = ffLayers(architecture, rng);
    const head = new Linear(readWidth(architecture), architecture.classes, { rng });
    head.weight.data.fill(0);
    head.bias!.data.fill(0);
    super();
    this.layers = this.registerModule('layers', new ModuleList(layers)).items;
    this.head = this.registerModule('head', head);
  }

  /** The head's logits for an input that already carries its label pixels. */
  forward(input: Tensor): Tensor {
    return this.headLogits(this.activities(input));
  }

  /** Every layer's activities for an input that already carries its label pixels. */
  activities(input: Tensor): Tensor[] {
    const out: Tensor[] = [];
    let h = input;
    for (const layer of this.layers) out.push((h = layer.forward(h)));
    return out;
  }

  /** The head's logits from every layer's activities. */
  headLogits(activities: Tensor[]): Tensor {
    const read = activities.slice(this.architecture.readoutFrom - 1).map(rmsNormalize);
    return this.head.forward(concat(read, 1));
  }
}

const readWidth = (a: FFStackArchitecture) => a.hidden.slice(a.readoutFrom - 1).reduce((s, w) => s + w, 0);

/** Receptive fields read from a file or given by a user: null, or one { size, stride } per layer. */
function readReceptiveFields(value: unknown, name: string): ReceptiveField[] | null {
  if (value === null) return null;
  if (!Array.isArray(value) || value.length === 0) {
    throw new ChainruleError(
      `${name} must be null (fully connected layers) or a list of one { size, stride } per hidden layer, got ${show(value)}`,
    );
  }
  return value.map((entry, i) => {
    const f = checkRecord(entry, `${name}[${i}]`);
    checkKnownKeys(f, { size: 0, stride: 0 }, `${name}[${i}]`);
    return {
      size: check('width', f.size, `${name}[${i}].size`),
      stride: check('width', f.stride, `${name}[${i}].stride`),
    };
  });
}

const ffStack: ArchitectureEntry<FFStackArchitecture> = {
  read(f, name) {
    checkKnownKeys(
      f,
      { kind: 0, inputs: 0, hidden: 0, receptiveFields: 0, classes: 0, readoutFrom: 0 },
      name,
    );
    const classes = check('classes', f.classes, `${name}.classes`);
    const a: FFStackArchitecture = {
      kind: 'ff-stack',
      inputs: check('features', f.inputs, `${name}.inputs`),
      hidden: checkWidths(f.hidden, `${name}.hidden`),
      receptiveFields: readReceptiveFields(f.receptiveFields ?? null, `${name}.receptiveFields`),
      classes,
      readoutFrom: check('layerIndex', f.readoutFrom, `${name}.readoutFrom`),
    };
    if (a.inputs <= classes) {
      throw new ChainruleError(
        `${name}.inputs is ${a.inputs}, but the label is written over the first ${classes} inputs; there must be more inputs than classes`,
      );
    }
    if (a.readoutFrom > a.hidden.length) {
      const layers = a.hidden.length === 1 ? 'is 1 hidden layer' : `are ${a.hidden.length} hidden layers`;
      throw new ChainruleError(
        `${name}.readoutFrom is ${a.readoutFrom} but there ${layers}; add layers or lower readoutFrom (1 reads every layer)`,
      );
    }
    if (a.receptiveFields) localGrids(a.inputs, a.hidden, a.receptiveFields, name);
    return a;
  },
  shapes(a) {
    const widths = widthsOf(a);
    const grids = a.receptiveFields && localGrids(a.inputs, a.hidden, a.receptiveFields, 'ff-stack');
    const shapes: Record<string, number[]> = {};
    a.hidden.forEach((width, i) => {
      if (grids) {
        const { below, side, channels, field } = grids[i];
        shapes[`layers.${i}.weight`] = [side, side, channels, below.channels, field.size, field.size];
        shapes[`layers.${i}.bias`] = [channels, side, side];
      } else Object.assign(shapes, linearShapes(`layers.${i}`, widths[i], width));
      shapes[`layers.${i}.peer_mean`] = [width];
    });
    return Object.assign(shapes, linearShapes('head', readWidth(a), a.classes));
  },
  build: (a, rng) => new FFNetwork(a, rng),
  describe(a) {
    if (!a.receptiveFields) return `${widthsOf(a).join('-')} ReLU`;
    const image = Math.sqrt(a.inputs);
    const layers = localGrids(a.inputs, a.hidden, a.receptiveFields, 'ff-stack').map(
      ({ side, channels, field }) =>
        `${side}x${side}x${channels} (${field.size}x${field.size} fields, stride ${field.stride})`,
    );
    return `${image}x${image} image, locally connected ReLU layers ${layers.join(', ')}`;
  },
};

/** The side of the square image of a CNN's inputs, and the side after each stage. */
function cnnSides(a: Omit<CnnArchitecture, 'kind'>, name = 'cnn'): number[] {
  const side = Math.round(Math.sqrt(a.inputs));
  if (side * side !== a.inputs) {
    throw new ChainruleError(
      `${name}.inputs is ${a.inputs}, not a square image; the CNN takes square grey images`,
    );
  }
  const sides = [side];
  for (const _ of a.channels) sides.push(Math.floor((sides.at(-1)! - a.kernelSize + 1) / 2));
  if (sides.at(-1)! < 1) {
    throw new ChainruleError(
      `${name}: ${a.channels.length} stages of ${a.kernelSize}x${a.kernelSize} convolutions and 2x2 pooling ` +
        `shrink a ${side}x${side} image to nothing (sides ${sides.join(', ')}); use fewer stages or a smaller kernel`,
    );
  }
  return sides;
}

/** The architecture of a configuration that holds a CNN's fields (and others). */
export const cnnArchitecture = (c: Omit<CnnArchitecture, 'kind'>): CnnArchitecture => ({
  kind: 'cnn',
  inputs: c.inputs,
  channels: c.channels,
  kernelSize: c.kernelSize,
  hidden: c.hidden,
  classes: c.classes,
});

/** Widths of the CNN's fully connected part, from the flattened last stage on. */
const cnnWidths = (a: CnnArchitecture) => [a.channels.at(-1)! * cnnSides(a).at(-1)! ** 2, ...a.hidden];

const cnn: ArchitectureEntry<CnnArchitecture> = {
  read(f, name) {
    checkKnownKeys(f, { kind: 0, inputs: 0, channels: 0, kernelSize: 0, hidden: 0, classes: 0 }, name);
    const a: CnnArchitecture = {
      kind: 'cnn',
      inputs: check('features', f.inputs, `${name}.inputs`),
      channels: checkWidths(f.channels, `${name}.channels`),
      kernelSize: check('width', f.kernelSize, `${name}.kernelSize`),
      hidden: checkWidths(f.hidden, `${name}.hidden`),
      classes: check('classes', f.classes, `${name}.classes`),
    };
    cnnSides(a, name);
    return a;
  },
  shapes(a) {
    const shapes: Record<string, number[]> = {};
    const inChannels = [1, ...a.channels];
    // Each stage is Conv2d, ReLU, MaxPool2d; then Flatten, then Linear and ReLU per hidden width.
    a.channels.forEach((filters, i) => {
      shapes[`${3 * i}.weight`] = [filters, inChannels[i], a.kernelSize, a.kernelSize];
      shapes[`${3 * i}.bias`] = [filters];
    });
    const widths = cnnWidths(a);
    let index = 3 * a.channels.length + 1;
    a.hidden.forEach((width, i) => {
      Object.assign(shapes, linearShapes(String(index), widths[i], width));
      index += 2;
    });
    return Object.assign(shapes, linearShapes(String(index), widths.at(-1)!, a.classes));
  },
  build(a, rng) {
    const inChannels = [1, ...a.channels];
    const stages = a.channels.flatMap((filters, i) => [
      new Conv2d(inChannels[i], filters, a.kernelSize, { rng }),
      new ReLU(),
      new MaxPool2d(2),
    ]);
    const widths = cnnWidths(a);
    const hidden = a.hidden.flatMap((width, i) => [new Linear(widths[i], width, { rng }), new ReLU()]);
    return new Sequential(
      ...stages,
      new Flatten(),
      ...hidden,
      new Linear(widths.at(-1)!, a.classes, { rng }),
    );
  },
  describe(a) {
    const side = Math.sqrt(a.inputs);
    const k = a.kernelSize;
    return [
      `${side}x${side}`,
      ...a.channels.map((c) => `conv${k}x${k}x${c}-pool`),
      ...a.hidden,
      a.classes,
    ].join('-');
  },
};

const ARCHITECTURES: { [K in ArchitectureKind]: ArchitectureEntry<Extract<Architecture, { kind: K }>> } = {
  mlp,
  'ff-stack': ffStack,
  cnn,
  'local-mlp': localMlp,
  'fa-mlp': faMlp,
  'dfa-mlp': dfaMlp,
  'ff-recurrent': ffRecurrent,
};

/** The shape of one example a model of `a` takes: images [1, side, side] for the CNN, else flat rows. */
export function inputShapeOf(a: Architecture): number[] {
  return a.kind === 'cnn' ? [1, Math.sqrt(a.inputs), Math.sqrt(a.inputs)] : [a.inputs];
}

const entryOf = <A extends Architecture>(a: A) => ARCHITECTURES[a.kind] as unknown as ArchitectureEntry<A>;

/** An architecture from untrusted JSON (a checkpoint's metadata); each error names `name` and the field. */
export function readArchitecture(value: unknown, name: string): Architecture {
  const fields = checkRecord(value, name);
  const kind = checkChoice(fields.kind, Object.keys(ARCHITECTURES) as ArchitectureKind[], `${name}.kind`);
  return ARCHITECTURES[kind].read(fields, name);
}

export function buildModel<A extends Architecture>(a: A, rng: Rng): Module {
  return entryOf(a).build(a, rng);
}

export function describeArchitecture(a: Architecture): string {
  return entryOf(a).describe(a);
}

/**
 * Throws unless `tensors` (a checkpoint's model tensors, by state-dict name) has exactly the
 * shapes `a` needs, so a description that disagrees with its weights (or asks for gigabytes)
 * is refused before the model is built.
 */
export function checkModelTensors(a: Architecture, tensors: Record<string, Tensor>, source: string): void {
  const expected = entryOf(a).shapes(a);
  const problems = Object.entries(expected).flatMap(([key, shape]) => {
    const given = tensors[key];
    if (!given) return [`missing '${key}'`];
    return sameShape(given.shape, shape)
      ? []
      : [`'${key}' has shape ${formatShape(given.shape)}, expected ${formatShape(shape)}`];
  });
  const extra = Object.keys(tensors).filter((k) => !Object.hasOwn(expected, k));
  const all = [...problems, ...extra.map((k) => `unexpected '${k}'`)];
  if (all.length) {
    const listed = all.length > 4 ? [...all.slice(0, 4), `${all.length - 4} more`] : all;
    throw new ChainruleError(
      `${source}: the tensors do not fit the architecture ${show(a)} (${listed.join('; ')}); the file was saved from another network or is damaged`,
    );
  }
}
