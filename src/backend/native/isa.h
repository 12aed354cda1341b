// The kernels compiled once per instruction set (isa-kernels.inc, included by isa-*.c with
// that set's compiler flags) and the table through which addon.c calls the chosen one.

#ifndef CHAINRULE_ISA_H
#define CHAINRULE_ISA_H

#include <stdint.h>

#include "pool.h"

// Order matters: a higher value needs everything a lower one does.
enum Isa { ISA_PORTABLE, ISA_AVX2, ISA_AVX512, ISA_COUNT };

// C[b] = op(A[b]) · op(B[b]); see MatmulSpec in src/backend/kernels.ts.
typedef struct {
  const void *isa;  // the IsaKernels running the job
  const float *a;
  const float *b;
  float *c;
  int64_t batch, m, n, k;
  int trans_a, trans_b;
  int64_t a_batch_stride, b_batch_stride;
  // Set by gemm_plan (see isa-kernels.inc). solo: each thread multiplies whole matrices of
  // the batch; otherwise all of them multiply each matrix together, packing A (when pack_a)
  // shared_rows at a time and B into the calling thread's buffers, and claiming units of
  // block_rows x unit_cols.
  int solo, pack_a;
  int64_t block_rows, shared_rows, unit_cols;
  float *packed_a, *packed_b;
  // The team's ticket counter (or, solo, the next matrix) and its barrier.
  int64_t next_unit;
  PoolBarrier barrier;
} GemmJob;

// Kernel operation codes follow the lists in src/backend/kernels.ts.
enum UnaryOp {
  UNARY_NEG, UNARY_EXP, UNARY_LOG, UNARY_SQRT, UNARY_ABS, UNARY_TANH, UNARY_SIGMOID, UNARY_RELU,
  UNARY_SOFTPLUS, UNARY_SIGN, UNARY_SQUARE, UNARY_RECIPROCAL, UNARY_STEP, UNARY_COUNT
};
enum BinaryOp {
  BINARY_ADD, BINARY_SUB, BINARY_MUL, BINARY_DIV, BINARY_POW, BINARY_MAXIMUM, BINARY_MINIMUM,
  BINARY_GT, BINARY_GE, BINARY_LT, BINARY_LE, BINARY_EQ, BINARY_COUNT
};
enum ReduceOp { REDUCE_SUM, REDUCE_MAX, REDUCE_MIN };

typedef struct {
  float lr, weight_decay, decay, keep, grad_weight, buffer_weight;
} SgdScalars;

typedef struct {
  float shrink, l2, beta1, keep1, beta2, keep2, step_size, bias_correction2_sqrt, eps;
} AdamScalars;

typedef struct {
  const char *name;
  // Runs thread `thread` of `threads` over a job that all of them enter.
  void (*gemm_task)(GemmJob *job, int thread, int threads);
  // How many threads a GEMM is worth splitting over, given at most `threads`.
  void (*gemm_plan)(GemmJob *job, int threads);
  void (*unary)(int op, const float *x, float *out, int64_t length);
  // One row: out[j] = a[j * a_stride] op b[j * b_stride], strides 0 or 1.
  void (*binary_row)(int op, const float *a, int64_t a_stride, const float *b, int64_t b_stride,
                     float *out, int64_t cols);
  void (*select_row)(const float *cond, int64_t c_stride, const float *a, int64_t a_stride,
                     const float *b, int64_t b_stride, float *out, int64_t cols);
  // x viewed as [outer, length, inner] reduced over the middle axis; sums in float64.
  void (*reduce)(int op, const float *x, float *out, int64_t outer, int64_t length, int64_t inner);
  void (*sgd)(float *param, const float *grad, float *buffer, int64_t length, const SgdScalars *s);
  void (*adam)(float *param, const float *grad, float *exp_avg, float *exp_avg_sq, int64_t length,
               const AdamScalars *s);
} IsaKernels;

extern const IsaKernels portable_kernels;
#if defined(__x86_64__) || defined(_M_X64)
extern const IsaKernels avx2_kernels;
extern const IsaKernels avx512_kernels;
#endif

#endif
