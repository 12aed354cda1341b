// The Node-API face of the native kernels (src/backend/native/index.ts is the other side).
//
// Kernels read and write the tensors' typed arrays in place: nothing is copied in or out.
// Scalar arguments travel through one Float64Array that the TypeScript side registers once
// (setArgs) and fills before each call, which costs far less than converting a dozen
// JavaScript numbers per call; its layout per kernel is documented at each entry point.
// Every call starts with the instruction set (an Isa) and the most threads it may use.

#include <node_api.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "isa.h"
#include "pool.h"
#include "spatial.h"

enum { MAX_RANK = 16, ARGS_LENGTH = 64 };

// Below this much work a job stays on the calling thread: waking a worker costs a few
// microseconds, more than it saves.
static const double PARALLEL_GEMM_FLOPS = 1 << 22;
static const int64_t PARALLEL_ELEMENTS = 1 << 15;

static double *args;
static napi_ref args_ref;
static const IsaKernels *tables[ISA_COUNT];

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, "ERR_CHAINRULE_NATIVE", "chainrule native: " #call " failed");         \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

static void detect_isas(void) {
  tables[ISA_PORTABLE] = &portable_kernels;
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) tables[ISA_AVX2] = &avx2_kernels;
  if (tables[ISA_AVX2] && __builtin_cpu_supports("avx512f")) tables[ISA_AVX512] = &avx512_kernels;
#endif
}

// The storage of a typed array of type `want`, or NULL (with a JavaScript exception saying
// `expected` pending) when the value is anything else.
static void *typed_array_data(napi_env env, napi_value value, napi_typedarray_type want, size_t *length,
                              const char *expected) {
  bool is_typed_array = false;
  napi_typedarray_type array_type;
  void *data = NULL;
  size_t count = 0;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array ||
      napi_get_typedarray_info(env, value, &array_type, &count, &data, NULL, NULL) != napi_ok ||
      array_type != want) {
    napi_throw_type_error(env, "ERR_CHAINRULE_NATIVE", expected);
    return NULL;
  }
  if (length) *length = count;
  // An empty array may have no storage at all; any non-null pointer serves.
  return data ? data : (void *)args;
}

// The float32 storage of argument i, or NULL (with a JavaScript exception pending) when it
// is not a Float32Array. `nullable` lets null through as NULL without an exception.
static float *float32_data(napi_env env, napi_value value, size_t *length, bool nullable) {
  napi_valuetype type;
  if (nullable && napi_typeof(env, value, &type) == napi_ok && type == napi_null) return NULL;
  return typed_array_data(env, value, napi_float32_array, length, "chainrule native: expected a Float32Array");
}

// Reads `count` arguments into argv, throwing unless exactly that many came.
static bool get_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t given = count;
  if (napi_get_cb_info(env, info, &given, argv, NULL, NULL) != napi_ok || given != count) {
    napi_throw_error(env, "ERR_CHAINRULE_NATIVE", "chainrule native: wrong number of arguments");
    return false;
  }
  return true;
}

// The instruction set in args[0], checked against what this CPU runs.
static const IsaKernels *isa_arg(napi_env env) {
  if (!args) {
    napi_throw_error(env, "ERR_CHAINRULE_NATIVE", "chainrule native: setArgs was not called");
    return NULL;
  }
  int isa = (int)args[0];
  if (isa < 0 || isa >= ISA_COUNT || !tables[isa]) {
    napi_throw_range_error(env, "ERR_CHAINRULE_NATIVE", "chainrule native: this CPU lacks that instruction set");
    return NULL;
  }
  return tables[isa];
}

static int threads_arg(void) { return args[1] < 1 ? 1 : (int)args[1]; }

static int threads_for(int64_t elements) { return elements >= PARALLEL_ELEMENTS ? threads_arg() : 1; }

// [start, end) of part `thread` of `total` split `threads` ways, on 64-element boundaries so
// that no two threads write the same cache line.
static void split_range(int64_t total, int thread, int threads, int64_t *start, int64_t *end) {
  int64_t blocks = (total + 63) / 64;
  *start = blocks * thread / threads * 64;
  *end = blocks * (thread + 1) / threads * 64;
  if (*start > total) *start = total;
  if (*end > total) *end = total;
}

