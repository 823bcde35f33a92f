// Unit tests of the kernels of version 2's layers against naive references:
// the transposed convolution (convtranspose.c) over strides larger and
// smaller than the kernel, padding, dilation, output padding and groups,
// split over planes and rows as threads would; GroupNorm and PReLU
// (norm.c); nearest resampling (upsample.c) at non-integer scales.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

std::vector<float> randomData(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

struct ConvT {
  int64_t B, C, H, W, OC, G, KH, KW, SH, SW, PH, PW, DH, DW, OPH, OPW;
  int64_t OH() const { return (H - 1) * SH - 2 * PH + DH * (KH - 1) + OPH + 1; }
  int64_t OW() const { return (W - 1) * SW - 2 * PW + DW * (KW - 1) + OPW + 1; }
};

// PyTorch's definition: every input element scatters into its taps.
std::vector<float> naiveConvTranspose(const ConvT &p, const std::vector<float> &x,
                                      const std::vector<float> &w, const std::vector<float> &bias) {
  int64_t OH = p.OH(), OW = p.OW(), Cg = p.C / p.G, OCg = p.OC / p.G;
  std::vector<double> y(size_t(p.B * p.OC * OH * OW), 0.0);
  for (int64_t n = 0; n < p.B; ++n)
    for (int64_t oc = 0; oc < p.OC; ++oc)
      for (int64_t i = 0; i < OH * OW; ++i)
        y[size_t((n * p.OC + oc) * OH * OW + i)] = bias[size_t(oc)];
  for (int64_t n = 0; n < p.B; ++n)
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t ih = 0; ih < p.H; ++ih)
        for (int64_t iw = 0; iw < p.W; ++iw)
          for (int64_t o = 0; o < OCg; ++o)
            for (int64_t kh = 0; kh < p.KH; ++kh)
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                int64_t oh = ih * p.SH - p.PH + kh * p.DH, ow = iw * p.SW - p.PW + kw * p.DW;
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW)
                  continue;
                int64_t oc = c / Cg * OCg + o;
                double xv = x[size_t(((n * p.C + c) * p.H + ih) * p.W + iw)];
                double wv = w[size_t(((c * OCg + o) * p.KH + kh) * p.KW + kw)];
                y[size_t(((n * p.OC + oc) * OH + oh) * OW + ow)] += xv * wv;
              }
  return std::vector<float>(y.begin(), y.end());
}

TEST(KernelsLayersV2, ConvTransposeMatchesNaive) {
  const ConvT cases[] = {
      {2, 4, 5, 6, 6, 1, 4, 4, 2, 2, 1, 1, 1, 1, 0, 0},  // the usual x2 upsampling
      {1, 6, 4, 3, 4, 2, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},  // groups, output padding
      {2, 3, 3, 4, 5, 1, 2, 3, 3, 4, 0, 2, 1, 1, 2, 0},  // stride above kernel: gaps of bias
      {1, 4, 4, 4, 4, 4, 3, 2, 1, 2, 2, 0, 2, 1, 0, 1},  // depthwise, dilation, padding
      {1, 2, 1, 1, 3, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0},  // 1x1 everything
  };
  unsigned seed = 1;
  for (const ConvT &p : cases) {
    int64_t OH = p.OH(), OW = p.OW(), M = p.OC / p.G * p.KH * p.KW, HW = p.H * p.W;
    std::vector<float> x = randomData(size_t(p.B * p.C * HW), seed++);
    std::vector<float> w = randomData(size_t(p.C * M), seed++);
    std::vector<float> bias = randomData(size_t(p.OC), seed++);
    // The weight packed transposed: [M, C].
    std::vector<float> wT(w.size());
    for (int64_t c = 0; c < p.C; ++c)
      for (int64_t m = 0; m < M; ++m)
        wT[size_t(m * p.C + c)] = w[size_t(c * M + m)];
    std::vector<float> col(size_t(p.B * p.G * M * HW), -9.0f);
    int64_t rows = p.B * p.G * M, planes = p.B * p.OC;
    // Split as two threads would, across matrix and image boundaries.
    seqk_convtranspose_cols(x.data(), wT.data(), col.data(), p.C, p.G, M, HW, 0, rows / 2 + 1);
    seqk_convtranspose_cols(x.data(), wT.data(), col.data(), p.C, p.G, M, HW, rows / 2 + 1, rows);
    std::vector<float> y(size_t(planes * OH * OW), -7.0f);
    for (int64_t p0 = 0; p0 < planes; p0 += 3)
      seqk_convtranspose_col2im(col.data(), y.data(), bias.data(), p.OC, p.G, p.H, p.W, p.KH, p.KW,
                                p.SH, p.SW, p.PH, p.PW, p.DH, p.DW, OH, OW, p0, std::min(planes, p0 + 3));
    std::vector<float> expected = naiveConvTranspose(p, x, w, bias);
    ASSERT_EQ(y.size(), expected.size());
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_NEAR(y[i], expected[i], 1e-4 + 1e-4 * std::fabs(expected[i])) << "case " << seed << " at " << i;
  }
}

