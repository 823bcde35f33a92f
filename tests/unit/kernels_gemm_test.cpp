// Unit tests of seqk_gemm: against a double-precision reference on many
// shapes (M, N or K of 1, edges of the register and cache blocks, K
// larger than a cache block), with leading strides, sub-ranges that
// compose to the whole, and the epilogue contract.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

struct Shape {
  int64_t M, N, K;
};

struct Problem {
  int64_t M, N, K, lda, ldb, ldc;
  std::vector<float> A, B, C;
  std::vector<double> ref, absSum; // exact C and sum of |a*b| per element

  Problem(Shape s, int64_t padA, int64_t padB, int64_t padC, unsigned seed)
      : M(s.M), N(s.N), K(s.K), lda(s.K + padA), ldb(s.N + padB),
        ldc(s.N + padC), A(M * lda), B(K * ldb), C(M * ldc, -777.0f),
        ref(M * N), absSum(M * N) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float &v : A) v = dist(rng);
    for (float &v : B) v = dist(rng);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0, a = 0;
        for (int64_t k = 0; k < K; ++k) {
          double p = double(A[m * lda + k]) * B[k * ldb + n];
          s += p;
          a += std::fabs(p);
        }
        ref[m * N + n] = s;
        absSum[m * N + n] = a;
      }
  }

  void run(int64_t m0, int64_t m1, int64_t n0, int64_t n1,
           seqk_epilogue epi = nullptr, const void *env = nullptr) {
    seqk_gemm(M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, m0, m1,
              n0, n1, epi, env);
  }

  // Every element of [m0,m1) x [n0,n1) is scale*ref + shift; every other
  // element of C (outside the range or in the stride gap) is untouched.
  void check(int64_t m0, int64_t m1, int64_t n0, int64_t n1, double scale = 1,
             double shift = 0) const {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < ldc; ++n) {
        float got = C[m * ldc + n];
        if (m < m0 || m >= m1 || n < n0 || n >= n1 || n >= N) {
          ASSERT_EQ(got, -777.0f) << "wrote outside the range at " << m << "," << n;
          continue;
        }
        double want = scale * ref[m * N + n] + shift;
        double tol = scale * (0.5 * double(K) * FLT_EPSILON * absSum[m * N + n]) +
                     1e-6 * std::fabs(want) + 1e-6;
        ASSERT_NEAR(got, want, tol) << "M=" << M << " N=" << N << " K=" << K
                                    << " at " << m << "," << n;
      }
  }
};

const Shape kShapes[] = {
    {1, 1, 1},    {1, 7, 3},     {1, 1, 25088}, {1, 1000, 300}, {1, 257, 1},
    {2, 1, 5},    {3, 1, 1000},  {2, 2, 2},     {5, 33, 17},    {6, 32, 256},
    {6, 64, 512}, {7, 31, 257},  {12, 96, 255}, {13, 129, 513}, {4, 200, 600},
    {100, 3, 40}, {64, 784, 576}, {37, 300, 1},  {9, 1, 2000},  {17, 130, 70},
};

TEST(KernelsGemm, MatchesReferenceOnManyShapes) {
  unsigned seed = 1;
  for (Shape s : kShapes) {
    Problem p(s, 0, 0, 0, seed++);
    p.run(0, s.M, 0, s.N);
    p.check(0, s.M, 0, s.N);
  }
}

TEST(KernelsGemm, LeadingStrides) {
  unsigned seed = 100;
  for (Shape s : kShapes) {
    Problem p(s, 3, 5, 7, seed++);
    p.run(0, s.M, 0, s.N);
    p.check(0, s.M, 0, s.N);
  }
}

TEST(KernelsGemm, SubRangesComposeToTheWhole) {
  unsigned seed = 200;
  for (Shape s : kShapes) {
    Problem p(s, 1, 2, 3, seed++);
    int64_t mh = s.M / 3, nh = s.N / 2 + 1;
    // Only a part first: nothing outside it is written.
    p.run(mh, s.M, 0, std::min(nh, s.N));
    p.check(mh, s.M, 0, std::min(nh, s.N));
    p.run(0, mh, 0, std::min(nh, s.N));
    if (nh < s.N) {
      p.run(0, s.M, nh, s.N);
    }
    p.check(0, s.M, 0, s.N);
  }
}

// The epilogue sees every output exactly once, in runs of one row, after
// all of K is accumulated, with src == dst pointing into C.
struct EpiLog {
  const Problem *p;
  float *C;
  std::vector<int> count;
  bool badPointer = false;
};

void recordEpilogue(const void *env, int64_t row, int64_t col,
                    const float *src, float *dst, int64_t n) {
  auto *log = static_cast<EpiLog *>(const_cast<void *>(env));
  const Problem &p = *log->p;
  if (src != dst || dst != log->C + row * p.ldc + col || n <= 0 ||
      col + n > p.N || row < 0 || row >= p.M)
    log->badPointer = true;
  for (int64_t j = 0; j < n && col + j < p.N; ++j) {
    ++log->count[row * p.N + col + j];
    dst[j] = 2.0f * src[j] + 1.0f;
  }
}

TEST(KernelsGemm, EpilogueCoversEachOutputOnceWhenFinished) {
  unsigned seed = 300;
  for (Shape s : kShapes) {
    Problem p(s, 0, 1, 2, seed++);
    EpiLog log{&p, p.C.data(), std::vector<int>(s.M * s.N, 0)};
    int64_t mh = s.M / 2, nh = s.N / 3;
    // four sub-ranges, as four threads would run them
    p.run(0, mh, 0, nh, recordEpilogue, &log);
    p.run(0, mh, nh, s.N, recordEpilogue, &log);
    p.run(mh, s.M, 0, nh, recordEpilogue, &log);
    p.run(mh, s.M, nh, s.N, recordEpilogue, &log);
    EXPECT_FALSE(log.badPointer) << "M=" << s.M << " N=" << s.N;
    for (int c : log.count)
      ASSERT_EQ(c, 1) << "M=" << s.M << " N=" << s.N << " K=" << s.K;
    p.check(0, s.M, 0, s.N, 2.0, 1.0);
  }
}

TEST(KernelsGemm, EmptyRangesDoNothing) {
  Problem p({4, 4, 4}, 0, 0, 0, 7);
  p.run(2, 2, 0, 4);
  p.run(0, 4, 3, 3);
  p.check(0, 0, 0, 0);
}

} // namespace
