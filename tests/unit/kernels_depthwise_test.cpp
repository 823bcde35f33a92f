// Unit tests of seqk_depthwise2d_phased (depthwise.c) against a
// double-precision direct convolution (conv_reference.h), over every
// combination of awkward sizes (1, primes, one past a 16- and 32-column
// block, one past the 4-row block), kernels 1x1 to 5x5 and 3x5, strides 1
// to 3 (and unequal ones), dilations 1 and 2, and symmetric, asymmetric
// and absent padding; on two channel ranges with buffers of exactly the
// documented size, with the epilogue contract (each output once, runs
// inside the channel's plane, dst at its place), and NaN propagation.
#include <gtest/gtest.h>

#include "conv_reference.h"

#include <cmath>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

using seqk_test::ConvGeometry;
using seqk_test::randomVector;

struct Depthwise {
  int64_t C, H, W, KH, KW, SH, SW, DH, DW, top, left, bottom, right;
  int64_t OH() const { return (H + top + bottom - DH * (KH - 1) - 1) / SH + 1; }
  int64_t OW() const { return (W + left + right - DW * (KW - 1) - 1) / SW + 1; }
  bool valid() const { return H + top + bottom - DH * (KH - 1) >= 1 && W + left + right - DW * (KW - 1) >= 1; }
  int64_t Wq() const { return seqk_depthwise2d_phased_width(KW, SH, SW, DW, OH(), OW()); }
  int64_t planeFloats() const { return seqk_depthwise2d_phased_plane(KH, SH, SW, DH, OH(), Wq()); }
};

struct EpiLog {
  float *y;
  int64_t plane;
  std::vector<int> count;
  bool bad = false;
};

void record(const void *env, int64_t row, int64_t col, const float *src, float *dst, int64_t n) {
  auto *log = static_cast<EpiLog *>(const_cast<void *>(env));
  if (dst != log->y + row * log->plane + col || col < 0 || col + n > log->plane)
    log->bad = true;
  for (int64_t j = 0; j < n; ++j) {
    ++log->count[size_t(row * log->plane + col + j)];
    dst[j] = 2.0f * src[j] + 1.0f;
  }
}

// Channel c of x convolved with its own KH x KW filter, in double.
seqk_test::ConvReference reference(const Depthwise &d, const std::vector<float> &x, const std::vector<float> &w,
                                   int64_t c) {
  ConvGeometry g{1, 1, d.H, d.W, d.KH, d.KW, d.SH, d.SW, d.DH, d.DW, d.top, d.left, d.OH(), d.OW()};
  std::vector<float> xc(x.begin() + c * d.H * d.W, x.begin() + (c + 1) * d.H * d.W);
  std::vector<float> wc(w.begin() + c * d.KH * d.KW, w.begin() + (c + 1) * d.KH * d.KW);
  return seqk_test::referenceConv(g, xc, wc);
}

// Runs the kernel on channels [0, half) and [half, C), each with a buffer
// of exactly planeFloats() followed by canaries that must survive.
std::vector<float> run(const Depthwise &d, const std::vector<float> &x, const std::vector<float> &w,
                       seqk_epilogue epi, EpiLog *log) {
  int64_t OHW = d.OH() * d.OW(), half = d.C / 2, plane = d.planeFloats();
  std::vector<float> y(size_t(d.C * OHW), -7.0f);
  if (log)
    log->y = y.data();
  std::vector<float> buf(size_t(2 * plane + 32), 123.0f);
  seqk_depthwise2d_phased(x.data(), buf.data() + plane + 16, w.data(), y.data(), d.H, d.W, d.KH, d.KW, d.SH,
                          d.SW, d.top, d.left, d.DH, d.DW, d.OH(), d.OW(), d.Wq(), half, d.C, epi, log);
  for (int64_t i = 0; i < half * OHW; ++i)
    EXPECT_EQ(y[size_t(i)], -7.0f) << "wrote outside the channel range";
  seqk_depthwise2d_phased(x.data(), buf.data(), w.data(), y.data(), d.H, d.W, d.KH, d.KW, d.SH, d.SW, d.top,
                          d.left, d.DH, d.DW, d.OH(), d.OW(), d.Wq(), 0, half, epi, log);
  for (int64_t i = 0; i < 16; ++i) {
    EXPECT_EQ(buf[size_t(plane + i)], 123.0f) << "wrote past the buffer";
    EXPECT_EQ(buf[size_t(2 * plane + 16 + i)], 123.0f) << "wrote past the buffer";
  }
  return y;
}

