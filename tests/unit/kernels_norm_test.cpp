// Unit tests of seqk_softmax (last and inner dimensions, log or not, NaN
// and infinities as PyTorch gives them), seqk_layernorm (with and without
// gamma/beta, in place, rows with a large mean) and seqk_map.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

std::vector<float> randomVector(size_t n, unsigned seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &f : v) f = dist(rng);
  return v;
}

// softmax of x viewed as [outer, D, inner] over D, in double
std::vector<double> softmaxRef(const std::vector<float> &x, int64_t outer,
                               int64_t D, int64_t inner, bool log) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t d) { return (o * D + d) * inner + i; };
      double m = -INFINITY, s = 0;
      for (int64_t d = 0; d < D; ++d) m = std::max(m, double(x[at(d)]));
      for (int64_t d = 0; d < D; ++d) s += std::exp(x[at(d)] - m);
      for (int64_t d = 0; d < D; ++d)
        y[at(d)] = log ? x[at(d)] - m - std::log(s) : std::exp(x[at(d)] - m) / s;
    }
  return y;
}

TEST(KernelsNorm, SoftmaxMatchesReference) {
  const int64_t shapes[][3] = {{1, 1, 1},   {3, 5, 1},    {2, 17, 1},  {4, 1000, 1},
                               {2, 16, 1},  {2, 5, 3},    {3, 7, 64},  {2, 4, 70},
                               {1, 33, 130}, {5, 1, 9},   {2, 257, 2}};
  unsigned seed = 1;
  for (auto &s : shapes)
    for (int32_t log = 0; log <= 1; ++log) {
      int64_t outer = s[0], D = s[1], inner = s[2];
      auto x = randomVector(outer * D * inner, seed++, -20.0f, 20.0f);
      auto want = softmaxRef(x, outer, D, inner, log);
      std::vector<float> y(x.size(), -3.0f);
      seqk_softmax(x.data(), y.data(), D, inner, log, 1, outer);
      for (int64_t i = 0; i < D * inner; ++i)
        ASSERT_EQ(y[i], -3.0f) << "wrote outside the outer range";
      seqk_softmax(x.data(), y.data(), D, inner, log, 0, 1);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], want[i], 1e-6 + 2e-6 * std::fabs(want[i]))
            << "outer " << outer << " D " << D << " inner " << inner << " log " << log;
      // in place
      std::vector<float> z = x;
      seqk_softmax(z.data(), z.data(), D, inner, log, 0, outer);
      for (size_t i = 0; i < z.size(); ++i)
        ASSERT_EQ(z[i], y[i]);
    }
}

TEST(KernelsNorm, SoftmaxLargeInputsDoNotOverflow) {
  std::vector<float> x = {1e30f, 1e30f, -1e30f, 3e38f, 3e38f}, y(5);
  seqk_softmax(x.data(), y.data(), 5, 1, 0, 0, 1);
  EXPECT_FLOAT_EQ(y[3], 0.5f);
  EXPECT_FLOAT_EQ(y[0], 0.0f);
  seqk_softmax(x.data(), y.data(), 5, 1, 1, 0, 1);
  EXPECT_NEAR(y[3], -std::log(2.0f), 1e-6);
}

TEST(KernelsNorm, SoftmaxSpecialValuesAsPyTorch) {
  for (int64_t inner : {1, 2}) {
    for (int32_t log = 0; log <= 1; ++log) {
      // [1, inf, 2] -> all NaN; [-inf, -inf, -inf] -> all NaN; a NaN
      // anywhere -> all NaN; [-inf, 0] -> [0, 1]
      const std::vector<std::vector<float>> rows = {
          {1, kInf, 2}, {-kInf, -kInf, -kInf}, {0, kNaN, 1}, {-kInf, 0}};
      for (size_t r = 0; r < rows.size(); ++r) {
        int64_t D = rows[r].size();
        std::vector<float> x(D * inner), y(D * inner);
        for (int64_t d = 0; d < D; ++d)
          for (int64_t i = 0; i < inner; ++i) x[d * inner + i] = rows[r][d];
        seqk_softmax(x.data(), y.data(), D, inner, log, 0, 1);
        for (int64_t i = 0; i < D * inner && r < 3; ++i)
          EXPECT_TRUE(std::isnan(y[i])) << "row " << r << " log " << log;
        if (r == 3) {
          EXPECT_EQ(y[0], log ? -kInf : 0.0f);
          EXPECT_EQ(y[inner], log ? 0.0f : 1.0f);
        }
      }
    }
  }
}

