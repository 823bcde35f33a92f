// Unit tests of the stride-1 convolutions on a padded copy: seqk_pad2d
// (exact), seqk_conv2d_direct against a double-precision direct
// convolution, at awkward sizes (1 channel, primes, one past the tile's
// 8 rows and 32 positions, and the narrow tile's 64, asymmetric padding,
// dilation), on tiles of
// channels and positions that compose to the whole, with the epilogue
// contract.
#include <gtest/gtest.h>

#include "conv_reference.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

struct Conv {
  int64_t C, OC, H, W, KH, KW, top, left, bottom, right, DH, DW;
  int64_t Hp() const { return H + top + bottom; }
  int64_t Wp() const { return W + left + right; }
  int64_t OH() const { return Hp() - DH * (KH - 1); }
  int64_t OW() const { return Wp() - DW * (KW - 1); }
  int64_t K() const { return C * KH * KW; }
  int64_t positions() const { return (OH() - 1) * Wp() + OW(); }
};

const Conv kConvs[] = {
    {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},    {3, 5, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1},
    {1, 6, 28, 28, 5, 5, 0, 0, 0, 0, 1, 1},  {4, 8, 9, 33, 3, 3, 1, 1, 1, 1, 1, 1},
    {2, 9, 6, 31, 3, 3, 1, 1, 1, 1, 1, 1},   {5, 17, 7, 30, 3, 5, 0, 2, 1, 0, 1, 1},
    {2, 3, 12, 10, 3, 3, 2, 2, 2, 2, 2, 2},  {16, 16, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1},
    {3, 7, 4, 4, 3, 3, 4, 4, 4, 4, 1, 1},    {2, 2, 3, 40, 1, 7, 0, 3, 0, 3, 1, 1},
    {7, 1, 11, 5, 2, 2, 1, 0, 0, 1, 1, 1},   {30, 33, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1},
    // 4 output channels or fewer: tiles of 4 channels by 64 positions
    // (one past them: 65 and 129 positions), and a grouped convolution's
    // group of 4 on a 56-wide plane
    {2, 4, 5, 13, 1, 1, 0, 0, 0, 0, 1, 1},   {3, 3, 3, 43, 1, 1, 0, 0, 0, 0, 1, 1},
    {4, 4, 9, 56, 3, 3, 1, 1, 1, 1, 1, 1},
};

using seqk_test::randomVector;

// The padded copy, as seqk_pad2d makes it over two channel ranges.
std::vector<float> padded(const Conv &c, const std::vector<float> &x) {
  std::vector<float> xp(c.C * c.Hp() * c.Wp() + SEQK_CONV_SLACK, 99.0f);
  int64_t half = c.C / 2;
  seqk_pad2d(x.data(), xp.data(), c.C, c.H, c.W, c.Hp(), c.Wp(), c.top, c.left, half, c.C);
  seqk_pad2d(x.data(), xp.data(), c.C, c.H, c.W, c.Hp(), c.Wp(), c.top, c.left, 0, half);
  return xp;
}

TEST(KernelsDirect, PadCopiesTheImageIntoZeros) {
  unsigned seed = 1;
  for (const Conv &c : kConvs) {
    auto x = randomVector(c.C * c.H * c.W, seed++);
    auto xp = padded(c, x);
    for (int64_t ch = 0; ch < c.C; ++ch)
      for (int64_t r = 0; r < c.Hp(); ++r)
        for (int64_t j = 0; j < c.Wp(); ++j) {
          int64_t ih = r - c.top, iw = j - c.left;
          bool inside = ih >= 0 && ih < c.H && iw >= 0 && iw < c.W;
          float want = inside ? x[(ch * c.H + ih) * c.W + iw] : 0.0f;
          ASSERT_EQ(xp[(ch * c.Hp() + r) * c.Wp() + j], want);
        }
    for (int64_t j = 0; j < SEQK_CONV_SLACK; ++j)
      ASSERT_EQ(xp[c.C * c.Hp() * c.Wp() + j], 0.0f);
  }
}

using Reference = seqk_test::ConvReference;

Reference reference(const Conv &c, const std::vector<float> &x, const std::vector<float> &w) {
  return seqk_test::referenceConv({c.C, c.OC, c.H, c.W, c.KH, c.KW, 1, 1, c.DH, c.DW, c.top, c.left, c.OH(), c.OW()}, x, w);
}

struct EpiLog {
  float *y;
  int64_t OC, OHW;
  std::vector<int> count;
  bool bad = false;
};

