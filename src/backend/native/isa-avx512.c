// AVX-512F (Skylake-X and later, Zen 4): 32 zmm registers hold a 12 x 32 tile of
// accumulators (24), the two vectors of a B row and one broadcast of A. Compiled with
// -mavx512f -mavx2 -mfma and chosen only on CPUs (and kernels) that enable AVX-512.
#define ISA_TABLE avx512_kernels
#define ISA_NAME "avx512"
#define VF 16
#define MR 12
#define NV 2
#define MC 144
#define KC 256
#define NC 4096
#include "isa-kernels.inc"
#include "spatial-kernels.inc"
