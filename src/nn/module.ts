// The Module: a layer or a network of layers that owns named parameters (trained leaves),
// buffers (state that is not trained, like BatchNorm's running statistics) and child modules.
// Names follow PyTorch's: a child's entries are prefixed by the child's name, so a
// Sequential's state dict reads `0.weight`, `1.running_mean`, ... and matches torch's.
//
// Parameters and buffers are tensors whose shapes never change; their values change in place
// (optimisers and loadStateDict write into `.data`, BatchNorm updates its running statistics
// there). Writing in place between steps keeps every reference to a parameter valid (the
// optimiser's list, a user's handle); a graph recorded before the write must not be reused.

import '../engine.js';
import type { DType } from '../backend/kernels.js';
import { ChainruleError, formatShape } from '../errors.js';
import { sameShape } from '../ops/broadcast.js';
import { keep } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';

export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Require the keys to match the module's exactly (default true). Shapes must match either way. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  /** The module's entries the dict did not provide (only when strict is false). */
  missingKeys: string[];
  /** The dict's entries the module has no place for (only when strict is false). */
  unexpectedKeys: string[];
}

export abstract class Module<Args extends unknown[] = [Tensor]> {
  /** Training mode (the default) or evaluation mode; see train() and eval(). */
  training = true;
  readonly #parameters = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #children = new Map<string, Module<unknown[]>>();

  abstract forward(...args: Args): Tensor;

  /** Registers a trained leaf (marked requiresGrad) under `name`; returns it. */
  protected registerParameter(name: string, value: Tensor): Tensor {
    this.checkNewName(name);
    if (value.node) {
      throw new ChainruleError(
        `${this.constructor.name}: parameter '${name}' must be a leaf tensor, not the result of an op; pass value.detach()`,
      );
    }
    this.#parameters.set(name, keep(value.requireGrad()));
    return value;
  }

  /** Registers state saved in the state dict but not trained (running statistics, counters). */
  protected registerBuffer(name: string, value: Tensor): Tensor {
    this.checkNewName(name);
    this.#buffers.set(name, keep(value));
    return value;
  }

  protected registerModule<M extends Module<unknown[]>>(name: string, module: M): M {
    this.checkNewName(name);
    this.#children.set(name, module);
    return module;
  }

