// Unit tests of packedStream, the path seqk_gemm_packed_stream takes at
// batch 2 and more (the Linear's weights too large for the caches, gemm.c
// GEMM_STREAM_BYTES): gemm_stream_shim.c builds it for every size, so it
// is tested at awkward sizes against a double-precision reference and,
// bit for bit, against packedRows (the library's seqk_gemm_packed on the
// same small weights): both sum each output over k = 0..K-1 in order.
// Sizes: 1, primes, one past the row tile (8), the panel (32 columns),
// the block of K (512) and its streams; 1..9 row blocks; sub-ranges of
// rows anywhere and of columns from a panel; the epilogue; NaN.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
void seqk_gemm_packed_stream_shim(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *Bp, float *C,
                                  int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1, seqk_epilogue epi,
                                  const void *env);
}

namespace {

constexpr int64_t kW = SEQK_PANEL_WIDTH;

struct Case {
  int64_t M, N, K;
  std::vector<float> A, Bp;

  Case(int64_t m, int64_t n, int64_t k, unsigned seed) : M(m), N(n), K(k), A(m * k), Bp((n + kW - 1) / kW * kW * k) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (float &v : A)
      v = dist(rng);
    // panel p, row k, lane j; the padding lanes zero
    for (int64_t p = 0; p * kW < N; ++p)
      for (int64_t kk = 0; kk < K; ++kk)
        for (int64_t j = 0; j < kW; ++j)
          Bp[(p * K + kk) * kW + j] = p * kW + j < N ? dist(rng) : 0.0f;
  }
  float b(int64_t k, int64_t j) const { return Bp[((j / kW) * K + k) * kW + j % kW]; }

  // C (M x N, -777 outside the range) from one of the two paths
  std::vector<float> run(bool stream, int64_t m0, int64_t m1, int64_t n0, int64_t n1, seqk_epilogue epi = nullptr,
                         const void *env = nullptr) const {
    std::vector<float> C(M * N, -777.0f);
    (stream ? seqk_gemm_packed_stream_shim : seqk_gemm_packed)(M, N, K, A.data(), K, Bp.data(), C.data(), N, m0, m1, n0,
                                                          n1, epi, env);
    return C;
  }
};

void expectSameBits(const std::vector<float> &got, const std::vector<float> &want, const Case &c) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
        << "M=" << c.M << " N=" << c.N << " K=" << c.K << " at " << i / c.N << "," << i % c.N << ": " << got[i]
        << " vs " << want[i];
}

TEST(KernelsStream, MatchesReference) {
  unsigned seed = 1;
  for (int64_t M : {2, 9, 17})
    for (int64_t N : {1, 33, 97})
      for (int64_t K : {1, 7, 129, 257}) {
        Case c(M, N, K, seed++);
        std::vector<float> C = c.run(true, 0, M, 0, N);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double s = 0, mag = 0;
            for (int64_t k = 0; k < K; ++k) {
              double t = double(c.A[i * K + k]) * c.b(k, j);
              s += t;
              mag += std::fabs(t);
            }
            ASSERT_NEAR(C[i * N + j], s, 0.5 * double(K) * FLT_EPSILON * mag + 1e-6)
                << "M=" << M << " N=" << N << " K=" << K << " at " << i << "," << j;
          }
      }
}

// Every count of row blocks (1..9, powers of two and not: the prefetch
// splits unevenly), K within, at and past a block (512) and a stream's
// share of it (128), and past two blocks.
TEST(KernelsStream, SameBitsAsPackedRows) {
  unsigned seed = 100;
  for (int64_t M : {2, 3, 8, 9, 16, 17, 24, 25, 41, 64, 65})
    for (int64_t N : {1, 31, 32, 33, 129})
      for (int64_t K : {1, 7, 31, 127, 128, 129, 300, 511, 512, 513, 1025}) {
        Case c(M, N, K, seed++);
        expectSameBits(c.run(true, 0, M, 0, N), c.run(false, 0, M, 0, N), c);
      }
}