// ---------------------------------------------------------------------------------------

static napi_value set_args(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL));
  if (type != napi_float64_array || length < ARGS_LENGTH) {
    napi_throw_type_error(env, "ERR_CHAINRULE_NATIVE", "chainrule native: setArgs takes a Float64Array(64)");
    return NULL;
  }
  // The reference keeps the array (and so the storage the pointer points into) alive.
  if (args_ref) CHECK(napi_delete_reference(env, args_ref));
  CHECK(napi_create_reference(env, argv[0], 1, &args_ref));
  args = data;
  return NULL;
}

// { isas: names this CPU runs, lowest first; cores: online processors }
static napi_value cpu(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, isas, name, cores;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_array(env, &isas));
  uint32_t count = 0;
  for (int isa = 0; isa < ISA_COUNT; isa++) {
    if (!tables[isa]) continue;
    CHECK(napi_create_string_utf8(env, tables[isa]->name, NAPI_AUTO_LENGTH, &name));
    CHECK(napi_set_element(env, isas, count++, name));
  }
  CHECK(napi_set_named_property(env, result, "isas", isas));
  CHECK(napi_create_int32(env, (int32_t)sysconf(_SC_NPROCESSORS_ONLN), &cores));
  CHECK(napi_set_named_property(env, result, "cores", cores));
  return result;
}

// matmul(a, b, out); args: isa, threads, batch, m, n, k, transA, transB, aBatchStride, bBatchStride.
static void gemm_task(void *job, int thread, int threads) {
  GemmJob *g = job;
  ((const IsaKernels *)g->isa)->gemm_task(g, thread, threads);
}

static napi_value matmul(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  const IsaKernels *isa = isa_arg(env);
  if (!isa) return NULL;
  GemmJob job = {
      .isa = isa,
      .batch = (int64_t)args[2],
      .m = (int64_t)args[3],
      .n = (int64_t)args[4],
      .k = (int64_t)args[5],
      .trans_a = args[6] != 0,
      .trans_b = args[7] != 0,
      .a_batch_stride = (int64_t)args[8],
      .b_batch_stride = (int64_t)args[9],
  };
  if (!(job.a = float32_data(env, argv[0], NULL, false)) || !(job.b = float32_data(env, argv[1], NULL, false)) ||
      !(job.c = float32_data(env, argv[2], NULL, false)))
    return NULL;
  if (job.batch * job.m * job.n == 0) return NULL;
  double flops = 2.0 * job.batch * job.m * job.n * job.k;
  int threads = flops >= PARALLEL_GEMM_FLOPS ? threads_arg() : 1;
  isa->gemm_plan(&job, threads);
  pool_run(gemm_task, &job, threads);
  return NULL;
}

// unary(x, out); args: isa, threads, op.
typedef struct {
  const IsaKernels *isa;
  int op;
  const float *x;
  float *out;
  int64_t length;
} UnaryJob;

static void unary_task(void *job, int thread, int threads) {
  UnaryJob *u = job;
  int64_t start, end;
  split_range(u->length, thread, threads, &start, &end);
  if (end > start) u->isa->unary(u->op, u->x + start, u->out + start, end - start);
}

static napi_value unary(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  UnaryJob job = {.isa = isa_arg(env), .op = (int)args[2]};
  size_t length;
  if (!job.isa || !(job.x = float32_data(env, argv[0], &length, false)) ||
      !(job.out = float32_data(env, argv[1], NULL, false)))
    return NULL;
  job.length = (int64_t)length;
  pool_run(unary_task, &job, threads_for(job.length));
  return NULL;
}

// ---------------------------------------------------------------------------------------
// Strided elementwise kernels (copy, binary, select). The output is contiguous; each operand is a
// view (offset, strides) broadcast to the output's shape. Dimensions are coalesced first:
// size-1 ones dropped, neighbours that every operand walks as one merged, so a bias add
// [m, n] + [n] is m rows of n and a same-shape op a single row. Rows whose operands step by 0
// or 1 run straight through the vector row kernels; others are gathered first.