  private checkNewName(name: string): void {
    if (name === '' || name.includes('.')) {
      throw new ChainruleError(
        `${this.constructor.name}: '${name}' is not a valid name: use a non-empty name without dots`,
      );
    }
    if (this.#parameters.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new ChainruleError(
        `${this.constructor.name}: '${name}' is already registered; pick another name`,
      );
    }
  }

  namedChildren(): [string, Module<unknown[]>][] {
    return [...this.#children];
  }

  /** This module and its descendants, depth first in registration order, with dotted names ('' for this one). */
  namedModules(): [string, Module<unknown[]>][] {
    const out: [string, Module<unknown[]>][] = [];
    const visit = (prefix: string, module: Module<unknown[]>) => {
      out.push([prefix, module]);
      for (const [name, child] of module.#children) visit(prefix ? `${prefix}.${name}` : name, child);
    };
    visit('', this);
    return out;
  }

  /** Every parameter with its dotted name; a tensor shared by two layers is listed once. */
  namedParameters(): [string, Tensor][] {
    return unique(this.collect((m) => m.#parameters));
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    return unique(this.collect((m) => m.#buffers));
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  private collect(pick: (m: Module<unknown[]>) => Map<string, Tensor>): [string, Tensor][] {
    return this.namedModules().flatMap(([prefix, m]) =>
      [...pick(m)].map(([name, t]): [string, Tensor] => [prefix ? `${prefix}.${name}` : name, t]),
    );
  }

  /** Sets training mode on this module and every descendant (BatchNorm and Dropout read it). */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Each module's parameters then buffers, in PyTorch's order and with its names. */
  private stateEntries(): [string, Tensor][] {
    return this.collect((m) => new Map([...m.#parameters, ...m.#buffers]));
  }

  /**
   * A snapshot of every parameter and buffer by dotted name: copies, so training on does not
   * change a saved state dict (unlike torch, whose state_dict shares storage).
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, t] of this.stateEntries()) out[name] = new Tensor(t.data.slice(), t.shape);
    return out;
  }

  /**
   * Why `value` cannot be loaded into this module's own entry `name` (say, a negative running
   * variance), or undefined when it can; loadStateDict asks before copying anything.
   */
  protected stateProblem(_name: string, _value: Tensor): string | undefined {
    return undefined;
  }

  /**
   * Copies values from `dict` into the module's parameters and buffers (converting between float
   * dtypes).
   * Every problem is reported at once and nothing is loaded unless all entries fit.
   */
  loadStateDict(dict: StateDict, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    const own = new Map(this.stateEntries());
    const owners = new Map(
      this.namedModules().flatMap(([prefix, m]) =>
        [...m.#parameters.keys(), ...m.#buffers.keys()].map((name): [string, [Module<unknown[]>, string]] => [
          prefix ? `${prefix}.${name}` : name,
          [m, name],
        ]),
      ),
    );
    const missingKeys = [...own.keys()].filter((k) => !Object.hasOwn(dict, k));
    const unexpectedKeys = Object.keys(dict).filter((k) => !own.has(k));
    const problems: string[] = [];
    let shapesDiffer = false;
    for (const [key, target] of own) {
      if (!Object.hasOwn(dict, key)) continue;
      const source = dict[key];
      if (!(source instanceof Tensor)) {
        problems.push(`'${key}' is not a Tensor`);
      } else if (!sameShape(source.shape, target.shape)) {
        shapesDiffer = true;
        problems.push(
          `'${key}' has shape ${formatShape(source.shape)} in the state dict but ${formatShape(target.shape)} in the module`,
        );
      } else {
        const [owner, name] = owners.get(key)!;
        const problem = valueProblem(source, target) ?? owner.stateProblem(name, source);
        if (problem) problems.push(`'${key}' ${problem}`);
      }
    }
    if (strict) {
      for (const key of missingKeys) {
        problems.push(`missing key '${key}' (the module expects shape ${formatShape(own.get(key)!.shape)})`);
      }
      for (const key of unexpectedKeys) {
        const shape = dict[key] instanceof Tensor ? ` with shape ${formatShape(dict[key].shape)}` : '';
        problems.push(`unexpected key '${key}'${shape} (the module has no such entry)`);
      }
    }
    if (problems.length) {
      const hint =
        missingKeys.length || unexpectedKeys.length
          ? '; build the same architecture the dict was saved from, or pass { strict: false } to load the matching keys only'
          : shapesDiffer
            ? '; build the module with the sizes the dict was saved from'
            : '';
      throw new ChainruleError(`loadStateDict: ${problems.join('; ')}${hint}`);
    }
    for (const [key, target] of own) {
      if (Object.hasOwn(dict, key)) target.data.set(dict[key].data);
    }
    return { missingKeys, unexpectedKeys };
  }
}

/**
 * What makes `source` unfit for `target` whatever the layer: integers where floats belong (a
 * checkpoint that lost its weights' dtype would load wrong weights silently), a fraction where
 * an integer belongs, NaN or infinity.
 */
function valueProblem(source: Tensor, target: Tensor): string | undefined {
  if (source.dtype === 'int32' && target.dtype !== 'int32') {
    return `holds integers (int32) but the module keeps ${target.dtype} there; save it as a float tensor`;
  }
  const data = source.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return `holds ${data[i]} at index ${i}; only finite values can be loaded`;
    if (target.dtype === 'int32' && !Number.isInteger(data[i])) {
      return `holds ${data[i]} at index ${i}, but the module keeps integers there`;
    }
  }
  return undefined;
}

function unique(entries: [string, Tensor][]): [string, Tensor][] {
  const seen = new Set<Tensor>();
  return entries.filter(([, t]) => !seen.has(t) && seen.add(t));
}

export type FloatDType = Exclude<DType, 'int32'>;

/** The dtype for a layer's parameters (float32 unless asked otherwise), refusing int32. */
export function parameterDType(layer: string, dtype: DType | undefined): FloatDType {
  if (dtype === 'int32') {
    throw new ChainruleError(`${layer}: parameters must be float32 or float64, not int32`);
  }
  return dtype ?? 'float32';
}

/** Checks a layer size argument: a positive integer. */
export function checkSize(layer: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new ChainruleError(`${layer}: ${what} must be a positive integer, got ${value}`);
  }
}
