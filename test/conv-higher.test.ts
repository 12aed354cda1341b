// Second derivatives through the spatial ops, reverse over reverse: their VJPs are written
// with ops, so a gradient can itself be differentiated (the convolution's weight gradient
// depends on x through unfold(x)).

import { test } from 'node:test';
import { conv2d, grad, maxPool2d, Rng, randn, type Tensor } from '../src/index.js';
import { assertClose, type Fn, finiteDifference } from './helpers/gradcheck.js';

/** Reverse mode over reverse mode: grad(f) against central differences of f, every input. */
function checkSecondOrder(f: Fn, inputs: Tensor[]): void {
  const grads = grad(f)(...inputs);
  inputs.forEach((_, i) => {
    assertClose(grads[i].data, finiteDifference(f, inputs, i), { rtol: 1e-6, atol: 1e-8 }, `input ${i}`);
  });
}

const rng = new Rng(21);
const normal = (shape: number[]) => randn(shape, { dtype: 'float64', rng });

test("a convolution's weight gradient differentiates with respect to the input", () => {
  const c = normal([2, 3, 4, 4]);
  const r = normal([3, 2, 3, 3]);
  const loss = (x: Tensor, w: Tensor) => conv2d(x, w, null, { padding: 1 }).tanh().mul(c).sum();
  // <dL/dw, r> as a function of x and w: differentiating it runs the VJP's own ops backwards.
  const weightGradient = (x: Tensor, w: Tensor) => grad(loss)(x, w)[1].mul(r).sum();
  checkSecondOrder(weightGradient, [normal([2, 2, 4, 4]), normal([3, 2, 3, 3])]);
});

test("a max pool's input gradient differentiates again", () => {
  const x = normal([1, 2, 4, 4]);
  const c = normal([1, 2, 2, 2]);
  const inputGradient = (v: Tensor) => grad((t: Tensor) => maxPool2d(t.mul(t), 2).mul(c).sum())(v)[0].sum();
  checkSecondOrder(inputGradient, [x]);
});