enum { MAX_OPERANDS = 3, GATHER_CHUNK = 1024 };

typedef struct {
  const IsaKernels *isa;
  int op, operands;
  int rank;  // of the coalesced shape, at least 1; the last dimension is the row
  int64_t shape[MAX_RANK];
  const float *data[MAX_OPERANDS];
  int64_t offset[MAX_OPERANDS];
  int64_t strides[MAX_OPERANDS][MAX_RANK];
  float *out;
  int64_t rows, cols;
} RowsJob;

// Reads rank, shape and each operand's offset and strides from args starting at `at`;
// returns false (with an exception pending) when the rank is too large.
static bool read_rows_layout(napi_env env, RowsJob *job, int at) {
  int rank = (int)args[at++];
  if (rank > MAX_RANK || at + rank * (1 + job->operands) + job->operands > ARGS_LENGTH) {
    napi_throw_range_error(env, "ERR_CHAINRULE_NATIVE", "chainrule native: too many dimensions");
    return false;
  }
  const double *shape = args + at;
  const double *views = shape + rank;
  job->rank = 0;
  for (int i = 0; i < job->operands; i++) job->offset[i] = (int64_t)views[i * (rank + 1)];
  for (int d = 0; d < rank; d++) {
    int64_t size = (int64_t)shape[d];
    if (size == 1) continue;
    int last = job->rank - 1;
    bool merges = last >= 0;
    for (int i = 0; i < job->operands && merges; i++)
      merges = job->strides[i][last] == (int64_t)views[i * (rank + 1) + 1 + d] * size;
    if (merges) {
      job->shape[last] *= size;
      for (int i = 0; i < job->operands; i++) job->strides[i][last] = (int64_t)views[i * (rank + 1) + 1 + d];
    } else {
      job->shape[job->rank] = size;
      for (int i = 0; i < job->operands; i++)
        job->strides[i][job->rank] = (int64_t)views[i * (rank + 1) + 1 + d];
      job->rank++;
    }
  }
  if (job->rank == 0) {
    job->shape[0] = 1;
    for (int i = 0; i < job->operands; i++) job->strides[i][0] = 0;
    job->rank = 1;
  }
  for (int d = 0; d < job->rank; d++) {
    if (job->shape[d] == 0) {
      job->rows = job->cols = 0;
      return true;
    }
  }
  job->cols = job->shape[job->rank - 1];
  job->rows = 1;
  for (int d = 0; d < job->rank - 1; d++) job->rows *= job->shape[d];
  return true;
}

static void run_row(const RowsJob *job, const float **row, const int64_t *col_stride, float *out, int64_t cols) {
  if (job->operands == 1) {
    if (col_stride[0] == 1) {
      memcpy(out, row[0], cols * sizeof(float));
    } else {
      for (int64_t j = 0; j < cols; j++) out[j] = row[0][0];
    }
  } else if (job->operands == 2)
    job->isa->binary_row(job->op, row[0], col_stride[0], row[1], col_stride[1], out, cols);
  else
    job->isa->select_row(row[0], col_stride[0], row[1], col_stride[1], row[2], col_stride[2], out, cols);
}

// Columns [c0, c1) of row r.
static void rows_segment(const RowsJob *job, int64_t r, int64_t c0, int64_t c1) {
  const float *row[MAX_OPERANDS];
  int64_t col_stride[MAX_OPERANDS];
  bool direct = true;
  for (int i = 0; i < job->operands; i++) {
    int64_t offset = job->offset[i], rest = r;
    for (int d = job->rank - 2; d >= 0; d--) {
      offset += rest % job->shape[d] * job->strides[i][d];
      rest /= job->shape[d];
    }
    col_stride[i] = job->strides[i][job->rank - 1];
    row[i] = job->data[i] + offset + c0 * col_stride[i];
    direct = direct && (col_stride[i] == 0 || col_stride[i] == 1);
  }
  float *out = job->out + r * job->cols + c0;
  if (direct) {
    run_row(job, row, col_stride, out, c1 - c0);
    return;
  }
  float gathered[MAX_OPERANDS][GATHER_CHUNK];
  for (int64_t start = 0; start < c1 - c0; start += GATHER_CHUNK) {
    int64_t count = c1 - c0 - start < GATHER_CHUNK ? c1 - c0 - start : GATHER_CHUNK;
    const float *chunk[MAX_OPERANDS];
    int64_t unit[MAX_OPERANDS];
    for (int i = 0; i < job->operands; i++) {
      const float *src = row[i] + start * col_stride[i];
      for (int64_t j = 0; j < count; j++) gathered[i][j] = src[j * col_stride[i]];
      chunk[i] = gathered[i];
      unit[i] = 1;
    }
    run_row(job, chunk, unit, out + start, count);
  }
}

