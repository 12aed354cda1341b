// The convolutional network backpropagation trains with `--model cnn`: LeNet's shape, per
// stage a 5x5 convolution, ReLU and 2x2 max pooling, then fully connected ReLU layers and a
// linear layer to the classes. Its parameter names are torch.nn.Sequential's.

import { ChainruleError } from '../errors.js';
import { Conv2d, MaxPool2d } from '../nn/conv.js';
import { Flatten, Linear, ReLU, Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import type { Rng } from '../tensor/random.js';

export interface CnnShape {
  /** Pixels of a square grey image (784 for 28x28). */
  inputs: number;
  /** Filters of each convolution stage. */
  channels: number[];
  /** Side of the square convolution kernels. */
  kernelSize: number;
  /** Widths of the fully connected hidden layers. */
  hidden: number[];
  classes: number;
}

/** The side of the square image of `inputs` pixels. */
export function imageSide(inputs: number): number {
  const side = Math.round(Math.sqrt(inputs));
  if (side * side !== inputs) {
    throw new ChainruleError(
      `cnn: ${inputs} inputs are not a square image; the CNN takes square grey images`,
    );
  }
  return side;
}

/** The image side after each stage: a valid convolution, then pooling that halves it. */
function stageSides(shape: CnnShape): number[] {
  const sides = [imageSide(shape.inputs)];
  for (const _ of shape.channels) sides.push(Math.floor((sides.at(-1)! - shape.kernelSize + 1) / 2));
  if (sides.at(-1)! < 1) {
    throw new ChainruleError(
      `cnn: ${shape.channels.length} stages of ${shape.kernelSize}x${shape.kernelSize} convolutions and 2x2 pooling ` +
        `shrink a ${sides[0]}x${sides[0]} image to nothing (sides ${sides.join(', ')}); use fewer stages or a smaller kernel`,
    );
  }
  return sides;
}

/** Checks that the stages fit the image; throws a ChainruleError naming the problem. */
export function checkCnnShape(shape: CnnShape): void {
  stageSides(shape);
}

export function cnn(shape: CnnShape, rng: Rng): Sequential {
  const sides = stageSides(shape);
  const layers: Module[] = [];
  const inChannels = [1, ...shape.channels];
  shape.channels.forEach((filters, i) => {
    layers.push(new Conv2d(inChannels[i], filters, shape.kernelSize, { rng }), new ReLU(), new MaxPool2d(2));
  });
  const widths = [shape.channels.at(-1)! * sides.at(-1)! ** 2, ...shape.hidden];
  layers.push(new Flatten());
  shape.hidden.forEach((width, i) => {
    layers.push(new Linear(widths[i], width, { rng }), new ReLU());
  });
  layers.push(new Linear(widths.at(-1)!, shape.classes, { rng }));
  return new Sequential(...layers);
}

/** "28x28-conv5x5x16-pool-conv5x5x32-pool-128-10". */
export function describeCnn(shape: CnnShape): string {
  const side = imageSide(shape.inputs);
  const k = shape.kernelSize;
  return [
    `${side}x${side}`,
    ...shape.channels.map((c) => `conv${k}x${k}x${c}-pool`),
    ...shape.hidden,
    shape.classes,
  ].join('-');
}
