// The learning rules by name: one table of descriptors, and the three things every caller does
// with one (resolve a configuration, build a trainer, rebuild one from a snapshot), written
// once for all of them. Adding a rule is a file in rules/ and an entry here.

import type { Normalization } from '../data/loader.js';
import { ChainruleError } from '../errors.js';
import { checkChoice, checkKnownKeys, checkRecord, show } from '../validate.js';
import { checkModelTensors, readArchitecture } from './models.js';
import { backprop } from './rules/bp.js';
import { directFeedbackAlignment, feedbackAlignment } from './rules/feedback.js';
import { forwardForward } from './rules/ff.js';
import { recurrentForwardForward } from './rules/ff-recurrent.js';
import { forwardGradients } from './rules/fg.js';
import { activityForwardGradients } from './rules/fg-a.js';
import {
  localActivityForwardGradients,
  localGreedyBackprop,
  localWeightForwardGradients,
} from './rules/local.js';
import { inSource } from './trainer.js';
import type { RuleDescriptor, RulePreset, Trainer, TrainerSnapshot } from './types.js';

/** Every learning rule; adding one is its file in rules/ and a line here. */
const RULES = {
  bp: backprop,
  ff: forwardForward,
  fg: forwardGradients,
  'fg-a': activityForwardGradients,
  'lg-bp': localGreedyBackprop,
  'lg-fg-w': localWeightForwardGradients,
  'lg-fg-a': localActivityForwardGradients,
  fa: feedbackAlignment,
  dfa: directFeedbackAlignment,
  'ff-recurrent': recurrentForwardForward,
};

export type Algorithm = keyof typeof RULES;

export type RuleConfig<A extends Algorithm> = (typeof RULES)[A] extends RuleDescriptor<infer C> ? C : never;

export const ALGORITHMS = Object.keys(RULES) as Algorithm[];

/** The rule named `name` (a flag's or a file's value, so unchecked). */
export function rule(name: unknown, what = 'algorithm'): RuleDescriptor {
  return RULES[checkChoice(name, ALGORITHMS, what)] as unknown as RuleDescriptor;
}

/** The named preset of a rule ('default' when none is named), or an error listing the rule's presets. */
export function presetOf(r: RuleDescriptor, name: string | undefined, what = 'preset'): RulePreset<object> {
  const preset = checkChoice(name ?? 'default', Object.keys(r.presets), `${what} (for ${r.name})`);
  return r.presets[preset];
}

/**
 * A rule's full configuration: the preset, then what follows from the input scaling, then the
 * user's settings (undefined ones skipped), checked once. Every error names `where.field`.
 */
export function resolveConfig(
  r: RuleDescriptor,
  options: { preset?: string; normalization?: Normalization; config?: object },
  where: string,
): object {
  const base = presetOf(r, options.preset).config;
  const user = checkRecord(options.config ?? {}, where);
  checkKnownKeys(user, base, where);
  const defined = Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined));
  const fromInputs = options.normalization ? (r.inputSettings?.(options.normalization) ?? {}) : {};
  const config = structuredClone({ ...base, ...fromInputs, ...defined });
  readArchitecture(r.architecture(config), where);
  r.check(config, where);
  return config;
}

/** A new trainer for rule `name`: its preset with `config` applied, initialised from `seed`. */
export function createTrainer<A extends Algorithm>(
  name: A,
  config: Partial<RuleConfig<A>> = {},
  options: { seed?: number; preset?: string; normalization?: Normalization } = {},
): Trainer {
  const r = rule(name);
  return r.build(resolveConfig(r, { ...options, config }, name), options.seed ?? 0);
}

/**
 * A trainer rebuilt from a snapshot (a checkpoint read back), to evaluate or resume. Its
 * description is checked first, field by field, and its tensors' shapes against the
 * architecture, so nothing is allocated for a description its weights do not bear out;
 * every error names `source`.
 */
export function restoreTrainer(
  algorithm: unknown,
  snapshot: TrainerSnapshot,
  source = 'checkpoint',
): Trainer {
  const r = rule(algorithm, `${source}: algorithm`);
  const architecture = readArchitecture(snapshot.architecture, `${source}: architecture`);
  const hyperparameters = checkRecord(snapshot.hyperparameters, `${source}: hyperparameters`);
  checkRecord(snapshot.resume, `${source}: resume`);
  const model = Object.fromEntries(
    Object.entries(snapshot.tensors).flatMap(([k, t]) => (k.startsWith('model.') ? [[k.slice(6), t]] : [])),
  );
  checkModelTensors(architecture, model, source);
  const { kind: _, ...fields } = architecture;
  const config = resolveConfig(
    r,
    { config: { ...hyperparameters, ...fields } },
    `${source}: hyperparameters`,
  );
  checkChoice(snapshot.inference, r.capabilities.inferenceModes, `${source}: inference`);
  const trainer = inSource(source, () => r.build(config, 0));
  if (trainer.inference !== snapshot.inference) {
    throw new ChainruleError(
      `${source}: inference ${show(snapshot.inference)} disagrees with its hyperparameters (${show(trainer.inference)}); the file is damaged`,
    );
  }
  trainer.restore(snapshot, source);
  return trainer;
}