static void rows_task(void *data, int thread, int threads) {
  const RowsJob *job = data;
  int64_t start, end;
  split_range(job->rows * job->cols, thread, threads, &start, &end);
  while (start < end) {
    int64_t r = start / job->cols, c0 = start % job->cols;
    int64_t c1 = c0 + (end - start) < job->cols ? c0 + (end - start) : job->cols;
    rows_segment(job, r, c0, c1);
    start += c1 - c0;
  }
}

// Reads the layout and the arrays; false with an exception pending when they are unusable.
static bool prepare_rows(napi_env env, napi_value *argv, RowsJob *job, int layout_at) {
  job->isa = isa_arg(env);
  if (!job->isa || !read_rows_layout(env, job, layout_at)) return false;
  for (int i = 0; i < job->operands; i++)
    if (!(job->data[i] = float32_data(env, argv[i], NULL, false))) return false;
  return (job->out = float32_data(env, argv[job->operands], NULL, false)) != NULL;
}

static napi_value run_rows(napi_env env, napi_value *argv, RowsJob *job, int layout_at) {
  if (prepare_rows(env, argv, job, layout_at) && job->rows * job->cols > 0)
    pool_run(rows_task, job, threads_for(job->rows * job->cols));
  return NULL;
}

// A copy whose source runs contiguously along another dimension than the output's rows (a
// transpose, or a permutation such as [batch, taps, positions] -> [positions, taps, batch])
// goes tile by tile over those two dimensions. Row by row, each source cache line would be
// fetched again for every element it holds, once per output row, long after it left the
// cache; a TILE x TILE block reads TILE source lines and writes TILE output rows, all in L1.
enum { TILE = 32 };

typedef struct {
  const RowsJob *layout;
  int across;  // the dimension the source walks with stride 1; the last is the output's rows
  int64_t tiles_across, tiles_along, outer;  // outer: every other dimension's index, flattened
  int64_t out_strides[MAX_RANK];
} TiledCopy;

typedef float f4 __attribute__((vector_size(16)));
typedef float f4_unaligned __attribute__((vector_size(16), aligned(4)));
typedef int32_t i4 __attribute__((vector_size(16)));
// GCC before 12 has no __builtin_shufflevector; clang has no __builtin_shuffle.
#if defined(__clang__)
#define SHUFFLE4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define SHUFFLE4(a, b, i, j, k, l) __builtin_shuffle(a, b, (i4){i, j, k, l})
#endif

// out[r * out_stride + c] = src[c * src_stride + r] for r, c < 4: four loads, eight
// shuffles and four stores in the 128-bit registers every target has.
static inline void transpose4(const float *src, int64_t src_stride, float *out, int64_t out_stride) {
  f4 r0 = *(const f4_unaligned *)src, r1 = *(const f4_unaligned *)(src + src_stride);
  f4 r2 = *(const f4_unaligned *)(src + 2 * src_stride), r3 = *(const f4_unaligned *)(src + 3 * src_stride);
  f4 low01 = SHUFFLE4(r0, r1, 0, 4, 1, 5), high01 = SHUFFLE4(r0, r1, 2, 6, 3, 7);
  f4 low23 = SHUFFLE4(r2, r3, 0, 4, 1, 5), high23 = SHUFFLE4(r2, r3, 2, 6, 3, 7);
  *(f4_unaligned *)out = SHUFFLE4(low01, low23, 0, 1, 4, 5);
  *(f4_unaligned *)(out + out_stride) = SHUFFLE4(low01, low23, 2, 3, 6, 7);
  *(f4_unaligned *)(out + 2 * out_stride) = SHUFFLE4(high01, high23, 0, 1, 4, 5);
  *(f4_unaligned *)(out + 3 * out_stride) = SHUFFLE4(high01, high23, 2, 3, 6, 7);
}

