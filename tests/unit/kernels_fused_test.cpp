// Unit tests of the register epilogue (seqk_fused, kernels/fused.h) of
// the pointwise convolution (and, at the end, of the lanes kernel of few
// taps and of the packed tiles of other convolutions):
// seqk_conv2d_pointwise and _rows with a
// seqk_fused give exactly the bits of the same convolution without it
// followed by the scalar kernels a generated epilogue calls (x + bias,
// x + add, then seqk_reluf, seqk_hardtanhf, seqk_siluf or
// seqk_hardswishf), for every activation, with and without bias and added
// tensor; on both tile kinds (channels in the lanes for many input
// channels, positions for few), partial panels (17, 24, 40 channels),
// runs that end inside a tile, and a second image (rowBase). The added
// tensor holds NaN, infinities, signed zeros and values that overflow
// e^-x, so the activations see them.
#include <gtest/gtest.h>

#include "conv_reference.h"
#include "epilogue_reference.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

using seqk_test::Act;
using seqk_test::bits;
using seqk_test::kActs;
using seqk_test::panels;

constexpr int64_t kPanel = SEQK_PANEL_WIDTH;

struct Shape {
  int64_t C, OC, HW;
};

// What a generated epilogue computes for element (row, col) of channel m.
float scalarEpilogue(const seqk_fused &f, float x, int64_t m, int64_t row, int64_t col) {
  if (f.bias)
    x = x + f.bias[m];
  if (f.add)
    x = x + f.add[(f.rowBase + row) * f.rowStride + col];
  switch (f.act) {
  case SEQK_ACT_RELU: return seqk_reluf(x);
  case SEQK_ACT_HARDTANH: return seqk_hardtanhf(x, f.lo, f.hi);
  case SEQK_ACT_SILU: return seqk_siluf(x);
  case SEQK_ACT_HARDSWISH: return seqk_hardswishf(x);
  case SEQK_ACT_TANH: return seqk_tanhf(x);
  default: return x;
  }
}

// Values the added tensor mixes in, so that the activations see them.
const float kSpecial[] = {std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          0.0f,
                          -0.0f,
                          -100.0f,
                          95.0f,
                          -3.0f,
                          3.0f,
                          6.0f};

