// The optimiser base: parameter groups with their hyperparameters, per-parameter state, and
// the state dict that makes training resumable. Subclasses supply one parameter's update.
//
// Updates write into each parameter's `.data` in place (see src/nn/module.ts): the tensor
// objects stay the same, so a model and its optimiser keep pointing at one set of weights.

import type { FloatArray } from '../backend/kernels.js';
import { ChainruleError, formatShape } from '../errors.js';
import { sameShape } from '../ops/broadcast.js';
import { keep } from '../tensor/scope.js';
import { allocate, Tensor } from '../tensor/tensor.js';
import { check, checkRecord } from '../validate.js';

export interface Hyperparameters {
  lr: number;
}

export type ParamGroup<H extends Hyperparameters> = H & { params: Tensor[] };

/** Some parameters with settings of their own, overriding the optimiser's defaults. */
export type GroupInput<H extends Hyperparameters> = Partial<H> & { params: Iterable<Tensor> };

/** Tensors to optimise with the defaults, or groups of them with settings of their own. */
export type ParamsInput<H extends Hyperparameters> = Iterable<Tensor> | readonly GroupInput<H>[];

/** Per-parameter state: tensors shaped like the parameter, and counters. */
export type ParamState = Record<string, Tensor | number>;

export interface OptimizerStateDict<H extends Hyperparameters = Hyperparameters> {
  /** State by parameter index, counting through the groups in order (as torch does). */
  state: Record<number, ParamState>;
  paramGroups: (H & { params: number[] })[];
}

export abstract class Optimizer<
  H extends Hyperparameters = Hyperparameters,
  S extends Partial<ParamState> = Partial<ParamState>,
> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly state = new Map<Tensor, S>();

  constructor(
    protected readonly name: string,
    params: ParamsInput<H>,
    defaults: H,
  ) {
    const specs = [...(params as Iterable<Tensor | GroupInput<H>>)];
    const grouped = specs.length > 0 && specs.every((s) => !(s instanceof Tensor));
    const none: Partial<H> = {};
    const inputs = grouped ? (specs as GroupInput<H>[]) : [{ ...none, params: specs as Tensor[] }];
    const seen = new Set<Tensor>();
    this.paramGroups = inputs.map((input) => {
      const group = { ...structuredClone(defaults), ...input, params: [...input.params] } as ParamGroup<H>;
      check('lr', group.lr, `${name}: lr`);
      this.checkGroup(group, name);
      for (const p of group.params) this.checkParam(p, seen);
      return group;
    });
    if (this.paramGroups.every((g) => g.params.length === 0)) {
      throw new ChainruleError(`${name}: got no parameters to optimise; pass model.parameters()`);
    }
  }

  private checkParam(p: unknown, seen: Set<Tensor>): void {
    if (!(p instanceof Tensor)) {
      throw new ChainruleError(
        `${this.name}: parameters must be Tensors (or groups { params, ... }), got ${typeof p}`,
      );
    }
    if (p.node) {
      throw new ChainruleError(
        `${this.name}: cannot optimise a tensor computed by an op; pass leaf tensors (parameters)`,
      );
    }
    if (p.dtype === 'int32') throw new ChainruleError(`${this.name}: cannot optimise an int32 tensor`);
    if (seen.has(p)) throw new ChainruleError(`${this.name}: a parameter appears twice; list each once`);
    seen.add(p);
  }

  /** The learning rate of the first group. */
  get lr(): number {
    return this.paramGroups[0].lr;
  }

  /** Sets the learning rate of every group. */
  set lr(value: number) {
    for (const group of this.paramGroups) group.lr = value;
  }

  /** Drops every parameter's gradient, so the next backward pass starts from zero. */
  zeroGrad(): void {
    for (const group of this.paramGroups) for (const p of group.params) p.grad = null;
  }

  /** Updates every parameter that has a gradient; parameters without one are left alone. */
  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (!p.grad) continue;
        let state = this.state.get(p);
        if (!state) this.state.set(p, (state = keepState(this.initialState(p))));
        this.update(p, p.grad, state, group);
      }
    }
  }

  /**
   * Checks one group's merged hyperparameters other than its rate (checked by the base, as
   * it may have been moved by a schedule), naming the bad setting under `where`. Runs from
   * the constructor, so it may use nothing but its arguments.
   */
  protected abstract checkGroup(group: H, where: string): void;

  protected abstract initialState(param: Tensor): S;

  /** Writes one parameter's update (and its new state) in place. */
  protected abstract update(param: Tensor, grad: Tensor, state: S, group: H): void;

  private flatParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** A snapshot (copies) of the state and hyperparameters, to save and resume from. */
  stateDict(): OptimizerStateDict<H> {
    const params = this.flatParams();
    const state: Record<number, ParamState> = {};
    params.forEach((p, i) => {
      const s = this.state.get(p);
      if (s) state[i] = copyState(s, p);
    });
    let index = 0;
    const paramGroups = this.paramGroups.map(({ params: group, ...hyper }) => ({
      ...(structuredClone(hyper) as unknown as H),
      params: group.map(() => index++),
    }));
    return { state, paramGroups };
  }

  /** Restores a stateDict() taken from an optimiser of the same kind over the same parameter shapes. */
  loadStateDict(dict: OptimizerStateDict<H>): void {
    const where = `${this.name}.loadStateDict`;
    checkRecord(dict, `${where}: the state dict`);
    checkRecord(dict.state, `${where}: state`);
    if (!Array.isArray(dict.paramGroups)) {
      throw new ChainruleError(
        `${where}: paramGroups must be a list of groups, got ${typeof dict.paramGroups}`,
      );
    }
    // Saved rates may have been moved by a schedule, down to exactly 0; the rest is checked as when built.
    dict.paramGroups.forEach((g, i) => {
      const group = checkRecord(g, `${where}: paramGroups[${i}]`) as unknown as H & { params: unknown };
      check('scheduledLr', group.lr, `${where}: paramGroups[${i}].lr`);
      this.checkGroup({ ...this.paramGroups[i], ...group }, `${where}: paramGroups[${i}]`);
      if (!Array.isArray(group.params)) {
        throw new ChainruleError(`${where}: paramGroups[${i}].params must be a list of parameter indices`);
      }
    });
    if (dict.paramGroups.length !== this.paramGroups.length) {
      throw new ChainruleError(
        `${this.name}.loadStateDict: the dict has ${dict.paramGroups.length} parameter groups, this optimiser ${this.paramGroups.length}; ` +
          'create the optimiser with the same groups the dict was saved from',
      );
    }
    dict.paramGroups.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i].params.length) {
        throw new ChainruleError(
          `${this.name}.loadStateDict: group ${i} has ${g.params.length} parameters in the dict but ${this.paramGroups[i].params.length} here; ` +
            'create the optimiser over the same parameters the dict was saved from',
        );
      }
    });
    const params = this.flatParams();
    const restored = new Map<Tensor, S>();
    for (const [key, s] of Object.entries(dict.state)) {
      const p = params[Number(key)];
      if (!p) {
        throw new ChainruleError(
          `${this.name}.loadStateDict: state for parameter ${key}, but there are only ${params.length} parameters`,
        );
      }
      for (const [name, value] of Object.entries(s)) {
        if (value instanceof Tensor && !sameShape(value.shape, p.shape)) {
          throw new ChainruleError(
            `${this.name}.loadStateDict: state '${name}' of parameter ${key} has shape ${formatShape(value.shape)} ` +
              `but the parameter has shape ${formatShape(p.shape)}; load it into an optimiser over the same model`,
          );
        }
      }
      restored.set(p, copyState(s, p) as S);
    }
    this.state.clear();
    for (const [p, s] of restored) this.state.set(p, s);
    dict.paramGroups.forEach(({ params: _, ...hyper }, i) => {
      Object.assign(this.paramGroups[i], structuredClone(hyper));
    });
  }
}

/** Copies of a state's tensors in the parameter's dtype (as torch casts loaded state); numbers as they are. */
function copyState(state: Partial<ParamState>, param: Tensor): ParamState {
  const out: ParamState = {};
  for (const [name, value] of Object.entries(state)) {
    if (value === undefined) continue;
    if (value instanceof Tensor) {
      const data = allocate(param.dtype, value.size);
      data.set(value.data);
      out[name] = keep(new Tensor(data, value.shape));
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** The state's tensors kept (see keep()): made inside a training step's scope, they outlive it. */
function keepState<S extends Partial<ParamState>>(state: S): S {
  for (const value of Object.values(state)) if (value instanceof Tensor) keep(value);
  return state;
}

/** A parameter's (or its gradient's or state's) values; the constructor refused int32 parameters. */
export function floatData(t: Tensor): FloatArray {
  return t.data as FloatArray;
}
