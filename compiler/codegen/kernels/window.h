/* window.h: shared index arithmetic of the sliding-window kernels
 * (im2col, depthwise convolution, pooling). Internal to the kernel
 * library; not part of its interface (seqk.h). */
#ifndef SEQK_WINDOW_H
#define SEQK_WINDOW_H

#include <stdint.h>

static inline int64_t seqkMin(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t seqkMax(int64_t a, int64_t b) { return a > b ? a : b; }

/* The outputs o in [0, count) whose input index o*stride + offset lies in
 * [0, size): the interval [*lo, *hi) (empty when *lo == *hi). Splitting a
 * row of outputs into padding / interior / padding this way leaves the
 * interior loop free of bounds checks, so it vectorises. */
static inline void seqkValidRange(int64_t offset, int64_t stride,
                                  int64_t size, int64_t count, int64_t *lo,
                                  int64_t *hi) {
  /* first o with o*stride + offset >= 0, first o with ... >= size */
  int64_t first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t end = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride;
  *lo = seqkMin(first, count);
  *hi = seqkMax(*lo, seqkMin(end, count));
}

#endif /* SEQK_WINDOW_H */
