// Unit tests of the moving and reducing kernels (shape.c) and adaptive max
// pooling against naive references, at awkward sizes: odd, prime, one,
// and rows longer than the reduction's stack chunk.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

std::vector<float> randomData(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

// y = x with its dims permuted (output dim d is input dim perm[d]).
std::vector<float> naivePermute(const std::vector<float> &x, const std::vector<int64_t> &dims,
                                const std::vector<int64_t> &perm) {
  size_t rank = dims.size();
  std::vector<int64_t> stride(rank, 1), outDims(rank);
  for (size_t d = rank - 1; d-- > 0;)
    stride[d] = stride[d + 1] * dims[d + 1];
  for (size_t d = 0; d < rank; ++d)
    outDims[d] = dims[size_t(perm[d])];
  std::vector<float> y(x.size());
  std::vector<int64_t> index(rank, 0);
  for (size_t flat = 0; flat < y.size(); ++flat) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset += index[d] * stride[size_t(perm[d])];
    y[flat] = x[size_t(offset)];
    for (size_t d = rank; d-- > 0;)
      if (++index[d] < outDims[d])
        break;
      else
        index[d] = 0;
  }
  return y;
}

void checkPermute(const std::vector<int64_t> &dims, const std::vector<int64_t> &perm) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  std::vector<float> x = randomData(size_t(n), unsigned(n)), y(size_t(n), -1.0f);
  size_t rank = dims.size();
  std::vector<int64_t> inStride(rank, 1), sizes(rank), strides(rank);
  for (size_t d = rank - 1; d-- > 0;)
    inStride[d] = inStride[d + 1] * dims[d + 1];
  for (size_t d = 0; d < rank; ++d) {
    sizes[d] = dims[size_t(perm[d])];
    strides[d] = inStride[size_t(perm[d])];
  }
  int64_t rows = n / sizes.back();
  // Two calls over a split of the rows, as two tasks would make them.
  seqk_permute(x.data(), y.data(), int64_t(rank), sizes.data(), strides.data(), 0, rows / 3);
  seqk_permute(x.data(), y.data(), int64_t(rank), sizes.data(), strides.data(), rows / 3, rows);
  EXPECT_EQ(y, naivePermute(x, dims, perm));
}

TEST(KernelsShape, PermuteMatchesNaive) {
  checkPermute({3, 5, 7}, {0, 2, 1});        // last dim strided
  checkPermute({2, 3, 1, 4, 5}, {0, 2, 1, 3, 4});
  checkPermute({1, 2, 9, 13}, {0, 3, 1, 2}); // NCHW -> NHWC
  checkPermute({4, 2, 29, 3}, {0, 2, 1, 3}); // ShuffleNet's transpose, contiguous runs
  checkPermute({5, 1}, {0, 1});
  checkPermute({2, 3, 4, 5, 6}, {0, 4, 3, 2, 1});
}

// op over r of x[o, r, i], in double as the kernel documents.
std::vector<float> naiveReduce(const std::vector<float> &x, int64_t outer, int64_t R, int64_t inner, int op) {
  std::vector<float> y(size_t(outer * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double s = 0;
      float m = -std::numeric_limits<float>::infinity(), lo = std::numeric_limits<float>::infinity();
      for (int64_t r = 0; r < R; ++r) {
        float v = x[size_t((o * R + r) * inner + i)];
        s += v;
        if (v > m || std::isnan(v))
          m = v;
        if (v < lo || std::isnan(v))
          lo = v;
      }
      y[size_t(o * inner + i)] = op == SEQK_REDUCE_MAX    ? m
                                 : op == SEQK_REDUCE_MIN  ? lo
                                 : op == SEQK_REDUCE_MEAN ? float(s / double(R))
                                                          : float(s);
    }
  return y;
}

TEST(KernelsShape, ReduceMatchesNaive) {
  const int64_t shapes[][3] = {{3, 49, 1}, {2, 7, 300}, {1, 1, 5}, {5, 3136, 1}, {4, 13, 257}, {1, 1, 1}};
  for (auto [outer, R, inner] : shapes)
    for (int op : {SEQK_REDUCE_SUM, SEQK_REDUCE_MEAN, SEQK_REDUCE_MAX, SEQK_REDUCE_MIN}) {
      std::vector<float> x = randomData(size_t(outer * R * inner), unsigned(R + op));
      std::vector<float> y(size_t(outer * inner), -7.0f);
      seqk_reduce(x.data(), y.data(), R, inner, op, 0, outer / 2);
      seqk_reduce(x.data(), y.data(), R, inner, op, outer / 2, outer);
      EXPECT_EQ(y, naiveReduce(x, outer, R, inner, op)) << outer << "x" << R << "x" << inner << " op " << op;
    }
}

TEST(KernelsShape, ReducePropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {1, nan, 3, 4, 5, 6}, y(2);
  for (int op : {SEQK_REDUCE_SUM, SEQK_REDUCE_MEAN, SEQK_REDUCE_MAX, SEQK_REDUCE_MIN}) {
    seqk_reduce(x.data(), y.data(), 3, 1, op, 0, 2);
    EXPECT_TRUE(std::isnan(y[0])) << op;
    EXPECT_FALSE(std::isnan(y[1])) << op;
  }
}

TEST(KernelsShape, AdaptiveMaxPoolMatchesNaive) {
  const int64_t shapes[][4] = {{7, 7, 3, 2}, {14, 13, 4, 4}, {5, 5, 5, 5}, {9, 1, 2, 1}, {6, 10, 1, 1}};
  for (auto [H, W, OH, OW] : shapes) {
    int64_t planes = 3;
    std::vector<float> x = randomData(size_t(planes * H * W), unsigned(H * W));
    x[size_t(H * W + 1)] = std::numeric_limits<float>::quiet_NaN(); // plane 1
    std::vector<float> y(size_t(planes * OH * OW));
    seqk_adaptive_maxpool2d(x.data(), y.data(), H, W, OH, OW, 0, planes);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
          int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) {
              float v = x[size_t((p * H + h) * W + w)];
              if (v > m || std::isnan(v))
                m = v;
            }
          float got = y[size_t((p * OH + oh) * OW + ow)];
          if (std::isnan(m))
            EXPECT_TRUE(std::isnan(got));
          else
            EXPECT_EQ(got, m) << H << "x" << W << " -> " << OH << "x" << OW;
        }
  }
}

} // namespace
