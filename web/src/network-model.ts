// The network view's content as plain data: each learning rule's network as a row of layer
// boxes (read from the architecture its trainer reports), and the order in which one training
// step touches them: when each layer runs forward, when its gradient is known, when it updates.

import type {
  Algorithm,
  Architecture,
  CnnArchitecture,
  FFRecurrentArchitecture,
  FFStackArchitecture,
  LocalMlpArchitecture,
  MlpArchitecture,
} from '../../src/browser.js';

export interface LayerBox {
  title: string;
  detail: string;
  /** Whether it holds weights that a step updates. */
  learns: boolean;
  /** The name its per-layer statistics (StepResult.layers) carry, if it reports any. */
  stats?: string;
  /** The loss of its own it learns from, when it has one (Forward-Forward's layers and head). */
  ownLoss?: string;
}

export type Mark = 'forward' | 'tangent' | 'loss' | 'backward' | 'update' | 'done';

export interface Phase {
  caption: string;
  /** The state each marked box shows during this phase. */
  marks: Record<number, Mark>;
}

/**
 * A Sequential multilayer perceptron: Linear [-> BatchNorm] -> activation per hidden layer,
 * a Linear to the classes, then cross-entropy. Its statistics are named by the parameter's
 * path in the Sequential ("0.weight"), as the trainers report them.
 */
function perceptronBoxes({ inputs, hidden, classes, batchNorm, activation }: MlpArchitecture): LayerBox[] {
  const widths = [inputs, ...hidden];
  const boxes: LayerBox[] = [{ title: 'Input', detail: `${inputs} pixels`, learns: false }];
  const add = (box: LayerBox) => boxes.push({ ...box, stats: `${boxes.length - 1}.weight` });
  hidden.forEach((width, i) => {
    add({ title: 'Linear', detail: `${widths[i]} → ${width}`, learns: true });
    if (batchNorm) add({ title: 'BatchNorm', detail: `${width} features`, learns: true });
    add({ title: activation[0].toUpperCase() + activation.slice(1), detail: `${width}`, learns: false });
  });
  add({ title: 'Linear', detail: `${widths.at(-1)} → ${classes}`, learns: true });
  boxes.push({ title: 'Loss', detail: 'cross-entropy', learns: false });
  return boxes;
}

/** backprop's convolutional network: per stage a convolution, ReLU and max pooling, then an MLP. */
function convolutionalBoxes({
  inputs,
  channels,
  kernelSize: k,
  hidden,
  classes,
}: CnnArchitecture): LayerBox[] {
  let side = Math.sqrt(inputs);
  const boxes: LayerBox[] = [{ title: 'Input', detail: `${side}×${side} image`, learns: false }];
  const add = (box: LayerBox) => boxes.push({ ...box, stats: `${boxes.length - 1}.weight` });
  channels.forEach((filters, i) => {
    side -= k - 1;
    add({ title: 'Conv2d', detail: `${i ? channels[i - 1] : 1} → ${filters}, ${k}×${k}`, learns: true });
    add({ title: 'ReLU', detail: `${filters}×${side}×${side}`, learns: false });
    side = Math.floor(side / 2);
    add({ title: 'MaxPool2d', detail: `2×2 → ${side}×${side}`, learns: false });
  });
  const widths = [channels.at(-1)! * side * side, ...hidden];
  boxes.push({ title: 'Flatten', detail: `${widths[0]}`, learns: false });
  hidden.forEach((width, i) => {
    add({ title: 'Linear', detail: `${widths[i]} → ${width}`, learns: true });
    add({ title: 'ReLU', detail: `${width}`, learns: false });
  });
  add({ title: 'Linear', detail: `${widths.at(-1)} → ${classes}`, learns: true });
  boxes.push({ title: 'Loss', detail: 'cross-entropy', learns: false });
  return boxes;
}

