// Unit tests of the pooling kernels: max, average (count_include_pad on
// and off, ceil_mode output sizes) and adaptive average pooling, against
// values PyTorch 1.13 printed and against naive loops written from
// PyTorch's CPU kernels, with plane sub-ranges and NaN / -inf inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

struct Pool {
  int64_t H, W, KH, KW, SH, SW, PH, PW, DH, DW;
  bool ceil;
  // PyTorch's pooling_output_shape
  static int64_t out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d,
                     bool ceil) {
    int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
    int64_t o = num / s + 1;
    if (ceil && (o - 1) * s >= in + p)
      --o;
    return o;
  }
  int64_t OH() const { return out(H, KH, SH, PH, DH, ceil); }
  int64_t OW() const { return out(W, KW, SW, PW, DW, ceil); }
};

const Pool kPools[] = {
    {4, 5, 3, 3, 2, 2, 1, 1, 1, 1, true},   {4, 5, 3, 3, 2, 2, 1, 1, 1, 1, false},
    {7, 7, 2, 2, 2, 2, 0, 0, 1, 1, false},  {7, 7, 2, 2, 2, 2, 0, 0, 1, 1, true},
    {9, 10, 3, 3, 2, 2, 1, 1, 1, 1, true},  {11, 6, 3, 2, 3, 1, 1, 1, 1, 1, true},
    {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, false},  {12, 13, 5, 3, 2, 3, 2, 1, 1, 1, true},
    {10, 10, 3, 3, 1, 1, 1, 1, 2, 2, false}, {17, 15, 4, 4, 3, 3, 2, 2, 1, 1, true},
    {32, 33, 3, 3, 2, 2, 1, 1, 1, 1, false}, {6, 9, 2, 3, 2, 2, 1, 1, 2, 3, true},
    // the 3x3 stride-2 kernel: rows of 1 and 2 columns, no padding,
    // and interiors of one vector plus a remainder
    {3, 1, 3, 3, 2, 2, 1, 1, 1, 1, false},  {2, 2, 3, 3, 2, 2, 1, 1, 1, 1, true},
    {9, 41, 3, 3, 2, 2, 0, 0, 1, 1, true},  {23, 70, 3, 3, 2, 2, 1, 1, 1, 1, false},
    // rows of 8 to 15 (8 and 13 outputs: one vector of 16 a row, its lanes
    // past the row written again by the next row and the row's end, the
    // last row in vectors of 8), of 16 (16, then 27 and 55 outputs, the
    // last vector moved back): SqueezeNet's pools; GoogLeNet's 28x28 one
    // (13 in vectors, the 14th past the input); 11 from column 1 after a
    // padded one
    {9, 17, 3, 3, 2, 2, 0, 0, 1, 1, false}, {27, 27, 3, 3, 2, 2, 0, 0, 1, 1, true},
    {28, 28, 3, 3, 2, 2, 0, 0, 1, 1, true},  {20, 24, 3, 3, 2, 2, 1, 1, 1, 1, false},
    {8, 33, 3, 3, 2, 2, 1, 1, 1, 1, false}, {6, 55, 3, 3, 2, 2, 0, 0, 1, 1, true},
    {5, 111, 3, 3, 2, 2, 0, 0, 1, 1, true},
    // the 3x3 stride-1 kernel (GoogLeNet's): 5 interior outputs a row
    // (none in vectors), 12 (vectors of 8), 26 and 38 (of 16), no padding
    {7, 7, 3, 3, 1, 1, 1, 1, 1, 1, true},    {14, 14, 3, 3, 1, 1, 1, 1, 1, 1, true},
    {28, 28, 3, 3, 1, 1, 1, 1, 1, 1, true},  {9, 40, 3, 3, 1, 1, 0, 0, 1, 1, false},
    // the 2x2 stride-2 kernel: rows of 7 outputs (one by one), 8 and 15
    // (vectors of 8, the last moved back), 16, 17 and 40 (of 16), odd
    // widths (the last column unread)
    {4, 14, 2, 2, 2, 2, 0, 0, 1, 1, false},  {5, 16, 2, 2, 2, 2, 0, 0, 1, 1, false},
    {6, 30, 2, 2, 2, 2, 0, 0, 1, 1, false},  {7, 31, 2, 2, 2, 2, 0, 0, 1, 1, true},
    {3, 32, 2, 2, 2, 2, 0, 0, 1, 1, false},  {4, 35, 2, 2, 2, 2, 0, 0, 1, 1, false},
    {2, 80, 2, 2, 2, 2, 0, 0, 1, 1, false},
    // long rows: 550 and 1025 outputs
    {5, 1100, 3, 3, 2, 2, 1, 1, 1, 1, false}, {4, 2049, 3, 3, 2, 2, 0, 0, 1, 1, true},
};

