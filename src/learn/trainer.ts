// What every rule's trainer shares: a model that is a Module, an optimiser with its schedule,
// maybe a sampler, and one way of turning all that into a snapshot and back. A rule's trainer
// adds its step and its scores.

import { ChainruleError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { noGrad } from '../ops/dispatch.js';
import type { Rng } from '../tensor/random.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { check, checkChoice, checkRecord } from '../validate.js';
import { type Architecture, describeArchitecture } from './models.js';
import type { SavedOptimizer, ScheduledOptimizer } from './optimizer-state.js';
import type { Algorithm, Capabilities, StepOptions, StepResult, Trainer, TrainerSnapshot } from './types.js';

/** The model's tensors in a snapshot sit under this prefix, the optimiser's under 'optimizer.'. */
const MODEL = 'model.';

export abstract class ModelTrainer<C extends object> implements Trainer {
  abstract readonly algorithm: Algorithm;
  readonly inference: string;

  constructor(
    readonly config: C,
    readonly architecture: Architecture,
    readonly model: Module,
    protected readonly optimizer: ScheduledOptimizer,
    protected readonly capabilities: Capabilities,
    /** The sampler a step draws from, saved so a resumed run draws what it would have; null if none. */
    protected readonly rng: Rng | null,
    inference = capabilities.inferenceModes[0],
  ) {
    this.inference = inference;
  }

  /**
   * One update, in a tidy() scope: what the step made and did not keep goes back to the pool
   * for the next step's ops, so after the first a step allocates no new storage.
   */
  step(x: Tensor, y: Tensor, options?: StepOptions): StepResult {
    return tidy(() => this.trainStep(x, y, options));
  }

  /** The rule's update; it keeps any state it makes that must outlive the step (see keep()). */
  protected abstract trainStep(x: Tensor, y: Tensor, options?: StepOptions): StepResult;

  /** Class scores by a mode already checked to be one of the capabilities' inference modes. */
  protected abstract scoresBy(mode: string, x: Tensor): Tensor;

  scores(x: Tensor, inference = this.inference): Tensor {
    const mode = checkChoice(inference, this.capabilities.inferenceModes, `${this.algorithm} inference`);
    return noGrad(() => this.scoresBy(mode, x));
  }

  probabilities(x: Tensor, inference = this.inference): Tensor {
    return noGrad(() => this.scores(x, inference).softmax(-1));
  }

  plan(totalSteps: number): void {
    this.optimizer.plan(totalSteps);
  }

  get lr(): number {
    return this.optimizer.lr;
  }

  describe(): string {
    return describeArchitecture(this.architecture);
  }

  snapshot(): TrainerSnapshot {
    const tensors: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(this.model.stateDict())) tensors[MODEL + name] = t;
    const resume: Record<string, unknown> = { optimizer: this.optimizer.save(tensors) };
    if (this.rng) resume.rng = this.rng.getState();
    const described = new Set(Object.keys(this.architecture));
    const hyperparameters = Object.fromEntries(
      Object.entries(structuredClone(this.config)).filter(([key]) => !described.has(key)),
    );
    return { tensors, inference: this.inference, architecture: this.architecture, hyperparameters, resume };
  }

  /** Takes the model, optimiser and sampler state of a snapshot whose architecture is this one's. */
  restore(snapshot: TrainerSnapshot, source = 'checkpoint'): void {
    const own: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(snapshot.tensors))
      if (name.startsWith(MODEL)) own[name.slice(MODEL.length)] = t;
    const resume = checkRecord(snapshot.resume, `${source}: resume`);
    const saved = checkRecord(resume.optimizer, `${source}: resume.optimizer`) as unknown as SavedOptimizer;
    if (this.rng) checkRngState(resume.rng, `${source}: resume.rng`);
    inSource(source, () => {
      this.model.loadStateDict(own);
      this.optimizer.load(saved, snapshot.tensors);
    });
    if (this.rng) this.rng.setState(resume.rng as number[]);
  }
}

function checkRngState(value: unknown, name: string): void {
  if (!Array.isArray(value) || value.length !== 4) {
    throw new ChainruleError(`${name} must be the sampler's state, 4 integers; got ${JSON.stringify(value)}`);
  }
  for (const [i, v] of value.entries()) check('rngWord', v, `${name}[${i}]`);
}

/** Runs `work`, prefixing the message of any ChainruleError it throws with `source`. */
export function inSource<T>(source: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof ChainruleError) || error.message.startsWith(source)) throw error;
    throw new ChainruleError(`${source}: ${error.message}`);
  }
}