static void tiled_copy_task(void *data, int thread, int threads) {
  const TiledCopy *t = data;
  const RowsJob *job = t->layout;
  const int last = job->rank - 1, across = t->across;
  const int64_t per_outer = t->tiles_across * t->tiles_along, total = t->outer * per_outer;
  const int64_t along_stride = job->strides[0][last], rows_apart = t->out_strides[across];
  for (int64_t id = total * thread / threads; id < total * (thread + 1) / threads; id++) {
    // The other dimensions vary fastest: in a permutation such as [batch, taps, positions] ->
    // [positions, taps, batch] the next of them is the next run of source memory.
    int64_t rest = id % t->outer, tile = id / t->outer;
    int64_t from = job->offset[0], to = 0;
    for (int d = last - 1; d >= 0; d--) {
      if (d == across) continue;
      from += rest % job->shape[d] * job->strides[0][d];
      to += rest % job->shape[d] * t->out_strides[d];
      rest /= job->shape[d];
    }
    const int64_t i0 = tile / t->tiles_along * TILE, j0 = tile % t->tiles_along * TILE;
    const int64_t i1 = i0 + TILE < job->shape[across] ? i0 + TILE : job->shape[across];
    const int64_t j1 = j0 + TILE < job->shape[last] ? j0 + TILE : job->shape[last];
    const float *src = job->data[0] + from;
    float *out = job->out + to;
    int64_t i = i0;
    for (; i + 4 <= i1; i += 4) {
      int64_t j = j0;
      for (; j + 4 <= j1; j += 4)
        transpose4(src + i + j * along_stride, along_stride, out + i * rows_apart + j, rows_apart);
      for (; j < j1; j++)
        for (int r = 0; r < 4; r++) out[(i + r) * rows_apart + j] = src[i + r + j * along_stride];
    }
    for (; i < i1; i++)
      for (int64_t j = j0; j < j1; j++) out[i * rows_apart + j] = src[i + j * along_stride];
  }
}

// The dimension other than the last that the source walks with stride 1, when its rows are
// strided (not 0 or 1, which the row kernels take straight); -1 when there is none.
static int contiguous_across(const RowsJob *job) {
  const int64_t along = job->strides[0][job->rank - 1];
  if (along == 0 || along == 1) return -1;
  for (int d = 0; d < job->rank - 1; d++)
    if (job->strides[0][d] == 1) return d;
  return -1;
}

// binary(a, b, out); args: isa, threads, op, rank, shape..., then per operand offset, strides...
static napi_value binary(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  RowsJob job = {.op = (int)args[2], .operands = 2};
  return run_rows(env, argv, &job, 3);
}

// copy(src, out); args: isa, threads, rank, shape..., then the source's offset, strides...
static napi_value copy(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  RowsJob job = {.operands = 1};
  if (!prepare_rows(env, argv, &job, 2) || job.rows * job.cols == 0) return NULL;
  int across = contiguous_across(&job);
  if (across < 0) {
    pool_run(rows_task, &job, threads_for(job.rows * job.cols));
    return NULL;
  }
  TiledCopy tiled = {.layout = &job, .across = across, .outer = 1};
  tiled.out_strides[job.rank - 1] = 1;
  for (int d = job.rank - 2; d >= 0; d--) tiled.out_strides[d] = tiled.out_strides[d + 1] * job.shape[d + 1];
  for (int d = 0; d < job.rank - 1; d++)
    if (d != across) tiled.outer *= job.shape[d];
  tiled.tiles_across = (job.shape[across] + TILE - 1) / TILE;
  tiled.tiles_along = (job.shape[job.rank - 1] + TILE - 1) / TILE;
  pool_run(tiled_copy_task, &tiled, threads_for(job.rows * job.cols));
  return NULL;
}

// select(cond, a, b, out); args: isa, threads, rank, shape..., then per operand offset, strides...
static napi_value select_kernel(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  RowsJob job = {.operands = 3};
  return run_rows(env, argv, &job, 2);
}