TEST(KernelsLayersV2, GroupNormMatchesNaive) {
  const int64_t B = 2, G = 3, Cg = 2, inner = 7, C = G * Cg;
  std::vector<float> x = randomData(size_t(B * C * inner), 11), gamma = randomData(size_t(C), 12),
                     beta = randomData(size_t(C), 13), y(x.size());
  seqk_groupnorm(x.data(), y.data(), G, Cg, inner, gamma.data(), beta.data(), 1e-5f, 0, 2);
  seqk_groupnorm(x.data(), y.data(), G, Cg, inner, gamma.data(), beta.data(), 1e-5f, 2, B * G);
  for (int64_t r = 0; r < B * G; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < Cg * inner; ++i)
      mean += x[size_t(r * Cg * inner + i)];
    mean /= double(Cg * inner);
    for (int64_t i = 0; i < Cg * inner; ++i)
      var += std::pow(x[size_t(r * Cg * inner + i)] - mean, 2);
    var /= double(Cg * inner);
    for (int64_t i = 0; i < Cg * inner; ++i) {
      int64_t c = (r % G) * Cg + i / inner;
      double e = (x[size_t(r * Cg * inner + i)] - mean) / std::sqrt(var + 1e-5) * gamma[size_t(c)] + beta[size_t(c)];
      EXPECT_NEAR(y[size_t(r * Cg * inner + i)], e, 1e-5 + 1e-5 * std::fabs(e)) << r << " " << i;
    }
  }
}

TEST(KernelsLayersV2, PReluPerChannelKeepsNaN) {
  std::vector<float> x = {-1, 2, -3, NAN, -5, 6}, w = {0.5f, -2.0f}, y(6);
  seqk_prelu(x.data(), y.data(), 2, 3, w.data(), 2, 0, 2);
  EXPECT_EQ(y[0], -0.5f);
  EXPECT_EQ(y[1], 2.0f);
  EXPECT_EQ(y[2], -1.5f);
  EXPECT_TRUE(std::isnan(y[3]));
  EXPECT_EQ(y[4], 10.0f);
  EXPECT_EQ(y[5], 6.0f);
}

TEST(KernelsLayersV2, NearestAtNonIntegerScale) {
  // 5 -> 7 columns with scale 5/7 (no scale_factor): PyTorch picks 0 0 1 2 2 3 4.
  std::vector<float> x = {0, 1, 2, 3, 4}, y(7);
  seqk_upsample_nearest2d(x.data(), y.data(), 1, 5, 1, 7, 1.0f, 5.0f / 7.0f, 0, 1);
  EXPECT_EQ(y, (std::vector<float>{0, 0, 1, 2, 2, 3, 4}));
}

} // namespace