void record(const void *env, int64_t row, int64_t col, const float *src, float *dst, int64_t n) {
  auto *log = static_cast<EpiLog *>(const_cast<void *>(env));
  if (dst != log->y + row * log->OHW + col || n <= 0 || col + n > log->OHW || row < 0 ||
      row >= log->OC)
    log->bad = true;
  for (int64_t j = 0; j < n; ++j) {
    ++log->count[row * log->OHW + col + j];
    dst[j] = 2.0f * src[j] + 1.0f;
  }
}

void expectConv(const Conv &c, const Reference &ref, const std::vector<float> &y, double scale,
                double shift) {
  for (size_t i = 0; i < y.size(); ++i) {
    double want = scale * ref.y[i] + shift;
    double tol = scale * (0.5 * double(c.K()) * FLT_EPSILON * ref.absSum[i]) + 1e-6 * std::fabs(want) + 1e-6;
    ASSERT_NEAR(y[i], want, tol) << "conv " << (&c - kConvs) << " at " << i;
  }
}

TEST(KernelsDirect, MatchesDirectConvolution) {
  unsigned seed = 10;
  for (const Conv &c : kConvs) {
    auto x = randomVector(c.C * c.H * c.W, seed++);
    auto w = randomVector(c.OC * c.K(), seed++);
    auto xp = padded(c, x);
    std::vector<float> y(c.OC * c.OH() * c.OW(), -5.0f);
    seqk_conv2d_direct(xp.data(), w.data(), y.data(), c.C, c.Hp(), c.Wp(), c.KH, c.KW, c.DH, c.DW,
                       c.OH(), c.OW(), 0, c.OC, 0, c.positions(), nullptr, nullptr);
    expectConv(c, reference(c, x, w), y, 1, 0);
  }
}

// Four tiles, as four tasks run them (positions split anywhere, q1 past
// the end clipped): every output once through the epilogue, in runs of
// one output row, and nothing outside a tile written.
TEST(KernelsDirect, TilesComposeAndEpilogueSeesEachOutputOnce) {
  unsigned seed = 50;
  for (const Conv &c : kConvs) {
    auto x = randomVector(c.C * c.H * c.W, seed++);
    auto w = randomVector(c.OC * c.K(), seed++);
    auto xp = padded(c, x);
    int64_t OHW = c.OH() * c.OW(), Q = c.positions();
    std::vector<float> y(c.OC * OHW, -5.0f);
    EpiLog log{y.data(), c.OC, OHW, std::vector<int>(c.OC * OHW, 0)};
    int64_t mh = c.OC / 2, qh = Q / 3;
    auto run = [&](int64_t m0, int64_t m1, int64_t q0, int64_t q1) {
      seqk_conv2d_direct(xp.data(), w.data(), y.data(), c.C, c.Hp(), c.Wp(), c.KH, c.KW, c.DH,
                         c.DW, c.OH(), c.OW(), m0, m1, q0, q1, record, &log);
    };
    run(mh, c.OC, qh, Q + 100);
    for (int64_t i = 0; i < mh * OHW; ++i)
      ASSERT_EQ(y[i], -5.0f) << "wrote outside the tile";
    run(0, mh, qh, Q);
    run(0, mh, 0, qh);
    run(mh, c.OC, 0, qh);
    EXPECT_FALSE(log.bad) << "conv " << (&c - kConvs);
    for (int n : log.count)
      ASSERT_EQ(n, 1) << "conv " << (&c - kConvs);
    expectConv(c, reference(c, x, w), y, 2, 1);
  }
}

TEST(KernelsDirect, NanPropagates) {
  Conv c{2, 9, 6, 35, 3, 3, 1, 1, 1, 1, 1, 1};
  auto x = randomVector(c.C * c.H * c.W, 3);
  auto w = randomVector(c.OC * c.K(), 4);
  x[(1 * c.H + 2) * c.W + 33] = NAN;
  auto xp = padded(c, x);
  std::vector<float> y(c.OC * c.OH() * c.OW());
  seqk_conv2d_direct(xp.data(), w.data(), y.data(), c.C, c.Hp(), c.Wp(), c.KH, c.KW, c.DH, c.DW,
                     c.OH(), c.OW(), 0, c.OC, 0, c.positions(), nullptr, nullptr);
  for (int64_t oc = 0; oc < c.OC; ++oc)
    for (int64_t oh = 0; oh < c.OH(); ++oh)
      for (int64_t ow = 0; ow < c.OW(); ++ow) {
        bool reads = std::abs(oh - 2) <= 1 && std::abs(ow - 33) <= 1;
        EXPECT_EQ(std::isnan(y[(oc * c.OH() + oh) * c.OW() + ow]), reads) << oc << "," << oh << "," << ow;
      }
}

} // namespace
