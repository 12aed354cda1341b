// AVX2 + FMA (Haswell, Zen): 16 ymm registers hold a 6 x 16 tile of accumulators (12), the
// two vectors of a B row and one broadcast of A. Compiled with -mavx2 -mfma.
#define ISA_TABLE avx2_kernels
#define ISA_NAME "avx2"
#define VF 8
#define MR 6
#define NV 2
// KC x NR (16 KiB) of B and MR x KC of A stay in L1; MC x KC of A (144 KiB) in L2; a
// KC x NC block of B (4 MiB) in L3.
#define MC 144
#define KC 256
#define NC 4080
#include "isa-kernels.inc"
#include "spatial-kernels.inc"