std::vector<float> randomPlanes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
  std::vector<float> v(n);
  for (float &f : v) f = dist(rng);
  return v;
}

void expectSame(const std::vector<float> &got, const std::vector<float> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i]))
      ASSERT_TRUE(std::isnan(got[i])) << "at " << i;
    else
      ASSERT_FLOAT_EQ(got[i], want[i]) << "at " << i;
  }
}

// PyTorch's max pooling, written from its CPU kernel: each output the
// sequential maximum of its window's taps in order (if v > m or v is NaN,
// m = v, from -inf).
std::vector<float> naiveMaxPool(const Pool &p, const std::vector<float> &x, int64_t P) {
  int64_t OH = p.OH(), OW = p.OW();
  std::vector<float> want(size_t(P * OH * OW));
  for (int64_t c = 0; c < P; ++c)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        float m = -kInf;
        for (int64_t kh = 0; kh < p.KH; ++kh)
          for (int64_t kw = 0; kw < p.KW; ++kw) {
            int64_t ih = oh * p.SH - p.PH + kh * p.DH, iw = ow * p.SW - p.PW + kw * p.DW;
            if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W)
              continue;
            float v = x[size_t((c * p.H + ih) * p.W + iw)];
            if (v > m || std::isnan(v))
              m = v;
          }
        want[size_t((c * OH + oh) * OW + ow)] = m;
      }
  return want;
}

TEST(KernelsPool, PyTorchValues) {
  std::vector<float> x(20);
  for (int i = 0; i < 20; ++i) x[i] = i * 0.5f - 3.0f;
  std::vector<float> y(9);
  seqk_avgpool2d(x.data(), y.data(), 4, 5, 3, 3, 2, 2, 1, 1, 3, 3, 1, 0, 1);
  expectSame(y, {-0.6666666865348816f, -0.5f, 0.0f, 1.5f, 3.0f, 2.5f,
                 1.5833333730697632f, 2.75f, 2.0833332538604736f});
  seqk_avgpool2d(x.data(), y.data(), 4, 5, 3, 3, 2, 2, 1, 1, 3, 3, 0, 0, 1);
  expectSame(y, {-1.5f, -0.75f, 0.0f, 2.25f, 3.0f, 3.75f, 4.75f, 5.5f, 6.25f});
  seqk_maxpool2d(x.data(), y.data(), 4, 5, 3, 3, 2, 2, 1, 1, 1, 1, 3, 3, 0, 1);
  expectSame(y, {0.0f, 1.0f, 1.5f, 5.0f, 6.0f, 6.5f, 5.0f, 6.0f, 6.5f});

  std::vector<float> x2(35), y2(6);
  for (int i = 0; i < 35; ++i) x2[i] = i * 0.25f;
  seqk_adaptive_avgpool2d(x2.data(), y2.data(), 5, 7, 3, 2, 0, 1);
  expectSame(y2, {1.25f, 2.0f, 3.875f, 4.625f, 6.5f, 7.25f});

  std::vector<float> x3 = {1, kNaN, 2, 3, 4, 5, 6, 7, 8}, y3(4);
  seqk_maxpool2d(x3.data(), y3.data(), 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 2, 2, 0, 1);
  expectSame(y3, {kNaN, kNaN, 7.0f, 8.0f});
}