// Rows starting anywhere, columns at any panel, ranges that compose.
TEST(KernelsStream, SubRangesSameBits) {
  unsigned seed = 200;
  for (int64_t M : {3, 17, 40})
    for (int64_t N : {33, 160, 257})
      for (int64_t K : {5, 128, 131}) {
        Case c(M, N, K, seed++);
        for (auto [m0, m1, n0, n1] : {std::array<int64_t, 4>{1, M, kW, N}, {M / 3, M - 1, 0, kW},
                                      {2, M, 2 * kW, std::min<int64_t>(N, 4 * kW + 1)}})
          expectSameBits(c.run(true, m0, m1, n0, n1), c.run(false, m0, m1, n0, n1), c);
      }
}

struct EpiLog {
  int64_t M, N;
  const float *C0;
  std::vector<int> count;
  bool bad = false;
};

void record(const void *env, int64_t row, int64_t col, const float *src, float *dst, int64_t n) {
  auto *log = static_cast<EpiLog *>(const_cast<void *>(env));
  if (src != dst || n <= 0 || col + n > log->N || row < 0 || row >= log->M)
    log->bad = true;
  for (int64_t j = 0; j < n && col + j < log->N; ++j) {
    ++log->count[row * log->N + col + j];
    dst[j] = 2.0f * src[j] + 1.0f;
  }
}

// Each output goes through the epilogue once, after all of K, and the
// result is the other path's bit for bit.
TEST(KernelsStream, EpilogueOnceSameBits) {
  unsigned seed = 300;
  for (int64_t M : {2, 9, 17})
    for (int64_t N : {1, 33, 129})
      for (int64_t K : {1, 129, 257}) {
        Case c(M, N, K, seed++);
        EpiLog s{M, N, nullptr, std::vector<int>(M * N, 0)}, r = s;
        std::vector<float> got = c.run(true, 0, M, 0, N, record, &s);
        std::vector<float> want = c.run(false, 0, M, 0, N, record, &r);
        EXPECT_FALSE(s.bad);
        for (int n : s.count)
          ASSERT_EQ(n, 1) << "M=" << M << " N=" << N << " K=" << K;
        expectSameBits(got, want, c);
      }
}

// The library's entry point, with its real thresholds: below them (all
// these sizes) it is seqk_gemm_packed, one row included.
TEST(KernelsStream, EntryPointBelowThresholdSameBits) {
  unsigned seed = 400;
  for (int64_t M : {1, 2, 9, 33})
    for (int64_t N : {1, 33, 97}) {
      Case c(M, N, 131, seed++);
      std::vector<float> got(M * N, -777.0f), want(M * N, -777.0f);
      seqk_gemm_packed_stream(M, N, c.K, c.A.data(), c.K, c.Bp.data(), got.data(), N, 0, M, 0, N, nullptr, nullptr);
      seqk_gemm_packed(M, N, c.K, c.A.data(), c.K, c.Bp.data(), want.data(), N, 0, M, 0, N, nullptr, nullptr);
      expectSameBits(got, want, c);
    }
}

TEST(KernelsStream, NanPropagates) {
  Case c(9, 40, 150, 5);
  c.A[0 * 150 + 3] = NAN;                 // row 0
  c.Bp[(1 * 150 + 140) * kW + 2] = INFINITY; // column 34, in the second block of K
  std::vector<float> C = c.run(true, 0, 9, 0, 40);
  for (int64_t j = 0; j < 40; ++j)
    EXPECT_TRUE(std::isnan(C[j])) << j;
  for (int64_t i = 1; i < 9; ++i) {
    EXPECT_TRUE(std::isinf(C[i * 40 + 34]) || std::isnan(C[i * 40 + 34]));
    EXPECT_TRUE(std::isfinite(C[i * 40 + 33]));
  }
}

} // namespace
