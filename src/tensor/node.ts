// The records both chain-rule directions work from. An Op holds one primitive's three parts:
// how to compute it (forward), how to pull a cotangent back to its inputs (vjp, reverse mode),
// and how to push input tangents forward to its output (jvp, forward mode). A Node is one
// application of an Op in a recorded graph.

import type { Tensor } from './tensor.js';

export interface OpContext<A> {
  readonly inputs: readonly Tensor[];
  readonly out: Tensor;
  readonly attrs: A;
}

/** Computes one input's cotangent on demand, so unneeded gradients cost nothing. */
export type CotangentThunk = () => Tensor;
/** The linear map from one input's tangent to its share of the output's tangent. */
export type TangentMap = (tangent: Tensor) => Tensor;

export interface Op<A = undefined> {
  readonly name: string;
  forward(inputs: readonly Tensor[], attrs: A): Tensor;
  /** One entry per input: a thunk for dL/dinput given g = dL/dout, or null if not differentiable. */
  vjp(g: Tensor, ctx: OpContext<A>): readonly (CotangentThunk | null)[];
  /** One entry per input: the map t -> (dout/dinput) t, or null if not differentiable. */
  jvp(ctx: OpContext<A>): readonly (TangentMap | null)[];
  /**
   * Local derivatives as formulas for teaching (`chainrule explain`): given the input and
   * output names, d(out)/d(input_i) as text. Present on the ops the expression language uses.
   */
  readonly symbolic?: (inputs: readonly string[], out: string) => readonly string[];
  /**
   * false for ops whose output is not a differentiable function of their inputs (comparisons,
   * which give 0/1 masks, as torch's give booleans): no node is recorded and no tangent pushed.
   */
  readonly differentiable?: false;
}

export interface Node {
  readonly id: number;
  // biome-ignore lint/suspicious/noExplicitAny: a graph mixes ops of every attribute type
  readonly op: Op<any>;
  /** Emptied after a backward pass that does not retain the graph, to free the activations. */
  inputs: readonly Tensor[];
  readonly attrs: unknown;
  /** Bytes this node keeps alive for the backward pass (its output's buffer). */
  readonly bytes: number;
}