// reduce(x, out); args: isa, threads, op, outer, length, inner. Work splits over `outer`.
typedef struct {
  const IsaKernels *isa;
  int op;
  const float *x;
  float *out;
  int64_t outer, length, inner;
} ReduceJob;

static void reduce_task(void *data, int thread, int threads) {
  const ReduceJob *r = data;
  int64_t start = r->outer * thread / threads, end = r->outer * (thread + 1) / threads;
  if (end > start)
    r->isa->reduce(r->op, r->x + start * r->length * r->inner, r->out + start * r->inner, end - start,
                   r->length, r->inner);
}

static napi_value reduce(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  ReduceJob job = {.isa = isa_arg(env),
                   .op = (int)args[2],
                   .outer = (int64_t)args[3],
                   .length = (int64_t)args[4],
                   .inner = (int64_t)args[5]};
  if (!job.isa || !(job.x = float32_data(env, argv[0], NULL, false)) ||
      !(job.out = float32_data(env, argv[1], NULL, false)))
    return NULL;
  int64_t elements = job.outer * job.length * job.inner;
  int threads = job.outer >= 2 ? threads_for(elements) : 1;
  pool_run(reduce_task, &job, threads < job.outer ? threads : (int)job.outer);
  return NULL;
}

// sgd(param, grad, buffer or null); args: isa, threads, lr, weightDecay, decay, keep,
// gradWeight, bufferWeight.
typedef struct {
  const IsaKernels *isa;
  float *param, *buffer;
  const float *grad;
  int64_t length;
  SgdScalars scalars;
} SgdJob;

static void sgd_task(void *data, int thread, int threads) {
  const SgdJob *s = data;
  int64_t start, end;
  split_range(s->length, thread, threads, &start, &end);
  if (end > start)
    s->isa->sgd(s->param + start, s->grad + start, s->buffer ? s->buffer + start : NULL, end - start,
                &s->scalars);
}

static napi_value sgd(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  SgdJob job = {.isa = isa_arg(env),
                .scalars = {(float)args[2], (float)args[3], (float)args[4], (float)args[5], (float)args[6],
                            (float)args[7]}};
  size_t length;
  if (!job.isa || !(job.param = float32_data(env, argv[0], &length, false)) ||
      !(job.grad = float32_data(env, argv[1], NULL, false)))
    return NULL;
  job.buffer = float32_data(env, argv[2], NULL, true);
  bool pending;
  CHECK(napi_is_exception_pending(env, &pending));
  if (pending) return NULL;
  job.length = (int64_t)length;
  pool_run(sgd_task, &job, threads_for(job.length));
  return NULL;
}

// adam(param, grad, expAvg, expAvgSq); args: isa, threads, shrink, l2, beta1, keep1, beta2,
// keep2, stepSize, biasCorrection2Sqrt, eps.
typedef struct {
  const IsaKernels *isa;
  float *param, *exp_avg, *exp_avg_sq;
  const float *grad;
  int64_t length;
  AdamScalars scalars;
} AdamJob;

static void adam_task(void *data, int thread, int threads) {
  const AdamJob *a = data;
  int64_t start, end;
  split_range(a->length, thread, threads, &start, &end);
  if (end > start)
    a->isa->adam(a->param + start, a->grad + start, a->exp_avg + start, a->exp_avg_sq + start, end - start,
                 &a->scalars);
}

static napi_value adam(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  AdamJob job = {.isa = isa_arg(env),
                 .scalars = {(float)args[2], (float)args[3], (float)args[4], (float)args[5], (float)args[6],
                             (float)args[7], (float)args[8], (float)args[9], (float)args[10]}};
  size_t length;
  if (!job.isa || !(job.param = float32_data(env, argv[0], &length, false)) ||
      !(job.grad = float32_data(env, argv[1], NULL, false)) ||
      !(job.exp_avg = float32_data(env, argv[2], NULL, false)) ||
      !(job.exp_avg_sq = float32_data(env, argv[3], NULL, false)))
    return NULL;
  job.length = (int64_t)length;
  pool_run(adam_task, &job, threads_for(job.length));
  return NULL;
}