void layernormRef(const std::vector<float> &x, std::vector<double> &y,
                  int64_t rows, int64_t D, const float *g, const float *b,
                  float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < D; ++i) mean += x[r * D + i];
    mean /= D;
    for (int64_t i = 0; i < D; ++i) var += (x[r * D + i] - mean) * (x[r * D + i] - mean);
    var /= D;
    for (int64_t i = 0; i < D; ++i)
      y[r * D + i] = (x[r * D + i] - mean) / std::sqrt(var + eps) * (g ? g[i] : 1.0) +
                     (b ? b[i] : 0.0);
  }
}

TEST(KernelsNorm, LayerNormMatchesReference) {
  const int64_t sizes[][2] = {{1, 1}, {3, 5}, {4, 16}, {2, 17}, {5, 768}, {2, 1001}};
  unsigned seed = 10;
  for (auto &s : sizes)
    for (int variant = 0; variant < 4; ++variant)
      for (float offset : {0.0f, 1000.0f}) {
        int64_t rows = s[0], D = s[1];
        auto x = randomVector(rows * D, seed++, -2.0f, 2.0f);
        for (float &v : x) v += offset;
        auto g = randomVector(D, seed++, 0.5f, 1.5f);
        auto b = randomVector(D, seed++, -1.0f, 1.0f);
        const float *gp = variant & 1 ? g.data() : nullptr;
        const float *bp = variant & 2 ? b.data() : nullptr;
        std::vector<double> want(x.size());
        layernormRef(x, want, rows, D, gp, bp, 1e-5f);
        std::vector<float> y(x.size(), 7.0f);
        seqk_layernorm(x.data(), y.data(), D, gp, bp, 1e-5f, 1, rows);
        for (int64_t i = 0; i < D; ++i)
          ASSERT_EQ(y[i], 7.0f);
        seqk_layernorm(x.data(), y.data(), D, gp, bp, 1e-5f, 0, 1);
        // a large mean costs the float input its low bits, not the kernel
        double tol = offset == 0 ? 2e-5 : 2e-3;
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], want[i], tol) << "D " << D << " variant " << variant;
        std::vector<float> z = x;
        seqk_layernorm(z.data(), z.data(), D, gp, bp, 1e-5f, 0, rows);
        for (size_t i = 0; i < z.size(); ++i)
          ASSERT_EQ(z[i], y[i]);
      }
}

TEST(KernelsNorm, LayerNormConstantRowIsBeta) {
  std::vector<float> x(10, 3.25f), y(10), b(10, 0.5f);
  seqk_layernorm(x.data(), y.data(), 10, nullptr, b.data(), 1e-5f, 0, 1);
  for (float v : y)
    EXPECT_EQ(v, 0.5f);
}

struct MapLog {
  int64_t D;
  const float *x;
  float *y;
  std::vector<int> rows;
  bool bad = false;
};

void recordMap(const void *env, int64_t row, int64_t col, const float *src,
               float *dst, int64_t n) {
  auto *log = static_cast<MapLog *>(const_cast<void *>(env));
  if (col != 0 || n != log->D || src != log->x + row * log->D ||
      dst != log->y + row * log->D)
    log->bad = true;
  ++log->rows[row];
  for (int64_t i = 0; i < n; ++i)
    dst[i] = seqk_hardswishf(src[i]);
}

TEST(KernelsNorm, MapCallsTheEpilogueOncePerRow) {
  int64_t rows = 6, D = 37;
  auto x = randomVector(rows * D, 3, -5.0f, 5.0f);
  std::vector<float> y(x.size());
  MapLog log{D, x.data(), y.data(), std::vector<int>(rows, 0)};
  seqk_map(x.data(), y.data(), D, 0, 4, recordMap, &log);
  seqk_map(x.data(), y.data(), D, 4, rows, recordMap, &log);
  EXPECT_FALSE(log.bad);
  for (int n : log.rows)
    EXPECT_EQ(n, 1);
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(y[i], seqk_hardswishf(x[i]));
  std::vector<float> z(x.size());
  seqk_map(x.data(), z.data(), D, 0, rows, nullptr, nullptr);
  EXPECT_EQ(z, x);
}

} // namespace
