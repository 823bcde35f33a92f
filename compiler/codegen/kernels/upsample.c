/* upsample.c: nearest and bilinear resampling of [P, H, W] planes to
 * [P, OH, OW], as PyTorch 1.13's CPU kernels compute them.
 *
 * The output-to-source scale of each dim comes from the compiler
 * (sema::upsampleGeometry: 1/scale_factor, in/out, or (in-1)/(out-1) with
 * align_corners), in float as PyTorch keeps it. The source index of an
 * output column is recomputed in the inner loop: a multiply and a convert,
 * which vectorise, rather than a table. */
#include <stdint.h>

#include "seqk.h"

static inline int64_t minIndex(int64_t a, int64_t b) { return a < b ? a : b; }

/* nearest: source index min(floor(o * scale), in - 1) */
void seqk_upsample_nearest2d(const float *restrict x, float *restrict y,
                             int64_t H, int64_t W, int64_t OH, int64_t OW,
                             float sh, float sw, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const float *xp = x + p * H * W;
    float *yp = y + p * OH * OW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t ih = minIndex((int64_t)((float)oh * sh), H - 1);
      const float *xr = xp + ih * W;
      float *yr = yp + oh * OW;
      for (int64_t ow = 0; ow < OW; ++ow)
        yr[ow] = xr[minIndex((int64_t)((float)ow * sw), W - 1)];
    }
  }
}

/* PyTorch's area_pixel_compute_source_index (the half-pixel offset in
 * double, as its C++ promotes it) and guard_index_and_lambda: the first
 * source index, the next one's offset (0 at the edge) and its weight. */
static inline float sourceIndex(float scale, int64_t o, int32_t align) {
  if (align)
    return scale * (float)o;
  float s = (float)((double)scale * ((double)o + 0.5) - 0.5);
  return s < 0.0f ? 0.0f : s;
}

static inline void linearTaps(float scale, int64_t o, int64_t in, int32_t align,
                              int64_t *i0, int64_t *step, float *l1) {
  float s = sourceIndex(scale, o, align);
  int64_t i = minIndex((int64_t)s, in - 1);
  float l = s - (float)i;
  l = l < 0.0f ? 0.0f : l > 1.0f ? 1.0f : l;
  *i0 = i;
  *step = i < in - 1 ? 1 : 0;
  *l1 = l;
}

void seqk_upsample_bilinear2d(const float *restrict x, float *restrict y,
                              int64_t H, int64_t W, int64_t OH, int64_t OW,
                              float sh, float sw, int32_t align, int64_t p0,
                              int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const float *xp = x + p * H * W;
    float *yp = y + p * OH * OW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t ih, dh;
      float h1;
      linearTaps(sh, oh, H, align, &ih, &dh, &h1);
      float h0 = 1.0f - h1;
      const float *r0 = xp + ih * W, *r1 = r0 + dh * W;
      float *yr = yp + oh * OW;
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t iw, dw;
        float w1;
        linearTaps(sw, ow, W, align, &iw, &dw, &w1);
        float w0 = 1.0f - w1;
        yr[ow] = h0 * (w0 * r0[iw] + w1 * r0[iw + dw]) +
                 h1 * (w0 * r1[iw] + w1 * r1[iw + dw]);
      }
    }
  }
}
