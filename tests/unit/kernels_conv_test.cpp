// Unit tests of the convolution kernels: seqk_im2col (exact, against a
// direct gather; and im2col + seqk_gemm against a direct convolution),
// over strides, paddings, dilations and odd sizes (the depthwise kernel:
// kernels_depthwise_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

struct Conv {
  int64_t C, H, W, KH, KW, SH, SW, PH, PW, DH, DW;
  int64_t OH() const { return (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1; }
  int64_t OW() const { return (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1; }
  // x[c, ih, iw] or 0 in the padding
  float at(const std::vector<float> &x, int64_t c, int64_t ih, int64_t iw) const {
    if (ih < 0 || ih >= H || iw < 0 || iw >= W)
      return 0.0f;
    return x[(c * H + ih) * W + iw];
  }
};

const Conv kConvs[] = {
    {1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},   {3, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1},
    {2, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1},   {4, 9, 11, 3, 5, 2, 1, 1, 2, 1, 1},
    {2, 12, 10, 3, 3, 1, 1, 2, 2, 2, 2}, {3, 7, 7, 7, 7, 2, 2, 3, 3, 1, 1},
    {5, 13, 6, 1, 1, 2, 3, 0, 0, 1, 1},  {2, 6, 9, 2, 4, 3, 2, 0, 3, 2, 1},
    {1, 30, 33, 5, 5, 1, 1, 2, 2, 1, 1}, {8, 16, 16, 3, 3, 1, 1, 1, 1, 3, 3},
    {2, 4, 4, 3, 3, 1, 1, 4, 4, 1, 1},   {3, 10, 3, 3, 2, 4, 1, 1, 0, 1, 2},
    // stride 2 in vectors of 16 outputs (then one by one): rows of 16,
    // 17, 32 and 35 outputs, the last vector's last tap at the row's (and
    // the plane's) last element
    {1, 3, 33, 3, 3, 2, 2, 0, 0, 1, 1},  {2, 5, 34, 3, 3, 2, 2, 1, 1, 1, 1},
    {1, 4, 64, 1, 1, 2, 2, 0, 0, 1, 1},  {2, 9, 70, 3, 3, 2, 2, 1, 1, 1, 1},
};

std::vector<float> randomVector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &f : v) f = dist(rng);
  return v;
}

TEST(KernelsConv, Im2colGathersTheWindows) {
  unsigned seed = 1;
  for (const Conv &c : kConvs) {
    int64_t OH = c.OH(), OW = c.OW(), rows = c.C * c.KH * c.KW;
    ASSERT_GT(OH, 0);
    ASSERT_GT(OW, 0);
    auto x = randomVector(c.C * c.H * c.W, seed++);
    std::vector<float> col(rows * OH * OW, -5.0f);
    // two row ranges, the first leaving the rest untouched
    int64_t half = rows / 2;
    seqk_im2col(x.data(), c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PH, c.PW,
                c.DH, c.DW, OH, OW, col.data(), 0, half);
    for (int64_t i = half * OH * OW; i < rows * OH * OW; ++i)
      ASSERT_EQ(col[i], -5.0f);
    seqk_im2col(x.data(), c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PH, c.PW,
                c.DH, c.DW, OH, OW, col.data(), half, rows);
    for (int64_t ch = 0; ch < c.C; ++ch)
      for (int64_t kh = 0; kh < c.KH; ++kh)
        for (int64_t kw = 0; kw < c.KW; ++kw)
          for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
              int64_t r = (ch * c.KH + kh) * c.KW + kw;
              float want = c.at(x, ch, oh * c.SH - c.PH + kh * c.DH,
                                ow * c.SW - c.PW + kw * c.DW);
              ASSERT_EQ(col[r * OH * OW + oh * OW + ow], want)
                  << "conv " << &c - kConvs << " row " << r;
            }
  }
}

