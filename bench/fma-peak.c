// The 128-bit floating-point peak of one core, the ceiling of WebAssembly SIMD's GEMM:
// twelve independent fused multiply-add chains (enough to cover FMA latency on two pipes),
// and, separately, seven multiply chains beside seven add chains (the plain WebAssembly
// build's multiply and add, counted as one multiply-add of work; seven of each cover a
// 3-cycle latency on two pipes, and with the two constants they fill the 16 registers).
// bench/browser-gemm.ts compiles and runs it; it prints the two figures in GFLOP/s on one
// line, "fused separate", each the best of a few repeats (other work only slows one down).
//
// x86-64 with FMA only: cc -O2 -mavx2 -mfma -ffp-contract=off.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define TWELVE(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define SEVEN(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6)
enum { ITERATIONS = 100000000, REPEATS = 10 };

// x·1 + 0 keeps every value fixed (no overflow, no denormals); the asm hides the constants
// from the compiler, and KEEP the results.
#define CONSTANTS                                   \
  __m128 one = _mm_set1_ps(1), zero = _mm_set1_ps(0); \
  __asm__ volatile("" : "+x"(one), "+x"(zero));
#define KEEP(v) __asm__ volatile("" ::"x"(v));

static double fused_seconds(void) {
  CONSTANTS
#define DECLARE_FUSED(i) __m128 f##i = _mm_set1_ps(i);
  TWELVE(DECLARE_FUSED)
  double start = seconds();
  for (long n = 0; n < ITERATIONS; n++) {
#define FUSED(i) f##i = _mm_fmadd_ps(f##i, one, zero);
    TWELVE(FUSED)
  }
  double elapsed = seconds() - start;
#define KEEP_FUSED(i) KEEP(f##i)
  TWELVE(KEEP_FUSED)
  return elapsed;
}

static double separate_seconds(void) {
  CONSTANTS
#define DECLARE_SEPARATE(i) __m128 m##i = _mm_set1_ps(i), a##i = m##i;
  SEVEN(DECLARE_SEPARATE)
  double start = seconds();
  for (long n = 0; n < ITERATIONS; n++) {
#define SEPARATE(i) m##i = _mm_mul_ps(m##i, one), a##i = _mm_add_ps(a##i, zero);
    SEVEN(SEPARATE)
  }
  double elapsed = seconds() - start;
#define KEEP_SEPARATE(i) KEEP(m##i) KEEP(a##i)
  SEVEN(KEEP_SEPARATE)
  return elapsed;
}

int main(void) {
  double fused = 1e30, separate = 1e30;
  for (int r = 0; r < REPEATS; r++) {
    double f = fused_seconds(), s = separate_seconds();
    fused = f < fused ? f : fused;
    separate = s < separate ? s : separate;
  }
  // 12 FMAs of 4 lanes = 96 FLOP an iteration; 7 multiplies and 7 adds, 7 multiply-adds' worth = 56.
  printf("%.2f %.2f\n", ITERATIONS * 96.0 / fused / 1e9, ITERATIONS * 56.0 / separate / 1e9);
  return 0;
}