TEST(KernelsPool, MaxPoolMatchesNaiveWithNaNAndInf) {
  unsigned seed = 1;
  for (const Pool &p : kPools) {
    int64_t P = 3, OH = p.OH(), OW = p.OW();
    auto x = randomPlanes(P * p.H * p.W, seed++);
    x[seed % x.size()] = kNaN;
    x[(seed * 7) % x.size()] = -kInf;
    x[(seed * 13) % x.size()] = kInf;
    std::vector<float> want = naiveMaxPool(p, x, P);
    std::vector<float> y(P * OH * OW, 123.0f);
    seqk_maxpool2d(x.data(), y.data(), p.H, p.W, p.KH, p.KW, p.SH, p.SW, p.PH,
                   p.PW, p.DH, p.DW, OH, OW, 1, P);
    for (int64_t i = 0; i < OH * OW; ++i)
      ASSERT_EQ(y[i], 123.0f) << "wrote outside the plane range";
    seqk_maxpool2d(x.data(), y.data(), p.H, p.W, p.KH, p.KW, p.SH, p.SW, p.PH,
                   p.PW, p.DH, p.DW, OH, OW, 0, 1);
    expectSame(y, want);
  }
}

// Max pooling keeps the bits of PyTorch's sequential rule, not just the
// values: of equal values the first in the window (so -0 before +0 stays
// -0), and of NaNs the last. The 3x3 stride-2 kernel takes each input
// row's maxima over columns first and shares them between output rows;
// inputs of small integers and zeros of both signs make ties everywhere,
// and NaNs of different payloads sit in some windows.
TEST(KernelsPool, MaxPoolKeepsTheSequentialRulesBits) {
  unsigned seed = 90;
  for (const Pool &p : kPools) {
    int64_t P = 2, OH = p.OH(), OW = p.OW();
    std::mt19937 rng(seed++);
    std::vector<float> x(size_t(P * p.H * p.W));
    for (float &v : x) {
      int k = int(rng() % 7);
      v = k == 0 ? -0.0f : k == 1 ? 0.0f : float(int(rng() % 3) - 1);
    }
    for (int n = 0; n < 3; ++n) { // NaNs whose payloads differ
      uint32_t bits = 0x7fc00000u | (rng() & 0xffffu);
      float nan;
      std::memcpy(&nan, &bits, sizeof nan);
      x[rng() % x.size()] = nan;
    }
    std::vector<float> want = naiveMaxPool(p, x, P);
    std::vector<float> y(want.size());
    seqk_maxpool2d(x.data(), y.data(), p.H, p.W, p.KH, p.KW, p.SH, p.SW, p.PH, p.PW, p.DH, p.DW, OH, OW, 0, P);
    for (size_t i = 0; i < y.size(); ++i) {
      uint32_t got, expected;
      std::memcpy(&got, &y[i], sizeof got);
      std::memcpy(&expected, &want[i], sizeof expected);
      ASSERT_EQ(got, expected) << "pool " << p.H << "x" << p.W << " k" << p.KH << "x" << p.KW << " s" << p.SH
                               << ": output " << i;
    }
  }
}

// The 3x3 pool of stride 1 and padding 1 that keeps a small plane's size
// (GoogLeNet's 14 x 14 and 7 x 7) takes a plane as one row of vectors,
// for the planes inside the call's range: five planes here, the middle
// three that way, each to the sequential rule's bits (ties of +-0, NaNs
// of different payloads, -inf), planes of 16 floats (one vector) to 256,
// and larger ones (289, 512) that take the general pool.
TEST(KernelsPool, SmallSamePlanesKeepTheBits) {
  const int64_t shapes[][2] = {{4, 4}, {5, 7}, {7, 7}, {14, 14}, {17, 17}, {16, 32}, {3, 9}};
  unsigned seed = 300;
  for (const auto &hw : shapes) {
    Pool p{hw[0], hw[1], 3, 3, 1, 1, 1, 1, 1, 1, true};
    const int64_t P = 5, OH = p.OH(), OW = p.OW();
    ASSERT_EQ(OH, p.H);
    ASSERT_EQ(OW, p.W);
    std::mt19937 rng(seed++);
    std::vector<float> x(size_t(P * p.H * p.W));
    for (float &v : x) {
      int k = int(rng() % 8);
      v = k == 0 ? -0.0f : k == 1 ? 0.0f : k == 2 ? -kInf : float(int(rng() % 3) - 1);
    }
    for (int n = 0; n < 4; ++n) {
      uint32_t bits = 0x7fc00000u | (rng() & 0xffffu);
      float nan;
      std::memcpy(&nan, &bits, sizeof nan);
      x[rng() % x.size()] = nan;
    }
    std::vector<float> want = naiveMaxPool(p, x, P);
    std::vector<float> y(want.size(), 7.0f);
    seqk_maxpool2d(x.data(), y.data(), p.H, p.W, 3, 3, 1, 1, 1, 1, 1, 1, OH, OW, 0, P);
    for (size_t i = 0; i < y.size(); ++i) {
      uint32_t got, expected;
      std::memcpy(&got, &y[i], sizeof got);
      std::memcpy(&expected, &want[i], sizeof expected);
      ASSERT_EQ(got, expected) << p.H << "x" << p.W << ": output " << i;
    }
  }
}