TEST(KernelsFused, PointwiseEpilogueInRegistersIsTheScalarEpilogue) {
  // channels in the lanes (C > 64) and positions in the lanes (C <= 64,
  // 16 positions or more); full and partial panels; planes narrower than
  // a tile and runs ending inside one
  // (one past each edge: 65 input channels, 33 output channels, 15 and
  // 197 positions); up to 128 input channels on runs of 192 positions or
  // more, positions in the lanes again (SEQK_POINT_LANES_MAX_C: 97 on 2
  // runs of 194 and 193, 128 and 129 on 385); any number on runs of 384
  // or more (SEQK_POINT_LANES_ANY_C_RUN: 200 on 2 runs of 385, and of 383
  // one short, output channels in the lanes)
  const Shape shapes[] = {{1, 1, 1},     {3, 17, 7},    {16, 24, 50},  {5, 40, 13},   {70, 32, 29},
                          {100, 40, 20}, {130, 24, 33}, {24, 64, 197}, {65, 33, 15},  {64, 33, 17},
                          {97, 33, 387}, {128, 17, 385}, {129, 17, 385}, {200, 40, 770}, {200, 40, 766}};
  unsigned seed = 700;
  for (const Shape &s : shapes) {
    const int64_t images = 2;
    auto x = seqk_test::randomVector(size_t(images * s.C * s.HW), seed);
    auto wp = panels(s.OC, s.C, seqk_test::randomVector(size_t(s.OC * s.C), seed + 1));
    auto bias = seqk_test::randomVector(size_t(s.OC), seed + 2);
    auto add = seqk_test::randomVector(size_t(images * s.OC * s.HW), seed + 3);
    for (size_t i = 0; i < add.size(); i += 7)
      add[i] = kSpecial[i / 7 % (sizeof kSpecial / sizeof kSpecial[0])];
    seed += 4;
    const int64_t TW = std::min<int64_t>(14, s.HW), pan = (s.OC + kPanel - 1) / kPanel;
    // the plain convolution, in two runs where the plane allows
    const int64_t runs = s.HW >= 2 * TW ? 2 : 1;
    auto convolve = [&](std::vector<float> &y, const seqk_fused *f) {
      for (int64_t n = 0; n < images; ++n) {
        seqk_fused fn;
        if (f) {
          fn = *f;
          fn.rowBase = n * s.OC;
        }
        for (int64_t r = 0; r < runs; ++r)
          seqk_conv2d_pointwise(x.data() + n * s.C * s.HW, wp.data(), y.data() + n * s.OC * s.HW, s.C, s.HW, s.OC,
                                TW, TW, 0, pan, r * s.HW / runs, (r + 1) * s.HW / runs, nullptr, nullptr,
                                f ? &fn : nullptr, nullptr, 0);
      }
    };
    std::vector<float> plain(size_t(images * s.OC * s.HW));
    convolve(plain, nullptr);
    for (const Act &act : kActs)
      for (bool withBias : {false, true})
        for (bool withAdd : {false, true}) {
          seqk_fused f{withBias ? bias.data() : nullptr, withAdd ? add.data() : nullptr, 0, s.HW, act.act, act.lo,
                       act.hi};
          std::vector<float> y(plain.size(), -7.0f);
          convolve(y, &f);
          for (int64_t n = 0; n < images; ++n)
            for (int64_t m = 0; m < s.OC; ++m)
              for (int64_t q = 0; q < s.HW; ++q) {
                size_t at = size_t((n * s.OC + m) * s.HW + q);
                f.rowBase = n * s.OC;
                float want = scalarEpilogue(f, plain[at], m, m, q);
                ASSERT_EQ(bits(y[at]), bits(want))
                    << s.C << "x" << s.OC << "x" << s.HW << " " << act.name << (withBias ? " bias" : "")
                    << (withAdd ? " add" : "") << " image " << n << " channel " << m << " position " << q << ": "
                    << y[at] << " vs " << want;
              }
        }
  }
}

// The fused expansion's form: one panel into a band buffer, bias and an
// activation (no added tensor), rows yPlane floats apart; nothing written
// past the run or the panel's channels (100 input channels on a run of
// 388: positions in the lanes).
TEST(KernelsFused, PointwiseRowsApplyTheEpilogueToOnePanel) {
  const Shape shapes[] = {{16, 96, 40}, {24, 40, 30}, {96, 24, 29}, {3, 17, 14}, {100, 40, 389}};
  unsigned seed = 800;
  for (const Shape &s : shapes) {
    auto x = seqk_test::randomVector(size_t(s.C * s.HW), seed);
    auto wp = panels(s.OC, s.C, seqk_test::randomVector(size_t(s.OC * s.C), seed + 1));
    auto bias = seqk_test::randomVector(size_t(s.OC), seed + 2);
    seed += 3;
    const int64_t TW = std::min<int64_t>(14, s.HW), n = s.HW - 1, yPlane = n + 3;
    for (const Act &act : kActs) {
      seqk_fused f{bias.data(), nullptr, 0, s.HW, act.act, act.lo, act.hi};
      for (int64_t p = 0; p < (s.OC + kPanel - 1) / kPanel; ++p) {
        std::vector<float> plain(size_t(kPanel * yPlane), -5.0f), band(plain.size(), -5.0f);
        seqk_conv2d_pointwise_rows(x.data(), wp.data(), plain.data(), yPlane, s.C, s.HW, s.OC, TW, p, 1, s.HW,
                                   nullptr, nullptr, nullptr, nullptr, 0);
        seqk_conv2d_pointwise_rows(x.data(), wp.data(), band.data(), yPlane, s.C, s.HW, s.OC, TW, p, 1, s.HW,
                                   nullptr, nullptr, &f, nullptr, 0);
        int64_t channels = std::min(kPanel, s.OC - p * kPanel);
        for (int64_t m = 0; m < kPanel; ++m)
          for (int64_t j = 0; j < yPlane; ++j) {
            size_t at = size_t(m * yPlane + j);
            if (m >= channels || j >= n) {
              ASSERT_EQ(band[at], -5.0f) << "wrote outside the run at " << m << "," << j;
              continue;
            }
            float want = scalarEpilogue(f, plain[at], p * kPanel + m, p * kPanel + m, 1 + j);
            ASSERT_EQ(bits(band[at]), bits(want)) << s.C << "x" << s.OC << " " << act.name << " at " << m << "," << j;
          }
      }
    }
  }
}

} // namespace

