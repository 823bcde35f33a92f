// Unit tests of seqk_depthwise2d_lanes (dwlanes.c), the depthwise
// convolution of small planes with 16 channels in the vector lanes:
// against a double-precision reference at awkward sizes (1 channel, 15,
// 16, 17 and 33: a block and one past, primes), planes from 16 positions
// (the least it takes) to 14x14, kernels 3x3, 5x5 and 3x5, strides 1 and
// 2, paddings 0 to 2 on any side, dilation 2; tasks of channel blocks that
// compose to the whole, each output once through the epilogue; the
// weights as they are and in panels of 32 channels (the layout
// packDepthwiseWeights gives them); the register form of a bias and a
// clamp (ReLU, ReLU6, none) giving the bits of the epilogue called on each
// channel's plane; NaN reaching exactly the outputs whose window holds it.
#include <gtest/gtest.h>

#include "conv_reference.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

struct Case {
  int64_t C, H, W, KH, KW, SH, SW, top, left, bottom, right, DH, DW;
  int64_t OH() const { return (H + top + bottom - DH * (KH - 1) - 1) / SH + 1; }
  int64_t OW() const { return (W + left + right - DW * (KW - 1) - 1) / SW + 1; }
  int64_t blocks() const { return (C + 15) / 16; }
};