TEST(KernelsPool, AvgPoolMatchesPyTorchRule) {
  unsigned seed = 50;
  for (const Pool &p : kPools) {
    if (p.DH != 1 || p.DW != 1)
      continue; // avg pooling has no dilation
    for (int32_t cip = 0; cip <= 1; ++cip) {
      int64_t P = 2, OH = p.OH(), OW = p.OW();
      auto x = randomPlanes(P * p.H * p.W, seed++);
      std::vector<float> want(P * OH * OW);
      for (int64_t c = 0; c < P; ++c)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            int64_t h0 = oh * p.SH - p.PH, w0 = ow * p.SW - p.PW;
            int64_t h1 = std::min(h0 + p.KH, p.H + p.PH);
            int64_t w1 = std::min(w0 + p.KW, p.W + p.PW);
            int64_t poolSize = (h1 - h0) * (w1 - w0);
            h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0);
            h1 = std::min(h1, p.H), w1 = std::min(w1, p.W);
            float s = 0.0f;
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw)
                s += x[(c * p.H + ih) * p.W + iw];
            int64_t div = cip ? poolSize : (h1 - h0) * (w1 - w0);
            want[(c * OH + oh) * OW + ow] = s / float(div);
          }
      std::vector<float> y(P * OH * OW);
      seqk_avgpool2d(x.data(), y.data(), p.H, p.W, p.KH, p.KW, p.SH, p.SW,
                     p.PH, p.PW, OH, OW, cip, 0, 1);
      seqk_avgpool2d(x.data(), y.data(), p.H, p.W, p.KH, p.KW, p.SH, p.SW,
                     p.PH, p.PW, OH, OW, cip, 1, P);
      expectSame(y, want);
    }
  }
}

// The 2x2 average pool of stride 2 with every window inside (LeNet's,
// DenseNet's transitions) takes a row in vectors of 16 outputs (the last
// moved back), of 8 on rows of 8 to 15, of 8 over the next rows' on rows
// of 3 to 7 where the plane holds them (each plane's last rows one by
// one), one by one below 3: rows of 1 to 40 outputs (one past each vector
// width, primes), each plane alone too, on even and odd
// widths and heights (the odd last row and column unread), to the
// sequential sum's bits from 0 (-0 + -0 gives +0), NaN and infinities
// included, for a range of planes.
TEST(KernelsPool, AvgPool2x2KeepsTheBits) {
  unsigned seed = 700;
  for (int64_t OW = 1; OW <= 40; ++OW)
    for (int64_t extra = 0; extra <= 1; ++extra) {
      const int64_t H = 5 + extra, W = 2 * OW + extra, OH = H / 2, P = 3;
      std::mt19937 rng(seed++);
      std::vector<float> x(size_t(P * H * W));
      for (float &v : x) {
        int k = int(rng() % 16);
        v = k == 0 ? -0.0f : k == 1 ? kInf : k == 2 ? -kInf : k == 3 ? kNaN : float(int(rng() % 9) - 4) * 0.3f;
      }
      std::vector<float> want(size_t(P * OH * OW));
      for (int64_t c = 0; c < P; ++c)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            float s = 0.0f;
            for (int64_t kh = 0; kh < 2; ++kh)
              for (int64_t kw = 0; kw < 2; ++kw)
                s += x[size_t((c * H + 2 * oh + kh) * W + 2 * ow + kw)];
            want[size_t((c * OH + oh) * OW + ow)] = s / 4.0f;
          }
      std::vector<float> y(want.size(), 7.0f), back(want.size(), 7.0f);
      seqk_avgpool2d(x.data(), y.data(), H, W, 2, 2, 2, 2, 0, 0, OH, OW, 1, 0, 1);
      seqk_avgpool2d(x.data(), y.data(), H, W, 2, 2, 2, 2, 0, 0, OH, OW, 0, 1, P);
      // plane by plane from the last: a store past a plane's end would
      // overwrite the next one, already computed
      for (int64_t c = P - 1; c >= 0; --c)
        seqk_avgpool2d(x.data(), back.data(), H, W, 2, 2, 2, 2, 0, 0, OH, OW, 1, c, c + 1);
      ASSERT_EQ(std::memcmp(y.data(), back.data(), y.size() * sizeof(float)), 0) << OW << " outputs a row";
      for (size_t i = 0; i < y.size(); ++i) {
        uint32_t got, expected;
        std::memcpy(&got, &y[i], sizeof got);
        std::memcpy(&expected, &want[i], sizeof expected);
        if (std::isnan(want[i]))
          ASSERT_TRUE(std::isnan(y[i])) << OW << " outputs a row, width " << W << ": output " << i;
        else
          ASSERT_EQ(got, expected) << OW << " outputs a row, width " << W << ": output " << i;
      }
    }
}