namespace {

struct LanesShape {
  int64_t C, OC, Hp, Wp, K, S;
};

// A convolution of C -> OC channels, K x K of stride S on padded inputs
// of Hp x Wp, on two images: random inputs with NaN, infinities and
// signed zeros mixed in, its weights in panels and a bias (seeds seed ..
// seed + 2).
struct ChannelCase {
  int64_t images = 2, OH, OW, xImage, yImage, panels;
  std::vector<float> x, wp, bias;
};

ChannelCase channelCase(int64_t C, int64_t OC, int64_t Hp, int64_t Wp, int64_t K, int64_t S, unsigned seed) {
  ChannelCase c;
  c.OH = (Hp - K) / S + 1, c.OW = (Wp - K) / S + 1;
  c.xImage = C * Hp * Wp, c.yImage = OC * c.OH * c.OW, c.panels = (OC + kPanel - 1) / kPanel;
  c.x = seqk_test::randomVector(size_t(c.images * c.xImage), seed);
  for (size_t i = 0; i < c.x.size(); i += 11)
    c.x[i] = kSpecial[i / 11 % (sizeof kSpecial / sizeof kSpecial[0])] / 8.0f;
  c.wp = panels(OC, C * K * K, seqk_test::randomVector(size_t(OC * C * K * K), seed + 1));
  c.bias = seqk_test::randomVector(size_t(OC), seed + 2);
  return c;
}

// Both register forms of a convolution's own channels (the lanes kernel of
// few taps, the packed tiles): for every activation, with and without
// bias, `convolve` with the epilogue in registers gives the bits of
// `plain` (the same convolution without it) followed by the scalar
// epilogue; `what` names the case in a failure.
template <class Convolve>
void expectChannelEpilogue(Convolve convolve, const std::vector<float> &plain, const std::vector<float> &bias,
                           int64_t images, int64_t OC, int64_t OHW, const std::string &what) {
  for (const Act &act : kActs)
    for (bool withBias : {false, true}) {
      seqk_fused f{withBias ? bias.data() : nullptr, nullptr, 0, 0, act.act, act.lo, act.hi};
      std::vector<float> y(plain.size(), -7.0f);
      convolve(y, &f);
      for (int64_t n = 0; n < images; ++n)
        for (int64_t m = 0; m < OC; ++m)
          for (int64_t q = 0; q < OHW; ++q) {
            size_t at = size_t((n * OC + m) * OHW + q);
            float want = scalarEpilogue(f, plain[at], m, 0, 0);
            ASSERT_EQ(bits(y[at]), bits(want)) << what << " " << act.name << (withBias ? " bias" : "") << " image "
                                               << n << " channel " << m << " position " << q;
          }
    }
}

// The lanes kernel of few taps (convlanes.c, a network's stem) with the
// epilogue in registers: each vector is one output channel's, so the
// bias is that channel's; the bits of the plain kernel followed by the
// scalar epilogue, for every activation, with and without bias: rows of
// 1, 2 and 3 vectors and one vector moved back (OW 18, 20, 32, 50),
// strides 1 and 2, full and partial panels (17, 33, 40, 64 channels), a
// panel of fewer channels than a tile's (LeNet-5's 1 -> 6, 5x5; 2 -> 1;
// 7 -> 3), two images, and the rows in two calls.
TEST(KernelsFused, LanesConvolutionEpilogueInRegistersIsTheScalarEpilogue) {
  const LanesShape shapes[] = {{3, 17, 8, 20, 3, 1},  {3, 40, 11, 41, 3, 2}, {1, 33, 9, 36, 5, 1},
                               {3, 64, 7, 101, 3, 2}, {1, 6, 12, 32, 5, 1},  {2, 1, 5, 19, 3, 1},
                               {7, 3, 6, 37, 3, 2}};
  unsigned seed = 900;
  for (const LanesShape &s : shapes) {
    const auto [images, OH, OW, xImage, yImage, pan, x, wp, bias] = channelCase(s.C, s.OC, s.Hp, s.Wp, s.K, s.S, seed);
    seed += 3;
    auto convolve = [&](std::vector<float> &y, const seqk_fused *f) {
      for (int64_t half = 0; half < 2; ++half)
        ASSERT_EQ(seqk_conv2d_packed_lanes(x.data(), xImage, wp.data(), y.data(), yImage, images, s.C, s.Hp, s.Wp, s.K,
                                           s.K, s.S, s.S, 1, 1, s.OC, OH, OW, 0, pan, half * OH / 2,
                                           (half + 1) * OH / 2, nullptr, nullptr, f),
                  1);
    };
    std::vector<float> plain(size_t(images * yImage));
    convolve(plain, nullptr);
    expectChannelEpilogue(convolve, plain, bias, images, s.OC, OH * OW,
                          std::to_string(s.C) + "->" + std::to_string(s.OC) + " " + std::to_string(s.K) + "x" +
                              std::to_string(s.K) + " stride " + std::to_string(s.S));
  }
}

// The packed convolution's tiles (convpack.c, output channels in the
// lanes) with the bias and activation in registers (the compiler's choice
// for rows shorter than a vector with a curve: LeNet-5's 6 -> 16, 5x5 on
// 14x14): the bits of the plain kernel followed by the scalar epilogue,
// for every activation, with and without bias: tiles of one row (10 and 7
// columns) and of several (2 x 7, 3 x 4), strides 1 and 2, full and
// partial panels (16, 20, 33, 40 channels: a last panel of one vector and
// of one channel), two images in one call, and the rows in two calls.
struct PackedShape {
  int64_t C, OC, Hp, Wp, K, S, R, TW;
};

TEST(KernelsFused, PackedConvolutionEpilogueInRegistersIsTheScalarEpilogue) {
  const PackedShape shapes[] = {{6, 16, 14, 14, 5, 1, 1, 10}, {5, 33, 9, 9, 3, 1, 2, 7}, {3, 20, 15, 15, 3, 2, 1, 7},
                                {7, 40, 12, 12, 3, 1, 3, 4},  {70, 17, 6, 6, 1, 1, 2, 6}};
  unsigned seed = 950;
  for (const PackedShape &s : shapes) {
    ASSERT_TRUE(seqk_conv2d_packed_supports(s.R, s.TW, s.S));
    const auto [images, OH, OW, xImage, yImage, pan, x, wp, bias] = channelCase(s.C, s.OC, s.Hp, s.Wp, s.K, s.S, seed);
    seed += 3;
    auto convolve = [&](std::vector<float> &y, const seqk_fused *f) {
      const int64_t cut = OH / 2 / s.R * s.R; // the rows in two calls, the first whole tiles
      for (int64_t half = 0; half < 2; ++half)
        seqk_conv2d_packed_images(x.data(), xImage, wp.data(), y.data(), yImage, images, s.C, s.Hp, s.Wp, s.K, s.K,
                                  s.S, s.S, 1, 1, s.OC, OH, OW, s.R, s.TW, 0, pan, half ? cut : 0, half ? OH : cut,
                                  nullptr, nullptr, f, nullptr, 0);
    };
    std::vector<float> plain(size_t(images * yImage));
    convolve(plain, nullptr);
    expectChannelEpilogue(convolve, plain, bias, images, s.OC, OH * OW,
                          std::to_string(s.C) + "->" + std::to_string(s.OC) + " " + std::to_string(s.K) + "x" +
                              std::to_string(s.K) + " stride " + std::to_string(s.S) + " tile " +
                              std::to_string(s.R) + "x" + std::to_string(s.TW));
  }
}

} // namespace
