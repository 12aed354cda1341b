// Layers without normalisation statistics: the affine map, activations, dropout, reshaping,
// and the container that chains them.

import type { DType } from '../backend/kernels.js';
import { ChainruleError, formatShape, ShapeError } from '../errors.js';
import { mm } from '../ops/linalg.js';
import { linear } from '../ops/linear.js';
import { defaultRng, type Rng } from '../tensor/random.js';
import { rand, type Tensor } from '../tensor/tensor.js';
import { checkSize, Module, parameterDType } from './module.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Generator for the initial weights (the global one, see manualSeed, by default). */
  rng?: Rng;
  dtype?: DType;
}

/** y = x·Wᵀ + b, with W stored as [out, in] like PyTorch so state dicts match torch's shapes. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkSize('Linear', 'inFeatures', inFeatures);
    checkSize('Linear', 'outFeatures', outFeatures);
    // PyTorch's default initialisation: kaiming_uniform_(W, a=sqrt(5)) has gain sqrt(2/(1+5)) and
    // bound gain·sqrt(3/fan_in) = 1/sqrt(in), so W ~ U(-1/sqrt(in), 1/sqrt(in)); the bias is drawn
    // from the same range (bound 1/sqrt(fan_in)).
    const bound = 1 / Math.sqrt(inFeatures);
    const init = {
      low: -bound,
      high: bound,
      rng: options.rng,
      dtype: parameterDType('Linear', options.dtype),
    };
    this.weight = this.registerParameter('weight', rand([outFeatures, inFeatures], init));
    this.bias = options.bias === false ? null : this.registerParameter('bias', rand([outFeatures], init));
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new ShapeError(
        `Linear(${this.inFeatures}, ${this.outFeatures}): input of shape ${formatShape(x.shape)} must end in ` +
          `${this.inFeatures} features; flatten or reshape it to [batch, ${this.inFeatures}]`,
      );
    }
    // One fused op for the common case; otherwise transposed through the matmul flag, never copied.
    if (x.ndim === 2 && this.bias) return linear(x, this.weight, this.bias);
    const y =
      x.ndim === 1
        ? mm(x.reshape([1, this.inFeatures]), this.weight, false, true).reshape([this.outFeatures])
        : mm(x, this.weight, false, true);
    return this.bias ? y.add(this.bias) : y;
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/**
 * log(1 + exp(x)), PyTorch's Softplus with beta 1. Computed exactly everywhere; torch returns x
 * itself above its threshold of 20, which differs by less than 1e-9 relative.
 */
export class Softplus extends Module {
  forward(x: Tensor): Tensor {
    return x.softplus();
  }
}

export interface DropoutOptions {
  /** Generator for the masks (the global one, see manualSeed, by default). */
  rng?: Rng;
}

/**
 * In training, zeroes each element with probability p and scales the survivors by 1/(1-p)
 * (inverted dropout), so evaluation, where the layer is the identity, needs no rescaling.
 */
export class Dropout extends Module {
  readonly #rng: Rng | undefined;

  constructor(
    readonly p = 0.5,
    options: DropoutOptions = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ChainruleError(`Dropout: p must be in [0, 1], got ${p}`);
    this.#rng = options.rng;
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keep = 1 - this.p;
    const mask = rand(x.shape, { rng: this.#rng ?? defaultRng(), dtype: x.dtype }).lt(keep);
    return x.mul(mask.mul(keep === 0 ? 0 : 1 / keep));
  }
}

/** Merges axes startDim..endDim into one (by default all but the batch axis), like torch.nn.Flatten. */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    const resolve = (d: number) => (d < 0 ? d + x.ndim : d);
    const [start, end] = [resolve(this.startDim), resolve(this.endDim)];
    if (!(start >= 0 && end < x.ndim && start <= end)) {
      throw new ShapeError(
        `Flatten(${this.startDim}, ${this.endDim}): no such axis range in an input of shape ${formatShape(x.shape)}`,
      );
    }
    const merged = x.shape.slice(start, end + 1).reduce((p, d) => p * d, 1);
    return x.reshape([...x.shape.slice(0, start), merged, ...x.shape.slice(end + 1)]);
  }
}

/** Applies its modules in order; they are named '0', '1', ... as in torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((layer, i) => this.registerModule(String(i), layer));
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.forward(h), x);
  }
}

/**
 * Modules kept in order under the names '0', '1', ... (torch.nn.ModuleList), for networks
 * whose forward pass is not a chain: their owner calls each one itself.
 */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: readonly M[];

  constructor(items: readonly M[]) {
    super();
    this.items = items.map((item, i) => this.registerModule(String(i), item));
  }

  forward(): Tensor {
    throw new ChainruleError('ModuleList has no forward pass of its own: call the modules it holds');
  }
}
