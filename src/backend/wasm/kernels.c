// chainrule's WebAssembly SIMD kernels, compiled by scripts/build-wasm.sh.
//
// Every exported kernel has the signature task(args, thread, threads): `args` points at a
// small struct of 32-bit fields that the TypeScript side writes into linear memory, and the
// kernel runs as thread `thread` of `threads` that all enter it for the same job. The same
// entry point therefore serves the single-threaded path (0, 1) and each worker of a pool.
// Only GEMM is split across threads so far; the other kernels always run as (0, 1).
//
// The code must never use the C stack in linear memory: with a shared memory every worker
// instance would start its __stack_pointer at the same address. Scratch space comes from
// the caller instead, and the build (-Wframe-larger-than=0) rejects any stack frame.
//
// Buffers handed in by the TypeScript side are 64-byte aligned and followed by at least 16
// bytes of padding, so contiguous loops may run whole 4-lane vectors past their logical end.

#include <stdint.h>
#include <wasm_simd128.h>

#define VF 4
#include "../vector-math.h"

#define EXPORT(name) __attribute__((export_name(#name)))

typedef int32_t i32;

static inline i32 min_i32(i32 a, i32 b) { return a < b ? a : b; }

// a·b + c. scripts/build-wasm.sh compiles this file twice: the relaxed build (-mrelaxed-simd)
// emits f32x4.relaxed_madd, which engines run as one fused multiply-add where the CPU has one
// (rounding once) and as a multiply and an add where it does not; the plain build, for engines
// without relaxed SIMD, always multiplies and adds (rounding twice).
static inline v128_t madd(v128_t a, v128_t b, v128_t c) {
#ifdef __wasm_relaxed_simd__
  return __builtin_wasm_relaxed_madd_f32x4(a, b, c);
#else
  return wasm_f32x4_add(wasm_f32x4_mul(a, b), c);
#endif
}

// ---------------------------------------------------------------------------------------
// GEMM: C = op(A) · op(B), float32.
//
// Goto/BLIS structure: B is packed one KC x NC block at a time into NR-wide micro-panels,
// A one MC x KC block at a time into MR-tall micro-panels, and a register-blocked MR x NR
// micro-kernel walks them. Packing also absorbs both transposes, so all layouts share one
// micro-kernel whose inner loop reads unit-stride memory only.
//
// MR x NR = 4 x 8: V8 gives WebAssembly 15 usable xmm registers and has no fused
// multiply-add without relaxed SIMD, so the kernel needs its accumulators plus the B row,
// the A broadcast and a product temporary live at once. 4 x 8 (8 accumulators) is the
// largest tile that fits without spills; measured in isolation it runs at ~52 GFLOP/s on
// one Zen core against ~40 for 4 x 16 and ~33 for 6 x 8 and 4 x 12, which spill. The relaxed
// build keeps the tile. V8 reserves a temporary for relaxed_madd as well, and in Chromium
// here 5 x 8 gained 7% at 1024³ but lost a quarter on the n = 10 shapes of a classifier head
// (its A panels no longer pack four lanes at a time); 6 x 8 spilled and halved the speed;
// pinning clang's instruction order with empty asm statements gained under 3%. Zen 3 issues
// a 128-bit multiply and an add in parallel on separate pipes, so fusing them saves
// instructions rather than raising the peak: bench/fma-peak.c measures the core's fused peak
// only 1.07x its multiply-beside-add peak, and `npm run bench:browser` prints both builds
// against them.
//
// KC = 256: one A micro-panel (4 KiB) and one B micro-panel (8 KiB) stay in a 32-48 KiB
// L1 while the micro-kernel streams them. MC = 128: the packed A block (128 KiB) stays in
// L2 while every B micro-panel of the block visits it. NC = 2048: the packed B block
// (2 MiB) is reused by every MC block from L2/L3.

enum { MR = 4, NR = 8, KC = 256, MC = 128, NC = 2048 };
enum { PACKED_A_FLOATS = MC * KC, PACKED_B_FLOATS = KC * NC, EDGE_TILE_FLOATS = MR * NR };
enum { GEMM_SCRATCH_FLOATS = PACKED_A_FLOATS + PACKED_B_FLOATS + EDGE_TILE_FLOATS };

typedef struct {
  const float *a;
  const float *b;
  float *c;
  i32 batch, m, n, k;
  i32 trans_a, trans_b;
  i32 a_batch_stride, b_batch_stride;
  // GEMM_SCRATCH_FLOATS per thread.
  float *scratch;
  // The next unclaimed unit of work (see gemm_f32_task); 0 when the job starts.
  i32 next_unit;
} GemmArgs;

// A matrix operand as stored: element (row, col) of op(X) lives at
// data[row * ld + col] when not transposed and data[col * ld + row] when transposed.
typedef struct {
  const float *data;
  i32 ld;
  i32 trans;
} Operand;

static inline const float *operand_at(Operand x, i32 row, i32 col) {
  return x.trans ? x.data + col * x.ld + row : x.data + row * x.ld + col;
}