// A full Conv2d as the code generator builds it: W [OC, C*KH*KW] times
// col [C*KH*KW, OH*OW].
TEST(KernelsConv, Im2colTimesGemmIsAConvolution) {
  unsigned seed = 50;
  for (const Conv &c : kConvs) {
    int64_t OH = c.OH(), OW = c.OW(), K = c.C * c.KH * c.KW, OC = 5;
    auto x = randomVector(c.C * c.H * c.W, seed++);
    auto w = randomVector(OC * K, seed++);
    std::vector<float> col(K * OH * OW), y(OC * OH * OW);
    seqk_im2col(x.data(), c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PH, c.PW,
                c.DH, c.DW, OH, OW, col.data(), 0, K);
    seqk_gemm(OC, OH * OW, K, w.data(), K, col.data(), OH * OW, y.data(),
              OH * OW, 0, OC, 0, OH * OW, nullptr, nullptr);
    for (int64_t oc = 0; oc < OC; ++oc)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = 0;
          for (int64_t ch = 0; ch < c.C; ++ch)
            for (int64_t kh = 0; kh < c.KH; ++kh)
              for (int64_t kw = 0; kw < c.KW; ++kw)
                s += double(w[oc * K + (ch * c.KH + kh) * c.KW + kw]) *
                     c.at(x, ch, oh * c.SH - c.PH + kh * c.DH,
                          ow * c.SW - c.PW + kw * c.DW);
          ASSERT_NEAR(y[(oc * OH + oh) * OW + ow], s, 1e-5);
        }
  }
}

// seqk_conv2d_gemm gathers im2col's blocks into the GEMM's panels: it
// computes what im2col + seqk_gemm computes, bit for bit (the same sums in
// the same order), on any tile of output channels and positions.
TEST(KernelsConv, ImplicitGemmMatchesIm2colGemm) {
  unsigned seed = 70;
  for (const Conv &c : kConvs) {
    int64_t OH = c.OH(), OW = c.OW(), N = OH * OW, K = c.C * c.KH * c.KW, OC = 7;
    auto x = randomVector(c.C * c.H * c.W, seed++);
    auto w = randomVector(OC * K, seed++);
    std::vector<float> col(K * N), want(OC * N), got(OC * N, -3.0f);
    seqk_im2col(x.data(), c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PH, c.PW,
                c.DH, c.DW, OH, OW, col.data(), 0, K);
    seqk_gemm(OC, N, K, w.data(), K, col.data(), N, want.data(), N, 0, OC, 0,
              N, nullptr, nullptr);
    int64_t mh = OC / 2, nh = N / 3;
    for (auto [m0, m1] : {std::pair{int64_t(0), mh}, std::pair{mh, OC}})
      for (auto [n0, n1] : {std::pair{int64_t(0), nh}, std::pair{nh, N}})
        seqk_conv2d_gemm(x.data(), w.data(), got.data(), c.C, c.H, c.W, c.KH,
                         c.KW, c.SH, c.SW, c.PH, c.PW, c.DH, c.DW, OH, OW, m0,
                         m1, n0, n1, nullptr, nullptr);
    for (int64_t i = 0; i < OC * N; ++i)
      ASSERT_EQ(got[i], want[i]) << "conv " << &c - kConvs << " at " << i;
  }
}

// A deep patch (K = 300 > the GEMM's K block) over a wide plane (more
// than one column block), as resnet-sized layers are.
TEST(KernelsConv, ImplicitGemmDeepAndWide) {
  Conv c{12, 20, 21, 5, 5, 1, 1, 2, 2, 1, 1};
  int64_t OH = c.OH(), OW = c.OW(), N = OH * OW, K = c.C * c.KH * c.KW, OC = 9;
  auto x = randomVector(c.C * c.H * c.W, 7);
  auto w = randomVector(OC * K, 8);
  std::vector<float> col(K * N), want(OC * N), got(OC * N);
  seqk_im2col(x.data(), c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.PH, c.PW,
              c.DH, c.DW, OH, OW, col.data(), 0, K);
  seqk_gemm(OC, N, K, w.data(), K, col.data(), N, want.data(), N, 0, OC, 0, N,
            nullptr, nullptr);
  seqk_conv2d_gemm(x.data(), w.data(), got.data(), c.C, c.H, c.W, c.KH, c.KW,
                   c.SH, c.SW, c.PH, c.PW, c.DH, c.DW, OH, OW, 0, OC, 0, N,
                   nullptr, nullptr);
  for (int64_t i = 0; i < OC * N; ++i)
    ASSERT_EQ(got[i], want[i]) << "at " << i;
}

} // namespace