TEST(KernelsPool, AvgPoolWindowWhollyInPaddingIsZero) {
  // OW = 4 on W = 2 with padding 1 and stride 1: the last window starts
  // in the right padding (a size PyTorch never asks for); no 0/0.
  std::vector<float> x = {1, 2, 3, 4}, y(2 * 4);
  for (int32_t cip = 0; cip <= 1; ++cip) {
    seqk_avgpool2d(x.data(), y.data(), 2, 2, 1, 1, 1, 1, 0, 1, 2, 4, cip, 0, 1);
    for (float v : y)
      EXPECT_FALSE(std::isnan(v));
    EXPECT_EQ(y[3], 0.0f);
  }
}

TEST(KernelsPool, AdaptiveAvgPoolMatchesPyTorchRule) {
  const int64_t sizes[][4] = {{7, 7, 1, 1},   {7, 7, 7, 7},  {13, 11, 5, 3},
                              {5, 7, 3, 2},   {1, 1, 3, 3},  {10, 9, 4, 6},
                              {56, 56, 1, 1}, {6, 6, 4, 4}};
  unsigned seed = 90;
  for (auto &s : sizes) {
    int64_t H = s[0], W = s[1], OH = s[2], OW = s[3], P = 3;
    auto x = randomPlanes(P * H * W, seed++);
    std::vector<float> want(P * OH * OW), y(P * OH * OW);
    for (int64_t c = 0; c < P; ++c)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
          int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
          float sum = 0.0f;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw)
              sum += x[(c * H + ih) * W + iw];
          want[(c * OH + oh) * OW + ow] = sum / float(h1 - h0) / float(w1 - w0);
        }
    seqk_adaptive_avgpool2d(x.data(), y.data(), H, W, OH, OW, 0, 2);
    seqk_adaptive_avgpool2d(x.data(), y.data(), H, W, OH, OW, 2, P);
    if (OH == 1 && OW == 1) // a mean in another order: GlobalAvgPoolIsTheMean
      continue;
    SCOPED_TRACE(std::to_string(H) + "x" + std::to_string(W) + " -> " + std::to_string(OH) + "x" + std::to_string(OW));
    expectSame(y, want);
  }
}