static inline void transpose4(v128_t *r0, v128_t *r1, v128_t *r2, v128_t *r3) {
  v128_t t0 = wasm_i32x4_shuffle(*r0, *r1, 0, 4, 1, 5);
  v128_t t1 = wasm_i32x4_shuffle(*r2, *r3, 0, 4, 1, 5);
  v128_t t2 = wasm_i32x4_shuffle(*r0, *r1, 2, 6, 3, 7);
  v128_t t3 = wasm_i32x4_shuffle(*r2, *r3, 2, 6, 3, 7);
  *r0 = wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5);
  *r1 = wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7);
  *r2 = wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5);
  *r3 = wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7);
}

// Packs `width` (<= 4) lanes of a panel whose lanes are contiguous along depth (rows of a
// row-major matrix), depth-major: out[p * stride + lane] = lanes[lane][p]. Four lanes at a
// time go through a 4x4 register transpose; missing lanes are zero so edge tiles need no
// special case in the micro-kernel.
static void pack_strided_lanes(const float *first, i32 lane_step, i32 width, i32 depth, float *out,
                               i32 stride) {
  if (width == 4) {
    const float *l0 = first, *l1 = first + lane_step, *l2 = l1 + lane_step, *l3 = l2 + lane_step;
    i32 p = 0;
    for (; p + 4 <= depth; p += 4) {
      v128_t r0 = wasm_v128_load(l0 + p), r1 = wasm_v128_load(l1 + p);
      v128_t r2 = wasm_v128_load(l2 + p), r3 = wasm_v128_load(l3 + p);
      transpose4(&r0, &r1, &r2, &r3);
      wasm_v128_store(out + (p + 0) * stride, r0);
      wasm_v128_store(out + (p + 1) * stride, r1);
      wasm_v128_store(out + (p + 2) * stride, r2);
      wasm_v128_store(out + (p + 3) * stride, r3);
    }
    for (; p < depth; p++)
      wasm_v128_store(out + p * stride, wasm_f32x4_make(l0[p], l1[p], l2[p], l3[p]));
    return;
  }
  for (i32 p = 0; p < depth; p++)
    for (i32 lane = 0; lane < 4; lane++)
      out[p * stride + lane] = lane < width ? first[lane * lane_step + p] : 0;
}

// Packs `width` (<= 4) lanes that are contiguous across lanes (a row-major matrix read
// along its columns): out[p * stride + lane] = src[p * ld + lane].
static void pack_contiguous_lanes(const float *src, i32 ld, i32 width, i32 depth, float *out, i32 stride) {
  if (width == 4) {
    for (i32 p = 0; p < depth; p++) wasm_v128_store(out + p * stride, wasm_v128_load(src + p * ld));
    return;
  }
  for (i32 p = 0; p < depth; p++)
    for (i32 lane = 0; lane < 4; lane++) out[p * stride + lane] = lane < width ? src[p * ld + lane] : 0;
}

// Packs the `rows` x `depth` block of op(x) at (row0, col0) into panels of `panel` rows
// (a multiple of 4), depth-major within each panel. Used for A (rows = M, depth = K) and,
// with the roles of rows and columns swapped, for B.
static inline __attribute__((always_inline)) void pack_panels(Operand x, i32 row0, i32 col0, i32 rows, i32 depth, i32 panel, float *out) {
  for (i32 r = 0; r < rows; r += panel, out += panel * depth) {
    for (i32 lane = 0; lane < panel; lane += 4) {
      i32 width = rows - r - lane;
      width = width < 0 ? 0 : min_i32(width, 4);
      const float *first = operand_at(x, row0 + r + lane, col0);
      if (x.trans)
        pack_contiguous_lanes(first, x.ld, width, depth, out + lane, panel);
      else
        pack_strided_lanes(first, x.ld, width, depth, out + lane, panel);
    }
  }
}