/** Forward-Forward: label-carrying input, ReLU layers with a goodness loss each, a softmax head. */
function forwardForwardBoxes({
  inputs,
  hidden,
  classes,
  readoutFrom,
  receptiveFields,
}: FFStackArchitecture): LayerBox[] {
  const widths = [inputs, ...hidden];
  const connection = (i: number) => {
    const field = receptiveFields?.[i];
    return field ? `, locally connected (${field.size}x${field.size} fields, stride ${field.stride})` : '';
  };
  const read =
    readoutFrom === hidden.length ? `layer ${readoutFrom}` : `layers ${readoutFrom}–${hidden.length}`;
  return [
    { title: 'Input', detail: `${inputs} pixels, label in the first ${classes}`, learns: false },
    ...hidden.map((width, i) => ({
      title: `Layer ${i + 1}`,
      detail: `${widths[i]} → ${width}${connection(i)}, ReLU`,
      learns: true,
      stats: `layer ${i + 1}`,
      ownLoss: 'its own goodness loss: high for the true label, low for the wrong one',
    })),
    {
      title: 'Softmax head',
      detail: `reads ${read} → ${classes}`,
      learns: true,
      ownLoss: 'its own cross-entropy, which never reaches the layers',
    },
  ];
}

/** Local losses: blocks that each learn from their own classifier's cross-entropy. */
function localBoxes({ inputs, hidden, classes, activation }: LocalMlpArchitecture): LayerBox[] {
  const widths = [inputs, ...hidden];
  return [
    { title: 'Input', detail: `${inputs} pixels`, learns: false },
    ...hidden.map((width, i) => ({
      title: `Block ${i + 1}`,
      detail: `${widths[i]} → ${width}, ${activation}, own head → ${classes}`,
      learns: true,
      stats: `blocks.${i}.weight`,
      ownLoss: "its own head's cross-entropy; no gradient reaches the block below",
    })),
    { title: 'Prediction', detail: `block ${hidden.length}'s head`, learns: false },
  ];
}

/** Recurrent Forward-Forward: the image below, the label above, layers settling between them, and a head. */
function recurrentBoxes({ inputs, hidden, classes }: FFRecurrentArchitecture): LayerBox[] {
  const widths = [inputs, ...hidden, classes];
  return [
    { title: 'Input', detail: `${inputs} pixels, the same every step`, learns: false },
    ...hidden.map((width, i) => ({
      title: `Layer ${i + 1}`,
      detail: `${widths[i]} ↑ and ${widths[i + 2]} ↓ → ${width}, ReLU, damped`,
      learns: true,
      stats: `layer ${i + 1}`,
      ownLoss: 'its own goodness loss at each counted step, from its neighbours one step before',
    })),
    { title: 'Label', detail: `${classes} one-hot, feeding the top layer`, learns: false },
    {
      title: 'Softmax head',
      detail: `reads the ${hidden.length} layers' bottom-up pass → ${classes}`,
      learns: true,
      ownLoss: 'its own cross-entropy, which never reaches the layers (with hard negatives, it picks them)',
    },
  ];
}

/** The boxes of a trainer's architecture: one reader case per kind. */
export function layerBoxes(a: Architecture): LayerBox[] {
  switch (a.kind) {
    case 'mlp':
      return perceptronBoxes(a);
    case 'ff-stack':
      return forwardForwardBoxes(a);
    case 'cnn':
      return convolutionalBoxes(a);
    case 'fa-mlp':
    case 'dfa-mlp':
      return perceptronBoxes({ ...a, kind: 'mlp', batchNorm: false });
    case 'local-mlp':
      return localBoxes(a);
    case 'ff-recurrent':
      return recurrentBoxes(a);
  }
}

const indices = (boxes: LayerBox[], keep: (box: LayerBox) => boolean) =>
  boxes.flatMap((box, i) => (keep(box) ? [i] : []));

/** Marks `ids` with `mark`, on top of `base`. */
const marked = (base: Record<number, Mark>, ids: number[], mark: Mark) => ({
  ...base,
  ...Object.fromEntries(ids.map((i) => [i, mark])),
});

/** The phases of a pass up to the loss: each box below it marked `mark` in turn, then the loss. */
function towardTheLoss(
  boxes: LayerBox[],
  mark: Mark,
  caption: (title: string) => string,
  lossCaption: string,
): { phases: Phase[]; state: Record<number, Mark> } {
  const phases: Phase[] = [];
  let state: Record<number, Mark> = {};
  const last = boxes.length - 1;
  for (let i = 0; i < last; i++) {
    state = marked(state, [i], mark);
    phases.push({ caption: caption(boxes[i].title), marks: state });
  }
  state = marked(state, [last], 'loss');
  phases.push({ caption: lossCaption, marks: state });
  return { phases, state };
}