// The 1x1 output (the global average pool, vectorised sums) is the mean
// of the plane within float rounding, at sizes around its 16- and
// 64-float steps; each plane of a range alone; NaN and Inf propagate.
TEST(KernelsPool, GlobalAvgPoolIsTheMean) {
  const int64_t sizes[][2] = {{1, 1}, {1, 15}, {4, 4}, {1, 17}, {3, 21}, {8, 8}, {5, 13},
                              {7, 7}, {14, 14}, {56, 56}, {112, 113}, {1, 127}, {2, 64}};
  unsigned seed = 300;
  for (auto &s : sizes) {
    int64_t H = s[0], W = s[1], P = 5, n = H * W;
    auto x = randomPlanes(size_t(P * n), seed++);
    for (float &v : x)
      v += 2.0f; // a mean far from 0, so its relative error shows
    std::vector<float> y(size_t(P + 1), -3.0f);
    seqk_adaptive_avgpool2d(x.data(), y.data(), H, W, 1, 1, 1, P);
    EXPECT_EQ(y[0], -3.0f);
    seqk_adaptive_avgpool2d(x.data(), y.data(), H, W, 1, 1, 0, 1);
    EXPECT_EQ(y[size_t(P)], -3.0f);
    for (int64_t p = 0; p < P; ++p) {
      double sum = 0, abs = 0;
      for (int64_t i = 0; i < n; ++i) {
        sum += x[size_t(p * n + i)];
        abs += std::fabs(x[size_t(p * n + i)]);
      }
      EXPECT_NEAR(y[size_t(p)], sum / double(n), 1e-6 * abs / double(n) + 1e-7) << H << "x" << W;
    }
    if (n >= 3) {
      x[size_t(n + n / 2)] = kNaN;
      x[size_t(2 * n + n - 1)] = kInf;
      x[size_t(3 * n)] = -kInf;
      x[size_t(4 * n + 1)] = kInf;
      x[size_t(4 * n + 2)] = -kInf;
      seqk_adaptive_avgpool2d(x.data(), y.data(), H, W, 1, 1, 0, P);
      EXPECT_FALSE(std::isnan(y[0]));
      EXPECT_TRUE(std::isnan(y[1]));
      EXPECT_EQ(y[2], kInf);
      EXPECT_EQ(y[3], -kInf);
      EXPECT_TRUE(std::isnan(y[4]));
    }
  }
}

} // namespace

// seqk_maxpool2d_band, as a convolution fused into a max pool calls it
// (ir::ConvPoolPlan): the output rows in bands of 1 to 4, each band
// pooling a copy of only the input rows its windows read, in planes of a
// buffer taller than those rows (their rest NaN: a read past the band's
// rows would show), top padding what the band's first window keeps of
// it. Every pool of kPools, each band size: the bits of the whole
// plane's sequential rule (ties of +-0, NaNs, -inf).
TEST(KernelsPool, MaxPoolBandsKeepTheWholePlanesBits) {
  unsigned seed = 500;
  for (const Pool &p : kPools) {
    const int64_t P = 3, OH = p.OH(), OW = p.OW();
    std::mt19937 rng(seed++);
    std::vector<float> x(size_t(P * p.H * p.W));
    for (float &v : x) {
      int k = int(rng() % 8);
      v = k == 0 ? -0.0f : k == 1 ? 0.0f : k == 2 ? -kInf : float(int(rng() % 5) - 2);
    }
    x[rng() % x.size()] = kNaN;
    std::vector<float> want = naiveMaxPool(p, x, P);
    for (int64_t rows = 1; rows <= 4; ++rows) {
      const int64_t taller = ((rows - 1) * p.SH + (p.KH - 1) * p.DH + 1) + 2;
      std::vector<float> band(size_t(P * taller * p.W + 64));
      std::vector<float> y(want.size(), 99.0f);
      for (int64_t r0 = 0; r0 < OH; r0 += rows) {
        const int64_t r1 = std::min(OH, r0 + rows);
        const int64_t top = r0 * p.SH - p.PH;
        const int64_t lo = std::max<int64_t>(0, top);
        const int64_t hi = std::min(p.H, (r1 - 1) * p.SH - p.PH + (p.KH - 1) * p.DH + 1);
        std::fill(band.begin(), band.end(), kNaN);
        for (int64_t c = 0; c < P; ++c)
          std::copy(x.begin() + (c * p.H + lo) * p.W, x.begin() + (c * p.H + hi) * p.W,
                    band.begin() + c * taller * p.W);
        seqk_maxpool2d_band(band.data(), taller * p.W, y.data() + r0 * OW, OH * OW, hi - lo, p.W, p.KH, p.KW,
                            p.SH, p.SW, lo - top, p.PW, p.DH, p.DW, r1 - r0, OW, P);
      }
      for (size_t i = 0; i < y.size(); ++i) {
        uint32_t got, expected;
        std::memcpy(&got, &y[i], sizeof got);
        std::memcpy(&expected, &want[i], sizeof expected);
        ASSERT_EQ(got, expected) << "pool " << p.H << "x" << p.W << " k" << p.KH << "x" << p.KW << " s" << p.SH
                                 << " bands of " << rows << ": output " << i;
      }
    }
  }
}