// c (MR x NR, row stride ldc) = or += a_panel · b_panel over depth kc; when !wide, only the
// left half of the tile (a right edge of at most 4 columns, which then costs half as much).
static inline __attribute__((always_inline)) void tile_kernel(i32 kc, const float *a, const float *b,
                                                              float *c, i32 ldc, i32 accumulate,
                                                              const i32 wide) {
  v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00;
  v128_t c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (i32 p = 0; p < kc; p++, a += MR, b += NR) {
    v128_t b0 = wasm_v128_load(b), b1 = wide ? wasm_v128_load(b + 4) : b0;
    v128_t a0 = wasm_v128_load32_splat(a + 0);
    c00 = madd(a0, b0, c00);
    if (wide) c01 = madd(a0, b1, c01);
    v128_t a1 = wasm_v128_load32_splat(a + 1);
    c10 = madd(a1, b0, c10);
    if (wide) c11 = madd(a1, b1, c11);
    v128_t a2 = wasm_v128_load32_splat(a + 2);
    c20 = madd(a2, b0, c20);
    if (wide) c21 = madd(a2, b1, c21);
    v128_t a3 = wasm_v128_load32_splat(a + 3);
    c30 = madd(a3, b0, c30);
    if (wide) c31 = madd(a3, b1, c31);
  }
  float *r0 = c, *r1 = c + ldc, *r2 = r1 + ldc, *r3 = r2 + ldc;
  if (accumulate) {
    c00 = wasm_f32x4_add(c00, wasm_v128_load(r0)), c10 = wasm_f32x4_add(c10, wasm_v128_load(r1));
    c20 = wasm_f32x4_add(c20, wasm_v128_load(r2)), c30 = wasm_f32x4_add(c30, wasm_v128_load(r3));
    if (wide) {
      c01 = wasm_f32x4_add(c01, wasm_v128_load(r0 + 4)), c11 = wasm_f32x4_add(c11, wasm_v128_load(r1 + 4));
      c21 = wasm_f32x4_add(c21, wasm_v128_load(r2 + 4)), c31 = wasm_f32x4_add(c31, wasm_v128_load(r3 + 4));
    }
  }
  wasm_v128_store(r0, c00), wasm_v128_store(r1, c10), wasm_v128_store(r2, c20), wasm_v128_store(r3, c30);
  if (wide) {
    wasm_v128_store(r0 + 4, c01), wasm_v128_store(r1 + 4, c11);
    wasm_v128_store(r2 + 4, c21), wasm_v128_store(r3 + 4, c31);
  }
}

// Separate functions, not inlined into the blocking loops, so that V8 tiers them up to
// optimised code during the first large GEMM instead of after it returns.
static __attribute__((noinline)) void micro_kernel(i32 kc, const float *a, const float *b, float *c, i32 ldc,
                                                   i32 accumulate) {
  tile_kernel(kc, a, b, c, ldc, accumulate, 1);
}

static __attribute__((noinline)) void micro_kernel_narrow(i32 kc, const float *a, const float *b, float *c,
                                                          i32 ldc, i32 accumulate) {
  tile_kernel(kc, a, b, c, ldc, accumulate, 0);
}