std::string describe(const Depthwise &d) {
  char s[160];
  snprintf(s, sizeof s, "C%ld %ldx%ld k%ldx%ld s%ld,%ld d%ld,%ld pad t%ld l%ld b%ld r%ld", long(d.C), long(d.H),
           long(d.W), long(d.KH), long(d.KW), long(d.SH), long(d.SW), long(d.DH), long(d.DW), long(d.top),
           long(d.left), long(d.bottom), long(d.right));
  return s;
}

void check(const Depthwise &d, unsigned seed) {
  auto x = randomVector(size_t(d.C * d.H * d.W), seed);
  auto w = randomVector(size_t(d.C * d.KH * d.KW), seed + 1);
  int64_t OHW = d.OH() * d.OW();
  EpiLog log{nullptr, OHW, std::vector<int>(size_t(d.C * OHW), 0)};
  std::vector<float> y = run(d, x, w, record, &log);
  std::vector<float> plain = run(d, x, w, nullptr, nullptr);
  ASSERT_FALSE(log.bad) << describe(d);
  for (int n : log.count)
    ASSERT_EQ(n, 1) << describe(d);
  for (int64_t c = 0; c < d.C; ++c) {
    auto ref = reference(d, x, w, c);
    for (int64_t i = 0; i < OHW; ++i) {
      double tol = 1e-6 * (1 + ref.absSum[size_t(i)]);
      ASSERT_NEAR(plain[size_t(c * OHW + i)], ref.y[size_t(i)], tol) << describe(d) << " at " << c << "," << i;
      ASSERT_FLOAT_EQ(y[size_t(c * OHW + i)], 2.0f * plain[size_t(c * OHW + i)] + 1.0f) << describe(d);
    }
  }
}

// seqk_depthwise2d_phased_rows, as a fused expansion calls it: bands of
// output rows, each from a plane holding only the input rows the band reads
// (the image's rows [row0, ...)), channels [c0, c1) of it; the bands
// compose to the whole convolution, each output once through the epilogue,
// whatever order they run in.
void checkRows(const Depthwise &d, int64_t bandRows, unsigned seed) {
  auto x = randomVector(size_t(d.C * d.H * d.W), seed);
  auto w = randomVector(size_t(d.C * d.KH * d.KW), seed + 1);
  int64_t OH = d.OH(), OW = d.OW(), OHW = OH * OW;
  int64_t Wq = (OW + 15) / 16 * 16 + (d.KW - 1) * d.DW / d.SW; // row by row, never linear
  int64_t plane = seqk_depthwise2d_phased_plane(d.KH, d.SH, d.SW, d.DH, OH, Wq);
  std::vector<float> y(size_t(d.C * OHW), -7.0f);
  std::vector<float> buf(static_cast<size_t>(plane));
  EpiLog log{y.data(), OHW, std::vector<int>(size_t(d.C * OHW), 0)};
  int64_t c0 = d.C / 3, c1 = d.C;
  // the bands bottom to top: threads run them in any order, and a band
  // must leave the rows below it (another task's) as it found them
  for (int64_t k = (OH + bandRows - 1) / bandRows - 1; k >= 0; --k) {
    int64_t oh0 = k * bandRows;
    int64_t oh1 = std::min(OH, oh0 + bandRows);
    int64_t ih0 = std::max<int64_t>(0, oh0 * d.SH - d.top);
    int64_t ih1 = std::min(d.H, (oh1 - 1) * d.SH - d.top + (d.KH - 1) * d.DH + 1);
    // the band's rows of channels [c0, c1), planes 2 rows longer than needed
    int64_t bandPlane = (ih1 - ih0 + 2) * d.W;
    std::vector<float> band(size_t((c1 - c0) * bandPlane), std::nanf(""));
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t r = ih0; r < ih1; ++r)
        for (int64_t j = 0; j < d.W; ++j)
          band[size_t((c - c0) * bandPlane + (r - ih0) * d.W + j)] = x[size_t((c * d.H + r) * d.W + j)];
    seqk_depthwise2d_phased_rows(band.data(), bandPlane, ih0, buf.data(), w.data(), y.data(), d.H, d.W, d.KH, d.KW,
                                 d.SH, d.SW, d.top, d.left, d.DH, d.DW, OH, OW, Wq, c0, c1, oh0, oh1, record, &log);
  }
  ASSERT_FALSE(log.bad) << describe(d);
  for (int64_t c = 0; c < d.C; ++c) {
    auto ref = reference(d, x, w, c);
    for (int64_t i = 0; i < OHW; ++i) {
      size_t at = size_t(c * OHW + i);
      if (c < c0) {
        ASSERT_EQ(y[at], -7.0f) << describe(d) << ": wrote outside the channels";
        continue;
      }
      ASSERT_EQ(log.count[at], 1) << describe(d) << " band " << bandRows;
      double tol = 2e-6 * (1 + ref.absSum[size_t(i)]);
      ASSERT_NEAR(y[at], 2.0 * ref.y[size_t(i)] + 1.0, tol) << describe(d) << " band " << bandRows << " at " << c
                                                            << "," << i;
    }
  }
}