const Case kCases[] = {
    {1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    {15, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {16, 7, 7, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1},   {17, 14, 14, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1},
    {33, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, {20, 5, 9, 3, 5, 1, 1, 0, 2, 1, 0, 1, 1},
    {18, 9, 9, 3, 3, 1, 2, 2, 2, 2, 2, 2, 2},   {48, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {7, 11, 13, 5, 3, 2, 1, 0, 0, 0, 0, 1, 1},
    // stride 1 on planes past 14 x 14 (ir::kDepthwiseLanesMaxPlaneStride1):
    // odd sides, a prime number of channels, one past a block of 16
    {17, 29, 31, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, {13, 57, 23, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1},
};

using seqk_test::randomVector;

// The double-precision reference of case c (conv_reference.h).
seqk_test::ConvReference reference(const Case &c, const std::vector<float> &x, const std::vector<float> &w) {
  seqk_test::ConvGeometry g{c.C, c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.DH, c.DW, c.top, c.left, c.OH(), c.OW()};
  return seqk_test::referenceDepthwise(
      g,
      [&](int64_t ch, int64_t ih, int64_t iw) {
        double v = x[size_t((ch * c.H + ih) * c.W + iw)];
        return std::pair{v, std::fabs(v)};
      },
      w);
}

struct Seen {
  int64_t plane;
  std::vector<int> calls;
};

void countingEpilogue(const void *env, int64_t row, int64_t col, const float *src, float *dst, int64_t n) {
  auto *seen = static_cast<Seen *>(const_cast<void *>(env));
  for (int64_t i = 0; i < n; ++i) {
    seen->calls[size_t(row * seen->plane + col + i)] += 1;
    dst[i] = src[i] + 1.0f;
  }
}

// w [C, taps] in panels of 32 channels, [C/32][taps][32] (SEQRT_PACK_PANELS),
// the channels past C zero.
std::vector<float> inPanels(const std::vector<float> &w, int64_t C, int64_t taps) {
  int64_t rows = (C + 31) / 32 * 32;
  std::vector<float> p(size_t(rows * taps), 0.0f);
  for (int64_t r = 0; r < C; ++r)
    for (int64_t t = 0; t < taps; ++t)
      p[size_t((r / 32 * taps + t) * 32 + r % 32)] = w[size_t(r * taps + t)];
  return p;
}

// The blocks in `tasks` tasks, each with its own buffer (filled with NaN),
// the weights as they are or, with `panels`, in panels; `fused` (or none)
// the register form of the epilogue.
std::vector<float> run(const Case &c, const std::vector<float> &x, const std::vector<float> &w, int64_t tasks,
                       Seen *seen, bool panels = false, const seqk_fused *fused = nullptr) {
  std::vector<float> y(c.C * c.OH() * c.OW(), std::numeric_limits<float>::quiet_NaN());
  int64_t block = seqk_depthwise2d_lanes_block(c.KH, c.KW, c.SH, c.SW, c.DH, c.DW, c.OH(), c.OW());
  std::vector<float> wp = panels ? inPanels(w, c.C, c.KH * c.KW) : w;
  for (int64_t t = 0; t < tasks; ++t) {
    std::vector<float> buf(size_t(block), std::numeric_limits<float>::quiet_NaN());
    seqk_depthwise2d_lanes(x.data(), buf.data(), wp.data(), panels ? 1 : 0, y.data(), c.C, c.H, c.W, c.KH, c.KW,
                           c.SH, c.SW, c.top,
                           c.left, c.DH, c.DW, c.OH(), c.OW(), c.blocks() * t / tasks,
                           c.blocks() * (t + 1) / tasks, seen ? countingEpilogue : nullptr, seen, fused);
  }
  return y;
}

TEST(KernelsDepthwiseLanes, MatchesTheReferenceInTasksWithEachOutputOnceThroughTheEpilogue) {
  unsigned seed = 1;
  for (const Case &c : kCases) {
    ASSERT_GE(c.OH() * c.OW(), 16);
    std::vector<float> x = randomVector(size_t(c.C * c.H * c.W), seed++);
    std::vector<float> w = randomVector(size_t(c.C * c.KH * c.KW), seed++);
    seqk_test::ConvReference r = reference(c, x, w);
    for (int64_t tasks : {int64_t(1), c.blocks()})
      for (bool panels : {false, true}) {
        Seen seen{c.OH() * c.OW(), std::vector<int>(size_t(c.C * c.OH() * c.OW()), 0)};
        std::vector<float> y = run(c, x, w, tasks, &seen, panels);
        for (size_t i = 0; i < y.size(); ++i) {
          ASSERT_NEAR(y[i], r.y[i] + 1.0, 1e-6 * (1 + r.absSum[i]))
              << "C=" << c.C << " " << c.H << "x" << c.W << (panels ? " panels" : "") << " output " << i;
          ASSERT_EQ(seen.calls[i], 1) << "output " << i;
        }
      }
  }
}

// The generated epilogue of a bias and a clamp, on each channel's plane.
struct ClampEpilogue {
  const float *bias;
  int32_t act;
  float lo, hi;
};
void clampEpilogue(const void *env, int64_t row, int64_t, const float *src, float *dst, int64_t n) {
  auto *e = static_cast<const ClampEpilogue *>(env);
  for (int64_t i = 0; i < n; ++i) {
    float v = src[i] + e->bias[row];
    dst[i] = e->act == SEQK_ACT_RELU       ? seqk_reluf(v)
             : e->act == SEQK_ACT_HARDTANH ? seqk_hardtanhf(v, e->lo, e->hi)
                                           : v;
  }
}

TEST(KernelsDepthwiseLanes, RegisterFormGivesTheBitsOfThePlaneEpilogue) {
  unsigned seed = 100;
  for (const Case &c : kCases) {
    std::vector<float> x = randomVector(size_t(c.C * c.H * c.W), seed++);
    for (float &v : x)
      v *= 8.0f; // outputs on both sides of 0 and 6
    x[size_t(x.size() / 2)] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> w = randomVector(size_t(c.C * c.KH * c.KW), seed++);
    std::vector<float> bias = randomVector(size_t(c.C), seed++);
    for (int32_t act : {SEQK_ACT_NONE, SEQK_ACT_RELU, SEQK_ACT_HARDTANH}) {
      ClampEpilogue e{bias.data(), act, 0.0f, 6.0f};
      seqk_fused f{bias.data(), nullptr, 0, c.OH() * c.OW(), act, 0.0f, 6.0f};
      std::vector<float> want(size_t(c.C * c.OH() * c.OW()), std::numeric_limits<float>::quiet_NaN());
      int64_t block = seqk_depthwise2d_lanes_block(c.KH, c.KW, c.SH, c.SW, c.DH, c.DW, c.OH(), c.OW());
      std::vector<float> buf(size_t(block), std::numeric_limits<float>::quiet_NaN());
      std::vector<float> wp = inPanels(w, c.C, c.KH * c.KW);
      seqk_depthwise2d_lanes(x.data(), buf.data(), wp.data(), 1, want.data(), c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW,
                             c.top, c.left, c.DH, c.DW, c.OH(), c.OW(), 0, c.blocks(), clampEpilogue, &e, nullptr);
      for (int64_t tasks : {int64_t(1), c.blocks()}) {
        std::vector<float> got = run(c, x, w, tasks, nullptr, true, &f);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
              << "C=" << c.C << " " << c.H << "x" << c.W << " act " << act << " output " << i << ": " << got[i]
              << " vs " << want[i];
      }
    }
  }
}

TEST(KernelsDepthwiseLanes, NaNReachesExactlyTheOutputsWhoseWindowHoldsIt) {
  const Case c{17, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  std::vector<float> w = randomVector(size_t(c.C * 9), 3);
  for (int64_t h = 0; h < c.H; ++h)
    for (int64_t wp = 0; wp < c.W; ++wp) {
      std::vector<float> x = randomVector(size_t(c.C * c.H * c.W), 4);
      x[size_t((16 * c.H + h) * c.W + wp)] = std::numeric_limits<float>::quiet_NaN();
      std::vector<float> y = run(c, x, w, 1, nullptr);
      for (int64_t ch = 0; ch < c.C; ++ch)
        for (int64_t oh = 0; oh < c.OH(); ++oh)
          for (int64_t ow = 0; ow < c.OW(); ++ow) {
            bool hit = ch == 16 && std::abs(h - oh) <= 1 && std::abs(wp - ow) <= 1;
            ASSERT_EQ(std::isnan(y[size_t((ch * c.OH() + oh) * c.OW() + ow)]), hit)
                << "NaN at " << h << "," << wp << "; output " << ch << "," << oh << "," << ow;
          }
    }
}

} // namespace
