// Unit tests of seqk_gemm_packed, the GEMM on B packed in panels of
// SEQK_PANEL_WIDTH columns (Linear weights): against a double-precision
// reference at awkward sizes (1, primes, one past each tile edge: MR = 8
// rows, NR = 32 columns, KC = 256, the 4-panel row path; 2..65 rows of the
// batched path), on sub-ranges
// that compose to the whole, with the epilogue contract.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

constexpr int64_t kW = SEQK_PANEL_WIDTH;

struct Packed {
  int64_t M, N, K;
  std::vector<float> A, B, Bp, C;
  std::vector<double> ref, absSum;

  Packed(int64_t m, int64_t n, int64_t k, unsigned seed)
      : M(m), N(n), K(k), A(m * k), B(k * n),
        Bp((n + kW - 1) / kW * kW * k, 12345.0f), C(m * n, -777.0f),
        ref(m * n), absSum(m * n) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float &v : A) v = dist(rng);
    for (float &v : B) v = dist(rng);
    // the documented layout: panel p, row k, lane j; padding zeroed
    for (int64_t p = 0; p * kW < N; ++p)
      for (int64_t kk = 0; kk < K; ++kk)
        for (int64_t j = 0; j < kW; ++j)
          Bp[(p * K + kk) * kW + j] = p * kW + j < N ? B[kk * N + p * kW + j] : 0.0f;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0, a = 0;
        for (int64_t kk = 0; kk < K; ++kk) {
          double t = double(A[i * K + kk]) * B[kk * N + j];
          s += t;
          a += std::fabs(t);
        }
        ref[i * N + j] = s;
        absSum[i * N + j] = a;
      }
  }

  void run(int64_t m0, int64_t m1, int64_t n0, int64_t n1,
           seqk_epilogue epi = nullptr, const void *env = nullptr) {
    seqk_gemm_packed(M, N, K, A.data(), K, Bp.data(), C.data(), N, m0, m1, n0,
                     n1, epi, env);
  }

  void check(int64_t m0, int64_t m1, int64_t n0, int64_t n1, double scale = 1,
             double shift = 0) const {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        float got = C[i * N + j];
        if (i < m0 || i >= m1 || j < n0 || j >= n1) {
          ASSERT_EQ(got, -777.0f) << "wrote outside the range at " << i << "," << j;
          continue;
        }
        double want = scale * ref[i * N + j] + shift;
        double tol = scale * (0.5 * double(K) * FLT_EPSILON * absSum[i * N + j]) +
                     1e-6 * std::fabs(want) + 1e-6;
        ASSERT_NEAR(got, want, tol) << "M=" << M << " N=" << N << " K=" << K
                                    << " at " << i << "," << j;
      }
  }
};

struct Size {
  int64_t M, N, K;
};

const Size kSizes[] = {
    {1, 1, 1},    {1, 31, 7},   {1, 32, 256}, {1, 33, 257},  {1, 129, 64},
    {1, 257, 13}, {1, 97, 1000}, {2, 1, 1},   {2, 65, 3},    {7, 32, 17},
    {8, 32, 256}, {9, 33, 257}, {16, 64, 513}, {17, 100, 31}, {3, 160, 2},
    {13, 7, 600}, {64, 129, 40}, {5, 1, 300},
};

TEST(KernelsPacked, MatchesReference) {
  unsigned seed = 1;
  for (Size s : kSizes) {
    Packed p(s.M, s.N, s.K, seed++);
    p.run(0, s.M, 0, s.N);
    p.check(0, s.M, 0, s.N);
  }
}

// Linear at batch 2..65: every count of 8-row blocks (1..9, powers of two
// and not: the next-block prefetch splits unevenly), whole and partial
// row blocks, a K of one block, one past it and three blocks short of a
// row, N one past a panel; rows starting anywhere (m0 > 0).
TEST(KernelsPacked, BatchRowsMatchReference) {
  unsigned seed = 300;
  for (int64_t M : {2, 3, 8, 9, 16, 17, 23, 24, 25, 40, 41, 63, 64, 65})
    for (Size s : {Size{M, 33, 256}, Size{M, 97, 257}, Size{M, 65, 767}}) {
      Packed p(s.M, s.N, s.K, seed++);
      p.run(0, s.M, 0, s.N);
      p.check(0, s.M, 0, s.N);
      Packed q(s.M, s.N, s.K, seed++);
      q.run(1, s.M, kW, s.N);
      q.check(1, s.M, kW, s.N);
    }
}

// Column ranges start at a panel; row ranges anywhere.
TEST(KernelsPacked, SubRangesComposeToTheWhole) {
  unsigned seed = 100;
  for (Size s : kSizes) {
    Packed p(s.M, s.N, s.K, seed++);
    int64_t mh = s.M / 3, nh = std::min(s.N, kW * ((s.N / kW + 1) / 2));
    p.run(mh, s.M, 0, nh);
    p.check(mh, s.M, 0, nh);
    p.run(0, mh, 0, nh);
    p.run(0, s.M, nh, s.N);
    p.check(0, s.M, 0, s.N);
  }
}

struct EpiLog {
  const Packed *p;
  std::vector<int> count;
  bool bad = false;
};

void record(const void *env, int64_t row, int64_t col, const float *src,
            float *dst, int64_t n) {
  auto *log = static_cast<EpiLog *>(const_cast<void *>(env));
  const Packed &p = *log->p;
  if (src != dst || dst != p.C.data() + row * p.N + col || n <= 0 ||
      col + n > p.N || row < 0 || row >= p.M)
    log->bad = true;
  for (int64_t j = 0; j < n && col + j < p.N; ++j) {
    ++log->count[row * p.N + col + j];
    dst[j] = 2.0f * src[j] + 1.0f;
  }
}

TEST(KernelsPacked, EpilogueCoversEachOutputOnce) {
  unsigned seed = 200;
  for (Size s : kSizes) {
    Packed p(s.M, s.N, s.K, seed++);
    EpiLog log{&p, std::vector<int>(s.M * s.N, 0)};
    int64_t mh = s.M / 2, nh = std::min(s.N, kW);
    p.run(0, mh, 0, nh, record, &log);
    p.run(0, mh, nh, s.N, record, &log);
    p.run(mh, s.M, 0, nh, record, &log);
    p.run(mh, s.M, nh, s.N, record, &log);
    EXPECT_FALSE(log.bad) << "M=" << s.M << " N=" << s.N;
    for (int c : log.count)
      ASSERT_EQ(c, 1) << "M=" << s.M << " N=" << s.N << " K=" << s.K;
    p.check(0, s.M, 0, s.N, 2.0, 1.0);
  }
}

// NaN and infinities in A or B reach exactly the outputs that read them.
TEST(KernelsPacked, NanPropagates) {
  for (int64_t M : {1, 9}) {
    Packed p(M, 40, 20, 5);
    p.A[0 * 20 + 3] = NAN; // row 0
    p.Bp[(1 * 20 + 4) * kW + 2] = INFINITY; // column 34
    p.run(0, M, 0, 40);
    for (int64_t j = 0; j < 40; ++j)
      EXPECT_TRUE(std::isnan(p.C[j])) << j;
    for (int64_t i = 1; i < M; ++i)
      EXPECT_TRUE(std::isinf(p.C[i * 40 + 34]) || std::isnan(p.C[i * 40 + 34]));
    if (M > 1) {
      EXPECT_TRUE(std::isfinite(p.C[1 * 40 + 33]));
    }
  }
}

} // namespace