TEST(KernelsDepthwise, RowBandsFromPartialPlanesComposeToTheConvolution) {
  // C, H, W, KH, KW, SH, SW, DH, DW, top, left, bottom, right
  const Depthwise cases[] = {
      {3, 29, 31, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, {5, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
      {2, 33, 17, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2}, {4, 30, 45, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},
      {1, 13, 16, 3, 3, 1, 2, 1, 1, 1, 1, 0, 1}, {7, 9, 33, 3, 5, 2, 1, 1, 1, 0, 2, 1, 2},
  };
  unsigned seed = 700;
  for (const Depthwise &d : cases)
    for (int64_t bandRows : {int64_t{1}, int64_t{4}, int64_t{5}, int64_t{7}, d.OH()})
      checkRows(d, bandRows, seed++);
}

TEST(KernelsDepthwise, MatchesDirectConvolutionEverywhere) {
  const int64_t sizes[][2] = {{1, 1}, {2, 3}, {5, 7}, {7, 16}, {8, 17}, {13, 31}, {9, 32}, {6, 33}, {4, 49}, {3, 65}};
  const int64_t kernels[][2] = {{1, 1}, {2, 2}, {3, 3}, {5, 5}, {3, 5}};
  const int64_t strides[][2] = {{1, 1}, {2, 2}, {3, 3}, {1, 2}, {2, 1}};
  const int64_t dilations[] = {1, 2};
  unsigned seed = 1;
  int checked = 0;
  for (auto &hw : sizes)
    for (auto &k : kernels)
      for (auto &st : strides)
        for (int64_t dil : dilations)
          for (int pad = 0; pad < 3; ++pad) {
            // no padding; "same" padding; asymmetric (TensorFlow-style: more at the bottom and right)
            int64_t ph = (k[0] - 1) * dil / 2, pw = (k[1] - 1) * dil / 2;
            Depthwise d{3, hw[0], hw[1], k[0], k[1], st[0], st[1], dil, dil, 0, 0, 0, 0};
            if (pad == 1)
              d = {3, hw[0], hw[1], k[0], k[1], st[0], st[1], dil, dil, ph, pw, ph, pw};
            if (pad == 2)
              d = {3, hw[0], hw[1], k[0], k[1], st[0], st[1], dil, dil, ph / 2, pw / 2, ph + 1, pw + 1};
            if (!d.valid())
              continue;
            check(d, seed);
            seed += 2;
            ++checked;
            if (HasFatalFailure())
              return;
          }
  EXPECT_GT(checked, 1000);
}

// The shapes of MobileNetV2 and EfficientNet-B0 (a few channels each), and
// large paddings (windows wholly in the padding).
TEST(KernelsDepthwise, NetworkShapesAndLargePadding) {
  const Depthwise shapes[] = {
      {5, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1}, {3, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {3, 28, 28, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2},   {4, 14, 14, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},
      {9, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},     {2, 4, 4, 3, 3, 1, 1, 1, 1, 4, 4, 4, 4},
      {2, 5, 6, 3, 3, 2, 3, 2, 1, 5, 3, 2, 6},     {2, 20, 70, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3},
  };
  unsigned seed = 5000;
  for (const Depthwise &d : shapes) {
    check(d, seed);
    seed += 2;
  }
}

TEST(KernelsDepthwise, NanAndInfPropagate) {
  Depthwise d{2, 9, 35, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1};
  auto x = randomVector(size_t(d.C * d.H * d.W), 7);
  auto w = randomVector(size_t(d.C * d.KH * d.KW), 8);
  x[size_t((1 * d.H + 4) * d.W + 20)] = NAN;
  x[size_t((0 * d.H + 0) * d.W + 0)] = INFINITY;
  std::vector<float> y = run(d, x, w, nullptr, nullptr);
  int64_t OH = d.OH(), OW = d.OW();
  for (int64_t c = 0; c < d.C; ++c)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        float v = y[size_t((c * OH + oh) * OW + ow)];
        bool readsNaN = c == 1 && std::abs(oh * 2 - 4) <= 1 && std::abs(ow * 2 - 20) <= 1;
        bool readsInf = c == 0 && oh == 0 && ow == 0;
        if (readsNaN)
          EXPECT_TRUE(std::isnan(v)) << oh << "," << ow;
        else if (readsInf)
          EXPECT_TRUE(std::isinf(v));
        else
          EXPECT_TRUE(std::isfinite(v)) << c << " " << oh << "," << ow;
      }
}

} // namespace
