// The sliding-window and index kernels (Kernels.im2col, col2im, maxPool2d, gather and
// scatterAdd), compiled once per instruction set from spatial-kernels.inc, and the table
// through which addon.c calls the chosen one. Each kernel works on a range of whole image
// planes (one channel of one image), so threads split a batch by planes and never share an
// output element.

#ifndef CHAINRULE_SPATIAL_H
#define CHAINRULE_SPATIAL_H

#include <stdint.h>

// A Window2dSpec (src/backend/kernels.ts), field for field.
typedef struct {
  int64_t batch, channels, height, width;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int64_t out_h, out_w;
} Window;

typedef struct {
  // cols rows (c, i, j) x columns (oh, ow) of planes [first, end): the planes' im2col blocks.
  void (*im2col)(const Window *w, const float *x, float *cols, int64_t first, int64_t end);
  // Planes [first, end) of x = the sum of their im2col blocks' entries, read back.
  void (*col2im)(const Window *w, const float *cols, float *x, int64_t first, int64_t end);
  // The windows of planes [first, end): maxima and their flat offsets in x.
  void (*max_pool)(const Window *w, const float *x, float *out, int32_t *indices, int64_t first, int64_t end);
  // out[i] = x[indices[i]] for i in [first, end); NaN for an index outside [0, x_length).
  void (*gather)(const float *x, int64_t x_length, const int32_t *indices, float *out, int64_t first,
                 int64_t end);
  // out = zeros, then out[indices[i]] += values[i] for every i, skipping indices outside
  // [0, out_length). One thread: indices may repeat.
  void (*scatter_add)(const float *values, const int32_t *indices, int64_t count, float *out, int64_t out_length);
} SpatialKernels;

extern const SpatialKernels portable_kernels_spatial;
#if defined(__x86_64__) || defined(_M_X64)
extern const SpatialKernels avx2_kernels_spatial;
extern const SpatialKernels avx512_kernels_spatial;
#endif

#endif