#include "fused-kernels.inc"

// ---------------------------------------------------------------------------------------
// Sliding windows and indices (spatial.h). The window kernels split a batch by image planes.

static const SpatialKernels *const spatial_tables[ISA_COUNT] = {
    &portable_kernels_spatial,
#if defined(__x86_64__) || defined(_M_X64)
    &avx2_kernels_spatial,
    &avx512_kernels_spatial,
#endif
};

// An Int32Array argument's storage, or NULL with a JavaScript exception pending.
static int32_t *int32_data(napi_env env, napi_value value, size_t *length) {
  return typed_array_data(env, value, napi_int32_array, length, "chainrule native: expected an Int32Array");
}

// Throws unless an array holds at least `needed` elements; the kernels trust these sizes.
static bool holds(napi_env env, size_t length, int64_t needed) {
  if ((int64_t)length >= needed) return true;
  napi_throw_range_error(env, "ERR_CHAINRULE_NATIVE", "chainrule native: an array is too short for the window");
  return false;
}

typedef struct {
  const SpatialKernels *spatial;
  Window w;
  const float *in;
  float *out;
  int32_t *indices;
  int kernel;  // which of the window kernels
} WindowJob;

enum { WINDOW_IM2COL, WINDOW_COL2IM, WINDOW_MAX_POOL };

static void window_task(void *data, int thread, int threads) {
  const WindowJob *job = data;
  int64_t planes = job->w.batch * job->w.channels;
  int64_t first = planes * thread / threads, end = planes * (thread + 1) / threads;
  if (end <= first) return;
  if (job->kernel == WINDOW_IM2COL) job->spatial->im2col(&job->w, job->in, job->out, first, end);
  else if (job->kernel == WINDOW_COL2IM) job->spatial->col2im(&job->w, job->in, job->out, first, end);
  else job->spatial->max_pool(&job->w, job->in, job->out, job->indices, first, end);
}

// im2col(x, cols), col2im(cols, x) and maxPool2d(x, out, indices); args: isa, threads, then
// the Window2dSpec's fields in Window's order.
static napi_value run_window(napi_env env, napi_callback_info info, int kernel) {
  napi_value argv[3];
  size_t count = kernel == WINDOW_MAX_POOL ? 3 : 2;
  if (!get_args(env, info, count, argv) || !isa_arg(env)) return NULL;
  const double *f = args + 2;
  WindowJob job = {.spatial = spatial_tables[(int)args[0]],
                   .kernel = kernel,
                   .w = {(int64_t)f[0], (int64_t)f[1], (int64_t)f[2], (int64_t)f[3], (int64_t)f[4], (int64_t)f[5],
                         (int64_t)f[6], (int64_t)f[7], (int64_t)f[8], (int64_t)f[9], (int64_t)f[10],
                         (int64_t)f[11], (int64_t)f[12], (int64_t)f[13]}};
  const Window *w = &job.w;
  int64_t image = w->batch * w->channels * w->height * w->width;
  int64_t cols = w->batch * w->channels * w->kernel_h * w->kernel_w * w->out_h * w->out_w;
  int64_t pooled = w->batch * w->channels * w->out_h * w->out_w;
  size_t in_length, out_length, indices_length;
  float *in = float32_data(env, argv[0], &in_length, false);
  if (!in || !(job.out = float32_data(env, argv[1], &out_length, false))) return NULL;
  job.in = in;
  int64_t in_needed = kernel == WINDOW_COL2IM ? cols : image;
  int64_t out_needed = kernel == WINDOW_IM2COL ? cols : kernel == WINDOW_COL2IM ? image : pooled;
  if (!holds(env, in_length, in_needed) || !holds(env, out_length, out_needed)) return NULL;
  if (kernel == WINDOW_MAX_POOL &&
      (!(job.indices = int32_data(env, argv[2], &indices_length)) || !holds(env, indices_length, pooled)))
    return NULL;
  int64_t planes = w->batch * w->channels;
  int threads = threads_for(in_needed > out_needed ? in_needed : out_needed);
  if (planes > 0) pool_run(window_task, &job, threads < planes ? threads : (int)planes);
  return NULL;
}

