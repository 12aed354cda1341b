// What the TypeScript side and kernels.c must agree on, declared once: the fields of each
// kernel task's argument struct in order (32-bit words: pointers, i32 and float alike), and
// the op codes of the C enums. test/wasm-layouts.test.ts checks both against kernels.c.

import type { BinaryOp, ReduceOp, Window2dSpec } from '../kernels.js';
import { UNARY_OPS } from '../kernels.js';
import type { KernelTaskName } from './module.js';

/** The fields of `count` RowOperand entries of RowsArgs.operands. */
const rowOperands = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    ['data', 'row_stride', 'col_stride'].map((f) => `operands[${i}].${f}`),
  ).flat();

const rowsArgs = ['op', 'out', 'rows', 'cols', ...rowOperands(3)];

/** Window2dSpec's fields as kernels.c's Window struct names them, in its order. */
const WINDOW_FIELDS = {
  batch: 'batch',
  channels: 'channels',
  height: 'height',
  width: 'width',
  kernelH: 'kernel_h',
  kernelW: 'kernel_w',
  strideH: 'stride_h',
  strideW: 'stride_w',
  padH: 'pad_h',
  padW: 'pad_w',
  dilationH: 'dilation_h',
  dilationW: 'dilation_w',
  outH: 'out_h',
  outW: 'out_w',
} as const satisfies Record<keyof Window2dSpec, string>;

/** The window tasks' `Window w` member, field by field. */
const windowArgs = Object.values(WINDOW_FIELDS).map((f) => `w.${f}`);

/** A Window2dSpec as the named arguments of a window task (for taskArgs). */
export const windowValues = (spec: Window2dSpec): Record<string, number> =>
  Object.fromEntries(
    Object.entries(WINDOW_FIELDS).map(([key, f]) => [`w.${f}`, spec[key as keyof Window2dSpec]]),
  );

/** Each task's argument struct, field by field, as kernels.c declares it (snake_case, as there). */
export const TASK_FIELDS = {
  unary_f32_task: ['op', 'x', 'out', 'length'],
  binary_f32_task: rowsArgs,
  select_f32_task: rowsArgs,
  reduce_f32_task: ['op', 'x', 'out', 'outer', 'length', 'inner', 'accumulators'],
  gemm_f32_task: [
    'a',
    'b',
    'c',
    'batch',
    'm',
    'n',
    'k',
    'trans_a',
    'trans_b',
    'a_batch_stride',
    'b_batch_stride',
    'scratch',
    'next_unit',
  ],
  sgd_f32_task: [
    'param',
    'grad',
    'buffer',
    'length',
    'lr',
    'weight_decay',
    'decay',
    'keep',
    'grad_weight',
    'buffer_weight',
  ],
  adam_f32_task: [
    'param',
    'grad',
    'exp_avg',
    'exp_avg_sq',
    'length',
    'shrink',
    'l2',
    'beta1',
    'keep1',
    'beta2',
    'keep2',
    'step_size',
    'bias_correction2_sqrt',
    'eps',
  ],
  im2col_f32_task: ['image', 'cols', ...windowArgs],
  col2im_f32_task: ['image', 'cols', ...windowArgs],
  max_pool2d_f32_task: ['x', 'out', 'indices', ...windowArgs],
} as const satisfies Record<KernelTaskName, readonly string[]>;

/**
 * A task's argument words in the struct's order from named values; fields not given are 0
 * (a binary task fills two of RowsArgs' three operands). A name the struct lacks is a bug.
 */
export function taskArgs(task: KernelTaskName, values: Record<string, number>): number[] {
  const fields: readonly string[] = TASK_FIELDS[task];
  for (const name of Object.keys(values)) {
    if (!fields.includes(name)) throw new Error(`internal: ${task} has no argument field '${name}'`);
  }
  return fields.map((f) => values[f] ?? 0);
}

/** Op codes in the order of kernels.c's UNARY_OPS list: the library's own order. */
export const UNARY_CODES = new Map(UNARY_OPS.map((op, code) => [op, code]));

/** The binary ops kernels.c implements, in the order of its BINARY_OPS list (no pow). */
export const WASM_BINARY_OPS: readonly BinaryOp[] = [
  'add',
  'sub',
  'mul',
  'div',
  'maximum',
  'minimum',
  'gt',
  'ge',
  'lt',
  'le',
  'eq',
];
export const BINARY_CODES = new Map(WASM_BINARY_OPS.map((op, code) => [op, code]));

/** kernels.c's `enum { REDUCE_SUM, REDUCE_MAX, REDUCE_MIN }`. */
export const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };
