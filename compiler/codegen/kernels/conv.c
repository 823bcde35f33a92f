/* conv.c: the convolution kernels that are not a GEMM: im2col, which
 * turns a (grouped) Conv2d into one (seqk_gemm), and the depthwise
 * convolution, which has too little reuse for a GEMM.
 *
 * Both walk output rows and split each row into the outputs whose window
 * tap falls in the left padding, inside the image, and in the right
 * padding (seqkValidRange), so that the inner loop over output columns is
 * a plain strided copy or multiply-add that vectorises. */
#include <stdint.h>

#include "seqk.h"
#include "window.h"

/* Row r of col is the tap (c, kh, kw) over every output position. */
void seqk_im2col(const float *restrict x, int64_t C, int64_t H, int64_t W,
                 int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                 int64_t PW, int64_t DH, int64_t DW, int64_t OH, int64_t OW,
                 float *restrict col, int64_t r0, int64_t r1) {
  (void)C;
  for (int64_t r = r0; r < r1; ++r) {
    int64_t c = r / (KH * KW), kh = r / KW % KH, kw = r % KW;
    const float *restrict xc = x + c * H * W;
    float *restrict dst = col + r * OH * OW;
    int64_t offW = kw * DW - PW, lo, hi;
    seqkValidRange(offW, SW, W, OW, &lo, &hi);
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t ih = oh * SH - PH + kh * DH;
      float *restrict out = dst + oh * OW;
      if (ih < 0 || ih >= H) {
        for (int64_t ow = 0; ow < OW; ++ow)
          out[ow] = 0.0f;
        continue;
      }
      const float *restrict row = xc + ih * W + offW;
      for (int64_t ow = 0; ow < lo; ++ow)
        out[ow] = 0.0f;
      for (int64_t ow = lo; ow < hi; ++ow)
        out[ow] = row[ow * SW];
      for (int64_t ow = hi; ow < OW; ++ow)
        out[ow] = 0.0f;
    }
  }
}

/* One output row of one channel: out[ow] = sum over taps (kh, kw) inside
 * the image of w[kh, kw] x[ih, ow*SW + kw*DW - PW], taps in order. */
static void depthwiseRow(const float *restrict xc, const float *restrict wc,
                         float *restrict out, int64_t oh, int64_t H,
                         int64_t W, int64_t KH, int64_t KW, int64_t SH,
                         int64_t SW, int64_t PH, int64_t PW, int64_t DH,
                         int64_t DW, int64_t OW) {
  for (int64_t ow = 0; ow < OW; ++ow)
    out[ow] = 0.0f;
  for (int64_t kh = 0; kh < KH; ++kh) {
    int64_t ih = oh * SH - PH + kh * DH;
    if (ih < 0 || ih >= H)
      continue;
    for (int64_t kw = 0; kw < KW; ++kw) {
      int64_t offW = kw * DW - PW, lo, hi;
      seqkValidRange(offW, SW, W, OW, &lo, &hi);
      const float *restrict row = xc + ih * W + offW;
      float wv = wc[kh * KW + kw];
      for (int64_t ow = lo; ow < hi; ++ow)
        out[ow] += wv * row[ow * SW];
    }
  }
}

void seqk_depthwise2d(const float *restrict x, const float *restrict w,
                      float *restrict y, int64_t C, int64_t H, int64_t W,
                      int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                      int64_t PH, int64_t PW, int64_t DH, int64_t DW,
                      int64_t OH, int64_t OW, int64_t c0, int64_t c1,
                      seqk_epilogue epi, const void *env) {
  (void)C;
  for (int64_t c = c0; c < c1; ++c) {
    const float *restrict xc = x + c * H * W;
    const float *restrict wc = w + c * KH * KW;
    for (int64_t oh = 0; oh < OH; ++oh) {
      float *restrict out = y + (c * OH + oh) * OW;
      depthwiseRow(xc, wc, out, oh, H, W, KH, KW, SH, SW, PH, PW, DH, DW,
                   OW);
      if (epi)
        epi(env, c, oh * OW, out, out, OW);
    }
  }
}
