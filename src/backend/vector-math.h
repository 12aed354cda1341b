// Float32 vector math in GCC/Clang vector extensions, shared by the native kernels
// (native/isa-kernels.inc, once per instruction set) and the WebAssembly ones (wasm/kernels.c),
// so that both compute every transcendental function with the same algorithm and round alike.
// The includer defines VF, the floats per vector (4 for WebAssembly SIMD and SSE, 8 for AVX2,
// 16 for AVX-512); the compiler's flags decide the instructions, fused multiply-add included.

#ifndef CHAINRULE_VECTOR_MATH_H
#define CHAINRULE_VECTOR_MATH_H

#include <stdint.h>

typedef float vec_f __attribute__((vector_size(VF * 4)));
typedef int32_t vec_i __attribute__((vector_size(VF * 4)));
typedef uint32_t vec_u __attribute__((vector_size(VF * 4)));

// x - 0 is exactly x for every x (x + 0 would turn -0 into 0), so this folds to a broadcast.
static inline vec_f vec_splat(float x) { return x - (vec_f){0}; }
static inline vec_f vec_select(vec_i mask, vec_f if_set, vec_f if_clear) {
  return (vec_f)(((vec_i)if_set & mask) | ((vec_i)if_clear & ~mask));
}
static inline vec_f vec_one_where(vec_i mask) { return (vec_f)(mask & (vec_i)vec_splat(1.0f)); }
static inline vec_f vec_abs(vec_f x) { return (vec_f)((vec_i)x & 0x7fffffff); }
static inline vec_i vec_sign_bit(vec_f x) { return (vec_i)x & (int32_t)0x80000000; }

// ---------------------------------------------------------------------------------------
// Float32 transcendental functions, accurate to a few ulp: Cephes polynomials (fitted for
// evaluation without fused multiply-add; with it they are as accurate or better).

// x * 2^ni for integer ni in [-252, 254], as two factors so that results in the subnormal
// range round once (in the final multiply) instead of flushing to zero.
static inline vec_f vec_scale_by_pow2(vec_f x, vec_i ni) {
  vec_i half = ni >> 1;
  vec_f s1 = (vec_f)((half + 127) << 23), s2 = (vec_f)((ni - half + 127) << 23);
  return x * s1 * s2;
}

static inline vec_f vec_exp(vec_f x) {
  // Beyond these bounds the result is inf or 0 anyway; clamping keeps n in range. NaN
  // compares false and passes through.
  x = vec_select(x > 89.0f, vec_splat(89.0f), x);
  x = vec_select(x < -104.0f, vec_splat(-104.0f), x);
  // Adding 1.5 * 2^23 rounds x / ln 2 to the nearest integer n, which then sits in the low
  // mantissa bits of the sum.
  vec_f shifter = vec_splat(12582912.0f);
  vec_f shifted = x * 1.44269504088896341f + shifter;
  vec_f n = shifted - shifter;
  // ln 2 in two parts: n * 0.693359375 is exact for |n| < 2^15.
  vec_f r = x - n * 0.693359375f - n * -2.12194440e-4f;
  vec_f p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  return vec_scale_by_pow2(p, (vec_i)shifted - (vec_i)shifter);
}

static inline vec_f vec_log(vec_f x) {
  // Subnormals are scaled into the normal range first so the exponent split below holds.
  vec_i subnormal = x < 1.17549435e-38f;
  vec_f xs = vec_select(subnormal, x * 8388608.0f, x);
  vec_f e = __builtin_convertvector((vec_i)(((vec_u)xs >> 23) - 126), vec_f);
  e = e - (vec_f)(subnormal & (vec_i)vec_splat(23.0f));
  // Mantissa in [0.5, 1), then folded into [sqrt(1/2), sqrt(2)) - 1.
  vec_f m = (vec_f)(((vec_i)xs & 0x007fffff) | 0x3f000000);
  vec_i small = m < 0.707106781186547524f;
  e = e - (vec_f)(small & (vec_i)vec_splat(1.0f));
  m = m + (vec_f)(small & (vec_i)m) - 1.0f;
  vec_f z = m * m;
  vec_f y = m * 7.0376836292e-2f + -1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m + -1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m + -1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m + -2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y = y + e * -2.12194440e-4f;
  y = y - z * 0.5f;
  vec_f result = m + y + e * 0.693359375f;
  // log(0) = -inf, log(x < 0) = NaN, log(inf) = inf, log(NaN) = NaN.
  result = vec_select(x == 0.0f, vec_splat(-__builtin_inff()), result);
  result = vec_select(x == __builtin_inff(), x, result);
  result = vec_select(x != x, x, result);
  return vec_select(x < 0.0f, vec_splat(__builtin_nanf("")), result);
}

// log(1 + t) for t >= 0 without losing t's low bits in the addition (Goldberg's trick).
static inline vec_f vec_log1p_nonnegative(vec_f t) {
  vec_f u = t + 1.0f;
  vec_f d = u - 1.0f;
  return vec_select(d == 0.0f, t, vec_log(u) * t / d);
}

static inline vec_f vec_tanh(vec_f x) {
  vec_f ax = vec_abs(x);
  vec_f z = ax * ax;
  vec_f p = z * -5.70498872745e-3f + 2.06390887954e-2f;
  p = p * z + -5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z + -3.33332819422e-1f;
  vec_f near_zero = p * z * ax + ax;
  vec_f far = 1.0f - 2.0f / (vec_exp(ax + ax) + 1.0f);
  vec_f magnitude = vec_select(ax > 0.625f, far, near_zero);
  return (vec_f)((vec_i)magnitude | vec_sign_bit(x));
}

static inline vec_f vec_sigmoid(vec_f x) {
  // e^-|x| never overflows; the quotient picks 1/(1+e^-x) or e^x/(1+e^x) by sign.
  vec_f e = vec_exp(-vec_abs(x));
  return vec_select(x >= 0.0f, vec_splat(1.0f), e) / (e + 1.0f);
}

static inline vec_f vec_softplus(vec_f x) {
  // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|); NaN stays NaN through the sum.
  vec_f e = vec_exp(-vec_abs(x));
  return vec_select(x > 0.0f, x, vec_splat(0.0f)) + vec_log1p_nonnegative(e);
}

// Math.sign: ±0 and NaN map to themselves.
static inline vec_f vec_sign(vec_f x) { return vec_select(x < 0.0f, vec_splat(-1.0f), vec_select(x > 0.0f, vec_splat(1.0f), x)); }

// Math.max(x, 0): NaN stays NaN and -0 becomes 0.
static inline vec_f vec_relu(vec_f x) { return vec_select((x > 0.0f) | (x != x), x, vec_splat(0.0f)); }

#endif