/** The last phase of a global update: every layer that learns updates at once. */
const allUpdate = (boxes: LayerBox[], caption: string): Phase => ({
  caption,
  marks: marked(
    {},
    indices(boxes, (b) => b.learns),
    'update',
  ),
});

/**
 * Backprop: forward to the loss, backward to the input, and only then does anything update.
 * Feedback alignment takes the same path back, through fixed random matrices (`through`).
 */
function backpropPhases(boxes: LayerBox[], through = 'the gradient flows back through'): Phase[] {
  let { phases, state } = towardTheLoss(
    boxes,
    'forward',
    (title) => `Forward: ${title}. Its activations are kept for the backward pass; nothing can update yet.`,
    'The loss is reached. Still no layer can update: their gradients need the backward pass.',
  );
  for (let i = boxes.length - 2; i > 0; i--) {
    state = marked(state, [i], 'backward');
    phases.push({ caption: `Backward: ${through} ${boxes[i].title}.`, marks: state });
  }
  phases.push(allUpdate(boxes, 'The backward pass has returned: every layer updates at once.'));
  return phases;
}

/** Forward-Forward and local losses: each layer's gradient is complete right after its own forward step. */
function ownLossPhases(
  boxes: LayerBox[],
  intro = 'The image enters twice: with its true label (positive) and with a wrong one (negative).',
): Phase[] {
  const phases: Phase[] = [];
  let state: Record<number, Mark> = { 0: 'forward' };
  phases.push({ caption: intro, marks: state });
  boxes.forEach((box, i) => {
    if (!box.ownLoss) return;
    state = marked(state, [i], 'forward');
    phases.push({ caption: `${box.title}: forward, then ${box.ownLoss}.`, marks: state });
    state = marked(state, [i], 'update');
    phases.push({
      caption: `${box.title} has its whole gradient already: it can update now, without waiting for any layer above.`,
      marks: state,
    });
    state = marked(state, [i], 'done');
  });
  return phases;
}

/** Forward gradients: values and tangents go forward together; no backward pass at all. */
function forwardGradientPhases(boxes: LayerBox[]): Phase[] {
  const { phases } = towardTheLoss(
    boxes,
    'tangent',
    (title) =>
      `Forward with a tangent: ${title} passes on its value and its change along a random direction.`,
    'The loss and its directional derivative arrive together: there is no backward pass.',
  );
  phases.push(
    allUpdate(
      boxes,
      'Every layer updates at once, along the random direction scaled by the directional derivative.',
    ),
  );
  return phases;
}

/** Direct feedback alignment: the output error reaches every layer at once, through its own fixed matrix. */
function directFeedbackPhases(boxes: LayerBox[]): Phase[] {
  const { phases } = towardTheLoss(
    boxes,
    'forward',
    (title) => `Forward: ${title}. Its pre-activation is kept for its update.`,
    'The loss is reached: its error goes straight to every layer, each through its own fixed random matrix.',
  );
  phases.push(allUpdate(boxes, 'No error passes layer to layer: every layer updates at once.'));
  return phases;
}

export function stepPhases(algorithm: Algorithm, boxes: LayerBox[]): Phase[] {
  switch (algorithm) {
    case 'bp':
      return backpropPhases(boxes);
    case 'fa':
      return backpropPhases(boxes, 'the error comes back through a fixed random matrix, not the weights of');
    case 'dfa':
      return directFeedbackPhases(boxes);
    case 'ff':
      return ownLossPhases(boxes);
    case 'ff-recurrent':
      return ownLossPhases(
        boxes,
        'The image below and a label above, the same at every step: each layer reads its neighbours as they were one step before.',
      );
    case 'lg-bp':
    case 'lg-fg-w':
    case 'lg-fg-a':
      return ownLossPhases(
        boxes,
        'The image enters the first block; each block passes on its activity, cut from its graph.',
      );
    default:
      return forwardGradientPhases(boxes);
  }
}
