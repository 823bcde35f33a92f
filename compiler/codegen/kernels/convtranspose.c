/* convtranspose.c: ConvTranspose2d as a GEMM and a col2im, the way
 * PyTorch's CPU path computes it.
 *
 * For image n and group g, with C input channels (Cg = C / G per group),
 * OCg output channels per group and M = OCg*KH*KW:
 *   col[n][g] [M, H*W] = wT_g [M, Cg] x x[n][g] [Cg, H*W]
 * (wT is the weight [C, OCg*KH*KW] packed transposed, [M, C], so group g's
 * A starts at column g*Cg with row stride C), then every output plane
 * (n, oc) is its bias plus, for each kernel tap (kh, kw), the col row
 * ((oc % OCg)*KH + kh)*KW + kw added at oh = ih*SH - PH + kh*DH,
 * ow = iw*SW - PW + kw*DW. Planes are independent, so the col2im splits
 * over them with no races. */
#include <stdint.h>

#include "seqk.h"

void seqk_convtranspose_cols(const float *x, const float *wT, float *col,
                             int64_t C, int64_t G, int64_t M, int64_t HW,
                             int64_t r0, int64_t r1) {
  int64_t Cg = C / G;
  /* rows [r0, r1) of the B*G stacked [M, HW] matrices, one call per matrix */
  while (r0 < r1) {
    int64_t mat = r0 / M, m0 = r0 % M;
    int64_t m1 = r1 - mat * M < M ? r1 - mat * M : M;
    int64_t n = mat / G, g = mat % G;
    seqk_gemm(M, HW, Cg, wT + g * Cg, C, x + (n * C + g * Cg) * HW, HW,
              col + mat * M * HW, HW, m0, m1, 0, HW, 0, 0);
    r0 = mat * M + m1;
  }
}

/* The taps of one kernel row or column: the input indices i in [lo, hi)
 * whose output o = i*S - P + k*D falls in [0, O). */
static inline void tapRange(int64_t k, int64_t in, int64_t out, int64_t S,
                            int64_t P, int64_t D, int64_t *lo, int64_t *hi) {
  int64_t shift = k * D - P; /* o = i*S + shift */
  int64_t a = shift >= 0 ? 0 : (-shift + S - 1) / S;
  int64_t b = out - 1 - shift < 0 ? 0 : (out - 1 - shift) / S + 1;
  *lo = a;
  *hi = b < in ? b : in;
}

void seqk_convtranspose_col2im(const float *col, float *y, const float *bias,
                               int64_t OC, int64_t G, int64_t H, int64_t W,
                               int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                               int64_t PH, int64_t PW, int64_t DH, int64_t DW,
                               int64_t OH, int64_t OW, int64_t p0, int64_t p1) {
  int64_t OCg = OC / G, M = OCg * KH * KW, HW = H * W;
  for (int64_t p = p0; p < p1; ++p) {
    int64_t n = p / OC, oc = p % OC, g = oc / OCg;
    float *yp = y + p * OH * OW;
    float b = bias ? bias[oc] : 0.0f;
    for (int64_t i = 0; i < OH * OW; ++i)
      yp[i] = b;
    const float *cm = col + ((n * G + g) * M + (oc % OCg) * KH * KW) * HW;
    for (int64_t kh = 0; kh < KH; ++kh) {
      int64_t ih0, ih1;
      tapRange(kh, H, OH, SH, PH, DH, &ih0, &ih1);
      for (int64_t kw = 0; kw < KW; ++kw) {
        int64_t iw0, iw1;
        tapRange(kw, W, OW, SW, PW, DW, &iw0, &iw1);
        const float *row = cm + (kh * KW + kw) * HW;
        for (int64_t ih = ih0; ih < ih1; ++ih) {
          float *yr = yp + (ih * SH - PH + kh * DH) * OW + (kw * DW - PW);
          const float *cr = row + ih * W;
          for (int64_t iw = iw0; iw < iw1; ++iw)
            yr[iw * SW] += cr[iw];
        }
      }
    }
  }
}