// Partial tiles at the right and bottom edges go through a scratch tile so the
// micro-kernel never writes outside C.
static void edge_tile(i32 kc, const float *a, const float *b, float *c, i32 ldc, i32 rows, i32 cols,
                      i32 accumulate, float *tile) {
  if (cols <= NR / 2)
    micro_kernel_narrow(kc, a, b, tile, NR, 0);
  else
    micro_kernel(kc, a, b, tile, NR, 0);
  for (i32 i = 0; i < rows; i++)
    for (i32 j = 0; j < cols; j++)
      c[i * ldc + j] = accumulate ? c[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}

// C (m x n, row stride ldc) = op(A) · op(B) for one matrix (or a slice of one).
static inline __attribute__((always_inline)) void gemm(i32 m, i32 n, i32 k, Operand a, Operand b, float *c, i32 ldc, float *scratch) {
  float *packed_a = scratch, *packed_b = scratch + PACKED_A_FLOATS, *tile = packed_b + PACKED_B_FLOATS;
  if (k == 0) {
    for (i32 i = 0; i < m; i++)
      for (i32 j = 0; j < n; j++) c[i * ldc + j] = 0;
    return;
  }
  // op(B)ᵀ is what gets packed into NR-wide panels: flip B's transpose flag for pack_panels.
  Operand b_t = {b.data, b.ld, !b.trans};
  for (i32 jc = 0; jc < n; jc += NC) {
    i32 nb = min_i32(NC, n - jc);
    for (i32 pc = 0; pc < k; pc += KC) {
      i32 kb = min_i32(KC, k - pc);
      pack_panels(b_t, jc, pc, nb, kb, NR, packed_b);
      for (i32 ic = 0; ic < m; ic += MC) {
        i32 mb = min_i32(MC, m - ic);
        pack_panels(a, ic, pc, mb, kb, MR, packed_a);
        for (i32 jr = 0; jr < nb; jr += NR) {
          i32 cols = min_i32(NR, nb - jr);
          const float *b_panel = packed_b + jr * kb;
          for (i32 ir = 0; ir < mb; ir += MR) {
            i32 rows = min_i32(MR, mb - ir);
            const float *a_panel = packed_a + ir * kb;
            float *c_tile = c + (ic + ir) * ldc + jc + jr;
            if (rows == MR && cols == NR)
              micro_kernel(kb, a_panel, b_panel, c_tile, ldc, pc > 0);
            else
              edge_tile(kb, a_panel, b_panel, c_tile, ldc, rows, cols, pc > 0, tile);
          }
        }
      }
    }
  }
}

// Splits [0, units) evenly: returns the first unit of `part` out of `parts`.
static inline i32 split_point(i32 units, i32 part, i32 parts) { return (i32)((int64_t)units * part / parts); }

EXPORT(gemm_scratch_floats) i32 gemm_scratch_floats(void) { return GEMM_SCRATCH_FLOATS; }

// The job is cut into units, each an independent GEMM that writes its own part of C: a
// matrix of the batch, or a slice of one, by columns (rows when it is taller than wide) in
// whole tiles. Threads claim units from a shared counter until none are left, so a thread
// whose core is slower or busy simply does fewer; about four units per thread balance well
// and cost ~2% in repeated packing against one unit per thread (measured at 1024³).
enum { UNITS_PER_THREAD = 4 };

EXPORT(gemm_f32_task) void gemm_f32_task(GemmArgs *g, i32 thread, i32 threads) {
  float *scratch = g->scratch + thread * GEMM_SCRATCH_FLOATS;
  i32 m = g->m, n = g->n, k = g->k;
  i32 lda = g->trans_a ? m : k, ldb = g->trans_b ? k : n;
  i32 split_columns = n >= m;
  i32 extent = split_columns ? n : m, tile = split_columns ? NR : MR;
  i32 tiles = (extent + tile - 1) / tile;
  i32 wanted = threads == 1 ? 1 : UNITS_PER_THREAD * threads;
  i32 slices = min_i32(tiles, (wanted + g->batch - 1) / g->batch);
  i32 units = g->batch * slices;
  for (i32 unit; (unit = __atomic_fetch_add(&g->next_unit, 1, __ATOMIC_RELAXED)) < units;) {
    i32 p = unit / slices, slice = unit % slices;
    i32 lo = min_i32(split_point(tiles, slice, slices) * tile, extent);
    i32 hi = min_i32(split_point(tiles, slice + 1, slices) * tile, extent);
    Operand a = {g->a + p * g->a_batch_stride, lda, g->trans_a};
    Operand b = {g->b + p * g->b_batch_stride, ldb, g->trans_b};
    float *c = g->c + p * m * n;
    if (split_columns) {
      Operand b_slice = {operand_at(b, 0, lo), ldb, g->trans_b};
      gemm(m, hi - lo, k, a, b_slice, c + lo, n, scratch);
    } else {
      Operand a_slice = {operand_at(a, lo, 0), lda, g->trans_a};
      gemm(hi - lo, n, k, a_slice, b, c + lo * n, n, scratch);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Vector helpers of the elementwise kernels.

static inline v128_t splat(float x) { return wasm_f32x4_splat(x); }
static inline v128_t mul(v128_t a, v128_t b) { return wasm_f32x4_mul(a, b); }
static inline v128_t add(v128_t a, v128_t b) { return wasm_f32x4_add(a, b); }
static inline v128_t sub(v128_t a, v128_t b) { return wasm_f32x4_sub(a, b); }
static inline v128_t select_v(v128_t mask, v128_t if_set, v128_t if_clear) {
  return wasm_v128_bitselect(if_set, if_clear, mask);
}
static inline v128_t one_where(v128_t mask) { return wasm_v128_and(mask, splat(1.0f)); }

// The transcendental functions are the native backend's too (vector-math.h, here on 128-bit
// vectors), so both backends compute them with one algorithm.
#define VECTOR_MATH(name, shared)                                                                  \
  static inline v128_t name(v128_t x) { return (v128_t)shared((vec_f)x); }
VECTOR_MATH(exp_f32, vec_exp)
VECTOR_MATH(log_f32, vec_log)
VECTOR_MATH(tanh_f32, vec_tanh)
VECTOR_MATH(sigmoid_f32, vec_sigmoid)
VECTOR_MATH(softplus_f32, vec_softplus)
VECTOR_MATH(sign_f32, vec_sign)

// ---------------------------------------------------------------------------------------
// Elementwise kernels. Operation codes are list positions: UNARY_OPS below follows
// UNARY_OPS in src/backend/kernels.ts, BINARY_OPS follows WASM_BINARY_OPS in ops.ts (all
// binary operations but pow, which the TypeScript side leaves to the reference backend).

// relu is max(x, 0) with WebAssembly's max, which keeps NaN and turns -0 into 0 exactly like
// the reference's Math.max(x, 0).
#define UNARY_OPS(X)                                                                               \
  X(neg, wasm_f32x4_neg(x))                                                                        \
  X(exp, exp_f32(x))                                                                               \
  X(log, log_f32(x))                                                                               \
  X(sqrt, wasm_f32x4_sqrt(x))                                                                      \
  X(abs, wasm_f32x4_abs(x))                                                                        \
  X(tanh, tanh_f32(x))                                                                             \
  X(sigmoid, sigmoid_f32(x))                                                                       \
  X(relu, wasm_f32x4_max(x, splat(0.0f)))                                                          \
  X(softplus, softplus_f32(x))                                                                     \
  X(sign, sign_f32(x))                                                                             \
  X(square, mul(x, x))                                                                             \
  X(reciprocal, wasm_f32x4_div(splat(1.0f), x))                                                    \
  X(step, one_where(wasm_f32x4_gt(x, splat(0.0f))))

// maximum/minimum return a when the operands compare equal (so ±0 keep a's sign) and NaN
// when either is NaN, exactly like the reference backend.
#define BINARY_OPS(X)                                                                              \
  X(add, add(a, b))                                                                                \
  X(sub, sub(a, b))                                                                                \
  X(mul, mul(a, b))                                                                                \
  X(div, wasm_f32x4_div(a, b))                                                                     \
  X(maximum, select_v(wasm_v128_or(wasm_f32x4_ge(a, b), wasm_f32x4_ne(a, a)), a, b))               \
  X(minimum, select_v(wasm_v128_or(wasm_f32x4_le(a, b), wasm_f32x4_ne(a, a)), a, b))               \
  X(gt, one_where(wasm_f32x4_gt(a, b)))                                                            \
  X(ge, one_where(wasm_f32x4_ge(a, b)))                                                            \
  X(lt, one_where(wasm_f32x4_lt(a, b)))                                                            \
  X(le, one_where(wasm_f32x4_le(a, b)))                                                            \
  X(eq, one_where(wasm_f32x4_eq(a, b)))

#define ENUM_ENTRY(name, expr) OP_##name,
enum UnaryOp { UNARY_OPS(ENUM_ENTRY) };
enum BinaryOp { BINARY_OPS(ENUM_ENTRY) };

typedef struct {
  i32 op;
  const float *x;
  float *out;
  i32 length;
} UnaryArgs;

#define UNARY_LOOP(name, expr)                                                                     \
  static void unary_##name(const float *in, float *out, i32 length) {                              \
    for (i32 i = 0; i < length; i += 4) {                                                          \
      v128_t x = wasm_v128_load(in + i);                                                           \
      wasm_v128_store(out + i, expr);                                                              \
    }                                                                                              \
  }
UNARY_OPS(UNARY_LOOP)

#define UNARY_CASE(name, expr)                                                                     \
  case OP_##name:                                                                                  \
    unary_##name(in, out, length);                                                                 \
    break;

EXPORT(unary_f32_task) void unary_f32_task(const UnaryArgs *u, i32 thread, i32 threads) {
  (void)thread, (void)threads;
  const float *in = u->x;
  float *out = u->out;
  i32 length = u->length;
  switch (u->op) { UNARY_OPS(UNARY_CASE) }
}

// Operands of the row kernels: row r starts at data + r * row_stride and steps by
// col_stride along the row, which is 0 (a broadcast value) or 1 (contiguous).
typedef struct {
  const float *data;
  i32 row_stride, col_stride;
} RowOperand;

// out (rows x cols, contiguous) = op(operands...). Binary kernels read operands[0..1],
// select reads cond, a, b from operands[0..2] and ignores op.
typedef struct {
  i32 op;
  float *out;
  i32 rows, cols;
  RowOperand operands[3];
} RowsArgs;

// Reads 4 lanes of a row from p (col_stride 0 or 1), or fewer at the row's end: lanes past
// `count` are undefined and never stored by store_lanes.
static inline v128_t load_lanes(const float *p, i32 col_stride, i32 count) {
  if (col_stride == 0) return wasm_v128_load32_splat(p);
  if (count >= 4) return wasm_v128_load(p);
  v128_t v = wasm_f32x4_splat(p[0]);
  if (count > 1) v = wasm_f32x4_replace_lane(v, 1, p[1]);
  if (count > 2) v = wasm_f32x4_replace_lane(v, 2, p[2]);
  return v;
}

static inline void store_lanes(float *p, v128_t v, i32 count) {
  if (count >= 4) {
    wasm_v128_store(p, v);
    return;
  }
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (count > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (count > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

static inline const float *row_start(RowOperand x, i32 row) { return x.data + row * x.row_stride; }

// One loop per stride combination, with the strides as constants, keeps the common cases
// (both contiguous, or one side a broadcast row or scalar) free of per-element branches.
#define BINARY_ROW(expr, A_STRIDE, B_STRIDE)                                                       \
  for (i32 j = 0; j < cols; j += 4) {                                                              \
    i32 count = cols - j;                                                                          \
    v128_t a = load_lanes(a_row + j * A_STRIDE, A_STRIDE, count);                                  \
    v128_t b = load_lanes(b_row + j * B_STRIDE, B_STRIDE, count);                                  \
    store_lanes(out_row + j, expr, count);                                                         \
  }

#define BINARY_LOOP(name, expr)                                                                    \
  static void binary_##name(const RowsArgs *g) {                                                   \
    i32 cols = g->cols;                                                                            \
    RowOperand x = g->operands[0], y = g->operands[1];                                             \
    for (i32 r = 0; r < g->rows; r++) {                                                            \
      const float *a_row = row_start(x, r), *b_row = row_start(y, r);                              \
      float *out_row = g->out + r * cols;                                                          \
      switch (x.col_stride * 2 + y.col_stride) {                                                   \
        case 3:                                                                                    \
          BINARY_ROW(expr, 1, 1) break;                                                            \
        case 2:                                                                                    \
          BINARY_ROW(expr, 1, 0) break;                                                            \
        case 1:                                                                                    \
          BINARY_ROW(expr, 0, 1) break;                                                            \
        default:                                                                                   \
          BINARY_ROW(expr, 0, 0) break;                                                            \
      }                                                                                            \
    }                                                                                              \
  }
BINARY_OPS(BINARY_LOOP)

#define BINARY_CASE(name, expr)                                                                    \
  case OP_##name:                                                                                  \
    binary_##name(g);                                                                              \
    break;

EXPORT(binary_f32_task) void binary_f32_task(const RowsArgs *g, i32 thread, i32 threads) {
  (void)thread, (void)threads;
  switch (g->op) { BINARY_OPS(BINARY_CASE) }
}

EXPORT(select_f32_task) void select_f32_task(const RowsArgs *g, i32 thread, i32 threads) {
  (void)thread, (void)threads;
  RowOperand cond = g->operands[0], a = g->operands[1], b = g->operands[2];
  for (i32 r = 0; r < g->rows; r++) {
    const float *c_row = row_start(cond, r), *a_row = row_start(a, r), *b_row = row_start(b, r);
    float *out_row = g->out + r * g->cols;
    for (i32 j = 0; j < g->cols; j += 4) {
      i32 count = g->cols - j;
      v128_t c = load_lanes(c_row + j * cond.col_stride, cond.col_stride, count);
      v128_t x = load_lanes(a_row + j * a.col_stride, a.col_stride, count);
      v128_t y = load_lanes(b_row + j * b.col_stride, b.col_stride, count);
      store_lanes(out_row + j, select_v(wasm_f32x4_ne(c, splat(0.0f)), x, y), count);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Reductions of contiguous x viewed as [outer, length, inner] over the middle axis.
// Sums accumulate in float64 and round once, like the reference backend.

enum { REDUCE_SUM, REDUCE_MAX, REDUCE_MIN };

typedef struct {
  i32 op;
  const float *x;
  float *out;
  i32 outer, length, inner;
  // `inner` doubles, 16-byte aligned, for column sums.
  double *accumulators;
} ReduceArgs;

static inline v128_t take_max(v128_t acc, v128_t v) {
  return select_v(wasm_v128_or(wasm_f32x4_gt(v, acc), wasm_f32x4_ne(v, v)), v, acc);
}
static inline v128_t take_min(v128_t acc, v128_t v) {
  return select_v(wasm_v128_or(wasm_f32x4_lt(v, acc), wasm_f32x4_ne(v, v)), v, acc);
}
static inline float take_max_scalar(float acc, float v) { return v > acc || v != v ? v : acc; }
static inline float take_min_scalar(float acc, float v) { return v < acc || v != v ? v : acc; }

static float sum_row(const float *x, i32 length) {
  v128_t lo = wasm_f64x2_splat(0), hi = lo;
  i32 j = 0;
  for (; j + 4 <= length; j += 4) {
    v128_t v = wasm_v128_load(x + j);
    lo = wasm_f64x2_add(lo, wasm_f64x2_promote_low_f32x4(v));
    hi = wasm_f64x2_add(hi, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3)));
  }
  v128_t both = wasm_f64x2_add(lo, hi);
  double total = wasm_f64x2_extract_lane(both, 0) + wasm_f64x2_extract_lane(both, 1);
  for (; j < length; j++) total += x[j];
  return (float)total;
}

#define EXTREME_ROW(name, init)                                                                    \
  static float name##_row(const float *x, i32 length) {                                            \
    v128_t acc = splat(init);                                                                      \
    i32 j = 0;                                                                                     \
    for (; j + 4 <= length; j += 4) acc = take_##name(acc, wasm_v128_load(x + j));                 \
    float best = take_##name##_scalar(init, wasm_f32x4_extract_lane(acc, 0));                      \
    best = take_##name##_scalar(best, wasm_f32x4_extract_lane(acc, 1));                            \
    best = take_##name##_scalar(best, wasm_f32x4_extract_lane(acc, 2));                            \
    best = take_##name##_scalar(best, wasm_f32x4_extract_lane(acc, 3));                            \
    for (; j < length; j++) best = take_##name##_scalar(best, x[j]);                               \
    return best;                                                                                   \
  }
EXTREME_ROW(max, -__builtin_inff())
EXTREME_ROW(min, __builtin_inff())

// Column reductions run down the middle axis a vector of the inner axis at a time; the
// padded buffers let the last vector of a row spill into lanes whose results are dropped.
static void sum_columns(const float *x, i32 length, i32 inner, double *acc, float *out) {
  for (i32 i = 0; i < inner; i += 2) wasm_v128_store(acc + i, wasm_f64x2_splat(0));
  for (i32 j = 0; j < length; j++, x += inner)
    for (i32 i = 0; i < inner; i += 4) {
      v128_t v = wasm_v128_load(x + i);
      wasm_v128_store(acc + i, wasm_f64x2_add(wasm_v128_load(acc + i), wasm_f64x2_promote_low_f32x4(v)));
      v128_t high = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3));
      wasm_v128_store(acc + i + 2, wasm_f64x2_add(wasm_v128_load(acc + i + 2), high));
    }
  for (i32 i = 0; i < inner; i += 4) {
    v128_t lo = wasm_f32x4_demote_f64x2_zero(wasm_v128_load(acc + i));
    v128_t hi = wasm_f32x4_demote_f64x2_zero(wasm_v128_load(acc + i + 2));
    wasm_v128_store(out + i, wasm_i32x4_shuffle(lo, hi, 0, 1, 4, 5));
  }
}

#define EXTREME_COLUMNS(name, init)                                                                \
  static void name##_columns(const float *x, i32 length, i32 inner, float *out) {                  \
    for (i32 i = 0; i < inner; i += 4) wasm_v128_store(out + i, splat(init));                      \
    for (i32 j = 0; j < length; j++, x += inner)                                                   \
      for (i32 i = 0; i < inner; i += 4)                                                           \
        wasm_v128_store(out + i, take_##name(wasm_v128_load(out + i), wasm_v128_load(x + i)));     \
  }
EXTREME_COLUMNS(max, -__builtin_inff())
EXTREME_COLUMNS(min, __builtin_inff())

EXPORT(reduce_f32_task) void reduce_f32_task(const ReduceArgs *g, i32 thread, i32 threads) {
  (void)thread, (void)threads;
  i32 length = g->length, inner = g->inner;
  for (i32 o = 0; o < g->outer; o++) {
    const float *x = g->x + o * length * inner;
    float *out = g->out + o * inner;
    if (inner == 1) {
      *out = g->op == REDUCE_SUM   ? sum_row(x, length)
             : g->op == REDUCE_MAX ? max_row(x, length)
                                   : min_row(x, length);
    } else if (g->op == REDUCE_SUM) {
      sum_columns(x, length, inner, g->accumulators, out);
    } else if (g->op == REDUCE_MAX) {
      max_columns(x, length, inner, out);
    } else {
      min_columns(x, length, inner, out);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Optimiser updates: one fused pass over a parameter and its state, in place, in float32
// arithmetic in the order torch's CPU kernels use (Kernels.sgd and Kernels.adam give the
// formulas; the relaxed build may fuse each multiply-add, as torch's vectorised kernels do).
// The per-step scalars arrive precomputed in float64 and rounded once.

typedef struct {
  float *param;
  const float *grad;
  float *buffer; // null without momentum
  i32 length;
  float lr, weight_decay, decay, keep, grad_weight, buffer_weight;
} SgdArgs;

EXPORT(sgd_f32_task) void sgd_f32_task(const SgdArgs *s, i32 thread, i32 threads) {
  (void)thread, (void)threads;
  v128_t minus_lr = splat(-s->lr), wd = splat(s->weight_decay);
  v128_t decay = splat(s->decay), keep = splat(s->keep);
  v128_t grad_weight = splat(s->grad_weight), buffer_weight = splat(s->buffer_weight);
  for (i32 i = 0; i < s->length; i += 4) {
    v128_t p = wasm_v128_load(s->param + i);
    v128_t d = madd(wd, p, wasm_v128_load(s->grad + i));
    if (s->buffer) {
      v128_t buf = madd(decay, wasm_v128_load(s->buffer + i), mul(keep, d));
      wasm_v128_store(s->buffer + i, buf);
      d = madd(grad_weight, d, mul(buffer_weight, buf));
    }
    wasm_v128_store(s->param + i, madd(minus_lr, d, p));
  }
}

typedef struct {
  float *param;
  const float *grad;
  float *exp_avg, *exp_avg_sq;
  i32 length;
  float shrink, l2, beta1, keep1, beta2, keep2, step_size, bias_correction2_sqrt, eps;
} AdamArgs;

EXPORT(adam_f32_task) void adam_f32_task(const AdamArgs *a, i32 thread, i32 threads) {
  (void)thread, (void)threads;
  v128_t shrink = splat(a->shrink), l2 = splat(a->l2);
  v128_t beta1 = splat(a->beta1), keep1 = splat(a->keep1), beta2 = splat(a->beta2), keep2 = splat(a->keep2);
  v128_t minus_step_size = splat(-a->step_size), correction = splat(a->bias_correction2_sqrt), eps = splat(a->eps);
  for (i32 i = 0; i < a->length; i += 4) {
    v128_t p = mul(wasm_v128_load(a->param + i), shrink);
    v128_t g = madd(l2, p, wasm_v128_load(a->grad + i));
    v128_t m = madd(beta1, wasm_v128_load(a->exp_avg + i), mul(keep1, g));
    v128_t v = madd(beta2, wasm_v128_load(a->exp_avg_sq + i), mul(keep2, mul(g, g)));
    wasm_v128_store(a->exp_avg + i, m);
    wasm_v128_store(a->exp_avg_sq + i, v);
    v128_t denominator = add(wasm_f32x4_div(wasm_f32x4_sqrt(v), correction), eps);
    wasm_v128_store(a->param + i, madd(minus_step_size, wasm_f32x4_div(m, denominator), p));
  }
}

// ---------------------------------------------------------------------------------------
// Sliding windows over NCHW images (Kernels.im2col, col2im and maxPool2d; the Window fields
// are Window2dSpec's, in WINDOW_FIELDS order).

typedef struct {
  i32 batch, channels, height, width;
  i32 kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  i32 out_h, out_w;
} Window;

typedef struct {
  const float *image;
  float *cols;
  Window w;
} WindowArgs;

// The output columns [*lo, *hi) whose tap at input column ow·stride + offset lies in [0, size).
static inline void inside_columns(i32 offset, i32 stride, i32 size, i32 out, i32 *lo, i32 *hi) {
  i32 first = offset >= 0 ? 0 : (stride - 1 - offset) / stride;
  i32 end = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  *lo = min_i32(first, out);
  *hi = end < *lo ? *lo : min_i32(end, out);
}

static inline void zero_floats(float *p, i32 count) {
  for (i32 i = 0; i < count; i++) p[i] = 0;
}

EXPORT(im2col_f32_task) void im2col_f32_task(const WindowArgs *a, i32 thread, i32 threads) {
  (void)thread, (void)threads;
  const Window w = a->w;
  float *col = a->cols;
  for (i32 plane = 0; plane < w.batch * w.channels; plane++) {
    const float *image = a->image + plane * w.height * w.width;
    for (i32 i = 0; i < w.kernel_h; i++)
      for (i32 j = 0; j < w.kernel_w; j++) {
        i32 offset = j * w.dilation_w - w.pad_w, lo, hi;
        inside_columns(offset, w.stride_w, w.width, w.out_w, &lo, &hi);
        for (i32 oh = 0; oh < w.out_h; oh++, col += w.out_w) {
          i32 ih = oh * w.stride_h - w.pad_h + i * w.dilation_h;
          if (ih < 0 || ih >= w.height) {
            zero_floats(col, w.out_w);
            continue;
          }
          const float *row = image + ih * w.width + offset;
          zero_floats(col, lo);
          i32 ow = lo;
          if (w.stride_w == 1)
            for (; ow + 4 <= hi; ow += 4) wasm_v128_store(col + ow, wasm_v128_load(row + ow));
          for (; ow < hi; ow++) col[ow] = row[ow * w.stride_w];
          zero_floats(col + hi, w.out_w - hi);
        }
      }
  }
}

// The adjoint of im2col: the image starts at zero and every column entry is added back to
// the pixel it was read from.
EXPORT(col2im_f32_task) void col2im_f32_task(const WindowArgs *a, i32 thread, i32 threads) {
  (void)thread, (void)threads;
  const Window w = a->w;
  float *image_base = (float *)a->image;
  zero_floats(image_base, w.batch * w.channels * w.height * w.width);
  const float *col = a->cols;
  for (i32 plane = 0; plane < w.batch * w.channels; plane++) {
    float *image = image_base + plane * w.height * w.width;
    for (i32 i = 0; i < w.kernel_h; i++)
      for (i32 j = 0; j < w.kernel_w; j++) {
        i32 offset = j * w.dilation_w - w.pad_w, lo, hi;
        inside_columns(offset, w.stride_w, w.width, w.out_w, &lo, &hi);
        for (i32 oh = 0; oh < w.out_h; oh++, col += w.out_w) {
          i32 ih = oh * w.stride_h - w.pad_h + i * w.dilation_h;
          if (ih < 0 || ih >= w.height) continue;
          float *row = image + ih * w.width + offset;
          i32 ow = lo;
          if (w.stride_w == 1)
            for (; ow + 4 <= hi; ow += 4)
              wasm_v128_store(row + ow, add(wasm_v128_load(row + ow), wasm_v128_load(col + ow)));
          for (; ow < hi; ow++) row[ow * w.stride_w] += col[ow];
        }
      }
  }
}

typedef struct {
  const float *x;
  float *out;
  i32 *indices;
  Window w;
} PoolArgs;

EXPORT(max_pool2d_f32_task) void max_pool2d_f32_task(const PoolArgs *a, i32 thread, i32 threads) {
  (void)thread, (void)threads;
  const Window w = a->w;
  i32 o = 0;
  for (i32 plane = 0; plane < w.batch * w.channels; plane++) {
    i32 base = plane * w.height * w.width;
    for (i32 oh = 0; oh < w.out_h; oh++) {
      i32 top = oh * w.stride_h - w.pad_h;
      for (i32 ow = 0; ow < w.out_w; ow++, o++) {
        i32 left = ow * w.stride_w - w.pad_w;
        float best = -__builtin_inff();
        i32 at = -1;
        for (i32 i = 0; i < w.kernel_h; i++) {
          i32 ih = top + i * w.dilation_h;
          if (ih < 0 || ih >= w.height) continue;
          const float *row = a->x + base + ih * w.width;
          for (i32 j = 0; j < w.kernel_w; j++) {
            i32 iw = left + j * w.dilation_w;
            if (iw < 0 || iw >= w.width) continue;
            float v = row[iw];
            // Like torch: a larger value or a NaN takes over; the first of equal maxima stays.
            if (at < 0 || v > best || v != v) best = v, at = base + ih * w.width + iw;
          }
        }
        a->out[o] = best;
        a->indices[o] = at;
      }
    }
  }
}