static napi_value im2col(napi_env env, napi_callback_info info) { return run_window(env, info, WINDOW_IM2COL); }
static napi_value col2im(napi_env env, napi_callback_info info) { return run_window(env, info, WINDOW_COL2IM); }
static napi_value max_pool2d(napi_env env, napi_callback_info info) {
  return run_window(env, info, WINDOW_MAX_POOL);
}

typedef struct {
  const SpatialKernels *spatial;
  const float *x;
  int64_t x_length;
  const int32_t *indices;
  float *out;
  int64_t count;
} GatherJob;

static void gather_task(void *data, int thread, int threads) {
  const GatherJob *g = data;
  int64_t start, end;
  split_range(g->count, thread, threads, &start, &end);
  if (end > start) g->spatial->gather(g->x, g->x_length, g->indices, g->out, start, end);
}

// gather(x, indices, out); args: isa, threads.
static napi_value gather(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv) || !isa_arg(env)) return NULL;
  GatherJob job = {.spatial = spatial_tables[(int)args[0]]};
  size_t x_length, count, out_length;
  if (!(job.x = float32_data(env, argv[0], &x_length, false)) || !(job.indices = int32_data(env, argv[1], &count)) ||
      !(job.out = float32_data(env, argv[2], &out_length, false)) || !holds(env, out_length, (int64_t)count))
    return NULL;
  job.x_length = (int64_t)x_length;
  job.count = (int64_t)count;
  pool_run(gather_task, &job, threads_for(job.count));
  return NULL;
}

// scatterAdd(values, indices, out); args: isa, threads (it runs on one).
static napi_value scatter_add(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv) || !isa_arg(env)) return NULL;
  const SpatialKernels *spatial = spatial_tables[(int)args[0]];
  size_t values_length, count, out_length;
  float *values, *out;
  int32_t *indices;
  if (!(values = float32_data(env, argv[0], &values_length, false)) || !(indices = int32_data(env, argv[1], &count)) ||
      !(out = float32_data(env, argv[2], &out_length, false)) || !holds(env, values_length, (int64_t)count))
    return NULL;
  spatial->scatter_add(values, indices, (int64_t)count, out, (int64_t)out_length);
  return NULL;
}

NAPI_MODULE_INIT() {
  detect_isas();
  napi_property_descriptor properties[] = {
      {"setArgs", NULL, set_args, NULL, NULL, NULL, napi_default, NULL},
      {"cpu", NULL, cpu, NULL, NULL, NULL, napi_default, NULL},
      {"matmul", NULL, matmul, NULL, NULL, NULL, napi_default, NULL},
      {"unary", NULL, unary, NULL, NULL, NULL, napi_default, NULL},
      {"binary", NULL, binary, NULL, NULL, NULL, napi_default, NULL},
      {"select", NULL, select_kernel, NULL, NULL, NULL, napi_default, NULL},
      {"copy", NULL, copy, NULL, NULL, NULL, napi_default, NULL},
      {"reduce", NULL, reduce, NULL, NULL, NULL, napi_default, NULL},
      {"sgd", NULL, sgd, NULL, NULL, NULL, napi_default, NULL},
      {"adam", NULL, adam, NULL, NULL, NULL, napi_default, NULL},
      {"batchNormForward", NULL, batch_norm_forward, NULL, NULL, NULL, napi_default, NULL},
      {"batchNormBackward", NULL, batch_norm_backward, NULL, NULL, NULL, napi_default, NULL},
      {"rowSumSquares", NULL, row_sum_squares_kernel, NULL, NULL, NULL, napi_default, NULL},
      {"rmsNormalizeRows", NULL, rms_normalize_rows_kernel, NULL, NULL, NULL, napi_default, NULL},
      {"im2col", NULL, im2col, NULL, NULL, NULL, napi_default, NULL},
      {"col2im", NULL, col2im, NULL, NULL, NULL, napi_default, NULL},
      {"maxPool2d", NULL, max_pool2d, NULL, NULL, NULL, napi_default, NULL},
      {"gather", NULL, gather, NULL, NULL, NULL, napi_default, NULL},
      {"scatterAdd", NULL, scatter_add, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}
