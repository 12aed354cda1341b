// The portable path: 128-bit vectors that every x86-64 (SSE2) and arm64 (NEON) CPU has, a
// 4 x 8 tile, and no fused multiply-add. Compiled with the target's baseline flags.
#define ISA_TABLE portable_kernels
#define ISA_NAME "portable"
#define VF 4
#define MR 4
#define NV 2
#define MC 128
#define KC 256
#define NC 2048
#include "isa-kernels.inc"
#include "spatial-kernels.inc"
