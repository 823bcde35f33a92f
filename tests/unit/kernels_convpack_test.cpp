// Unit tests of seqk_conv2d_packed (convpack.c), the convolution on
// weights packed in panels of 32 output channels: against a
// double-precision direct convolution at awkward sizes (1 channel, primes,
// one past each tile edge: 14 positions, 16 and 32 channels), strides 1
// and 2, dilation, asymmetric padding, with every tile shape the kernel
// has; tasks of panels and rows that compose to the whole, each output
// once through the epilogue; channel blocks and tile groups; NaN
// propagation; the compiler's tile choice (ir::packedConvTile) always
// being a shape the kernel has; and seqk_conv2d_pointwise, the 1x1
// convolution in runs of positions across rows.
#include <gtest/gtest.h>

#include "conv_reference.h"

#include "ir/ConvScratch.h"

#include <array>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

namespace ir = seq::ir;

constexpr int64_t kPanel = SEQK_PANEL_WIDTH;

struct Conv {
  int64_t C, OC, H, W, KH, KW, SH, SW, top, left, bottom, right, DH, DW;
  int64_t Hp() const { return H + top + bottom; }
  int64_t Wp() const { return W + left + right; }
  int64_t OH() const { return (Hp() - DH * (KH - 1) - 1) / SH + 1; }
  int64_t OW() const { return (Wp() - DW * (KW - 1) - 1) / SW + 1; }
  int64_t K() const { return C * KH * KW; }
  int64_t panels() const { return (OC + kPanel - 1) / kPanel; }
};

const Conv kConvs[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},     {3, 16, 5, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {1, 17, 28, 28, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1},  {4, 32, 9, 15, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 33, 6, 31, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},   {5, 48, 7, 30, 3, 5, 1, 2, 0, 2, 1, 0, 1, 1},
    {2, 31, 12, 10, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},  {7, 65, 14, 14, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {3, 7, 4, 4, 3, 3, 1, 1, 4, 4, 4, 4, 1, 1},     {2, 20, 3, 40, 1, 7, 1, 1, 0, 3, 0, 3, 1, 1},
    {6, 64, 11, 29, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1},  {3, 40, 13, 13, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1},
    {16, 18, 8, 8, 2, 2, 2, 1, 1, 0, 0, 1, 1, 2},   {2, 5, 9, 17, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1},
    // more channels than a block's taps hold (14 for 3x3, 2 for 7x7, 128
    // for 1x1), and more tiles than a group (32), with dilation
    {30, 40, 9, 50, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  {5, 33, 12, 12, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1},
    {200, 20, 6, 9, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1},  {29, 64, 20, 41, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},
    // few taps, positions in the lanes (convlanes.c): rows of 1, 2 and 3
    // vectors, the last moved back (18, 33, 49 and 224 outputs), stride 2
    // without padding, dilation, 63 taps, groups of 8 channels and a part
    {3, 64, 5, 224, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  {3, 20, 9, 100, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1},
    {1, 40, 6, 50, 3, 3, 1, 1, 1, 1, 1, 1, 2, 2},   {7, 33, 5, 35, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1},
    {2, 16, 4, 33, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1},
    // a row in one tile of as many vectors as it needs, the last moved
    // back: 17, 28 (LeNet-5's 1 -> 6, 5x5; and stride 2) and 32 outputs in
    // 2 vectors, 47 in 3; 65 in 3 then 2, 49 (stride 2) in 3 then 1
    {2, 9, 3, 17, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    {1, 6, 28, 28, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1},
    {3, 5, 3, 56, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},    {3, 8, 3, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {1, 12, 3, 47, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},   {2, 10, 2, 65, 1, 3, 1, 1, 0, 1, 0, 1, 1, 1},
    {1, 8, 4, 97, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1},
};

using seqk_test::randomVector;

// The input zero-padded (what seqk_pad2d makes), or as it is unpadded.
std::vector<float> padded(const Conv &c, const std::vector<float> &x) {
  std::vector<float> xp(c.C * c.Hp() * c.Wp(), 0.0f);
  for (int64_t ch = 0; ch < c.C; ++ch)
    for (int64_t h = 0; h < c.H; ++h)
      for (int64_t w = 0; w < c.W; ++w)
        xp[(ch * c.Hp() + h + c.top) * c.Wp() + w + c.left] = x[(ch * c.H + h) * c.W + w];
  return xp;
}

// w [OC, K] in panels of 32 rows, transposed: panel p is [K][32] (SEQRT_PACK_PANELS).
std::vector<float> panels(const Conv &c, const std::vector<float> &w) {
  std::vector<float> wp(c.panels() * c.K() * kPanel, 0.0f);
  for (int64_t m = 0; m < c.OC; ++m)
    for (int64_t k = 0; k < c.K(); ++k)
      wp[(m / kPanel * c.K() + k) * kPanel + m % kPanel] = w[m * c.K() + k];
  return wp;
}

using Reference = seqk_test::ConvReference;

Reference reference(const Conv &c, const std::vector<float> &x, const std::vector<float> &w) {
  return seqk_test::referenceConv({c.C, c.OC, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.DH, c.DW, c.top, c.left, c.OH(), c.OW()}, x, w);
}

struct EpiLog {
  float *y;
  int64_t OC, OW, OHW;
  std::vector<int> count;
  bool bad = false;
};

// The epilogue contract: runs of whole output rows of one channel, in place.
void record(const void *env, int64_t row, int64_t col, const float *src, float *dst, int64_t n) {
  auto *log = static_cast<EpiLog *>(const_cast<void *>(env));
  if (dst != log->y + row * log->OHW + col || src != dst || n <= 0 || n % log->OW != 0 || col % log->OW != 0 ||
      col + n > log->OHW || row < 0 || row >= log->OC)
    log->bad = true;
  for (int64_t j = 0; j < n; ++j) {
    ++log->count[row * log->OHW + col + j];
    dst[j] = 2.0f * src[j] + 1.0f;
  }
}

void expectConv(const Conv &c, const Reference &ref, const std::vector<float> &y, double scale, double shift,
                const char *what) {
  for (size_t i = 0; i < y.size(); ++i) {
    double want = scale * ref.y[i] + shift;
    double tol = scale * (0.5 * double(c.K()) * FLT_EPSILON * ref.absSum[i]) + 1e-6 * std::fabs(want) + 1e-6;
    ASSERT_NEAR(y[i], want, tol) << what << ": conv " << (&c - kConvs) << " at " << i;
  }
}

void run(const Conv &c, const std::vector<float> &xp, const std::vector<float> &wp, std::vector<float> &y,
         ir::PackedTile t, std::array<int64_t, 4> range, seqk_epilogue epi = nullptr, void *env = nullptr) {
  seqk_conv2d_packed(xp.data(), wp.data(), y.data(), c.C, c.Hp(), c.Wp(), c.KH, c.KW, c.SH, c.SW, c.DH, c.DW,
                     c.OC, c.OH(), c.OW(), t.rows, t.cols, range[0], range[1], range[2], range[3], epi, env, nullptr,
                     nullptr, 0);
}

TEST(KernelsConvPack, EveryTileShapeMatchesDirectConvolution) {
  unsigned seed = 10;
  for (const Conv &c : kConvs) {
    auto x = randomVector(c.C * c.H * c.W, seed++);
    auto w = randomVector(c.OC * c.K(), seed++);
    auto xp = padded(c, x);
    auto wp = panels(c, w);
    Reference ref = reference(c, x, w);
    int shapes = 0;
    for (int64_t R = 1; R <= 3; ++R)
      for (int64_t TW = 1; TW <= 14; ++TW) {
        if (R > c.OH() || TW > c.OW() || !seqk_conv2d_packed_supports(R, TW, c.SW))
          continue;
        std::vector<float> y(c.OC * c.OH() * c.OW(), -5.0f);
        ir::PackedTile tile;
        tile.rows = R;
        tile.cols = TW;
        run(c, xp, wp, y, tile, {0, c.panels(), 0, c.OH()});
        std::string what = "tile " + std::to_string(R) + "x" + std::to_string(TW);
        expectConv(c, ref, y, 1, 0, what.c_str());
        ++shapes;
      }
    if (c.SW <= 2) {
      EXPECT_GT(shapes, 0) << "conv " << (&c - kConvs);
    }
  }
}

// seqk_conv2d_packed_lanes on groups: a grouped convolution of 1, 2, 4 or 8 output
// channels a group, each group a call on its input planes and its lanes of
// the panels packed over all the output channels (the compiler's
// emitPackedGroups), rows split in two tasks: equal to each group's own
// convolution, every output once through the epilogue (rows numbered from
// the group's first channel), nothing written outside the group's channels
// (those of the groups after it are checked once all are done).
// Rows of 16 (one vector), 17 and 31 (two, the last moved back), 33 and
// 49 (three; 49 then one more), 72 taps a group and 1, dilation; and rows
// shorter than a vector on the padded width's grid (RegNet's 14 x 14 and
// 7 x 7, 9 wide, a plane of 16 grid positions), its tasks of one row (a
// block of fewer than 16 positions) or half.
TEST(KernelsConvPack, GroupLanesMatchEachGroupsConvolution) {
  struct Grouped {
    int64_t G, Cg, OCg, H, W, KH, KW, pad, D;
  };
  const Grouped cases[] = {{13, 8, 8, 5, 16, 3, 3, 1, 1}, {6, 4, 4, 4, 17, 3, 3, 1, 1},  {3, 2, 2, 6, 31, 3, 3, 1, 1},
                           {5, 3, 1, 3, 33, 1, 3, 0, 1},  {4, 8, 8, 3, 49, 3, 3, 1, 1},  {2, 1, 8, 7, 20, 5, 5, 2, 1},
                           {3, 5, 4, 9, 40, 3, 3, 2, 2},  {7, 16, 8, 2, 18, 3, 3, 1, 1},
                           {26, 8, 8, 14, 14, 3, 3, 1, 1}, {5, 8, 8, 7, 7, 3, 3, 1, 1},    {4, 3, 4, 6, 9, 3, 3, 1, 1},
                           {2, 4, 2, 3, 6, 3, 3, 1, 1},    {3, 2, 1, 11, 5, 3, 3, 2, 2},   {2, 8, 8, 40, 12, 3, 3, 1, 1}};
  unsigned seed = 300;
  for (const Grouped &gc : cases) {
    const int64_t C = gc.G * gc.Cg, OC = gc.G * gc.OCg;
    const Conv c{C, OC, gc.H, gc.W, gc.KH, gc.KW, 1, 1, gc.pad, gc.pad, gc.pad, gc.pad, gc.D, gc.D};
    const Conv cg{gc.Cg, gc.OCg, gc.H, gc.W, gc.KH, gc.KW, 1, 1, gc.pad, gc.pad, gc.pad, gc.pad, gc.D, gc.D};
    const int64_t OH = c.OH(), OW = c.OW(), OHW = OH * OW, Kg = cg.K(), plane = c.Hp() * c.Wp();
    ASSERT_TRUE(OW >= 16 || (OH - 1) * c.Wp() + OW >= 16);
    auto x = randomVector(C * gc.H * gc.W, seed++);
    auto w = randomVector(OC * Kg, seed++); // [OC, Cg, KH, KW]
    auto xp = padded(c, x);
    // panels over all OC of the [OC, Kg] matrix, as the weights are packed
    std::vector<float> wp((OC + kPanel - 1) / kPanel * Kg * kPanel, 0.0f);
    for (int64_t m = 0; m < OC; ++m)
      for (int64_t k = 0; k < Kg; ++k)
        wp[(m / kPanel * Kg + k) * kPanel + m % kPanel] = w[m * Kg + k];
    std::vector<float> y(OC * OHW, -5.0f);
    EpiLog log{y.data(), gc.OCg, OW, OHW, std::vector<int>(OC * OHW, 0)};
    for (int64_t g = gc.G - 1; g >= 0; --g) {
      const int64_t m0 = g * gc.OCg;
      log.y = y.data() + m0 * OHW;
      log.count.assign(gc.OCg * OHW, 0);
      const float *wg = wp.data() + m0 / kPanel * Kg * kPanel + m0 % kPanel;
      for (auto [r0, r1] : {std::pair<int64_t, int64_t>{OH / 2, OH}, {1, OH / 2}, {0, 1}}) {
        if (r0 >= r1)
          continue;
        ASSERT_EQ(seqk_conv2d_packed_lanes(xp.data() + g * gc.Cg * plane, 0, wg, y.data() + m0 * OHW, 0, 1, gc.Cg,
                                          c.Hp(), c.Wp(), gc.KH, gc.KW, 1, 1, gc.D, gc.D, gc.OCg, OH, OW, 0, 1, r0,
                                          r1, record, &log, nullptr),
                  1);
      }
      EXPECT_FALSE(log.bad) << "group " << g;
      for (int n : log.count)
        ASSERT_EQ(n, 1) << "group " << g;
      for (int64_t i = 0; i < m0 * OHW; ++i)
        ASSERT_EQ(y[i], -5.0f) << "wrote before group " << g << "'s channels";
    }
    // every group's outputs once all are done: no call wrote over the
    // groups computed before it
    for (int64_t g = 0; g < gc.G; ++g) {
      const int64_t m0 = g * gc.OCg;
      std::vector<float> xg(x.begin() + g * gc.Cg * gc.H * gc.W, x.begin() + (g + 1) * gc.Cg * gc.H * gc.W);
      std::vector<float> wgr(w.begin() + m0 * Kg, w.begin() + (m0 + gc.OCg) * Kg);
      std::vector<float> yg(y.begin() + m0 * OHW, y.begin() + (m0 + gc.OCg) * OHW);
      expectConv(cg, reference(cg, xg, wgr), yg, 2, 1, ("group lanes, group " + std::to_string(g)).c_str());
    }
  }
}

// seqk_pad2d_phased: each padded row's even columns, then its odd ones
// from (Wp + 1) / 2 on, for padded widths odd and even, the image at an
// odd and an even column, rows of 1 to 70 (past the 32 columns a step),
// channels in two tasks; then seqk_conv2d_packed_lanes on it (SW
// SEQK_LANES_PHASED) equal to the
// convolution, for the column-stride-2 convolutions here of 16 outputs a
// row or more (rows of 1, 2 and 3 vectors, the last moved back; dilation;
// 3x3, 1x7 and 5x5 kernels; a row stride of 1, 2 and 3) and every output
// once through the epilogue.
TEST(KernelsConvPack, PhasedRowsAndTheirLanesMatchTheConvolution) {
  const Conv phased[] = {
      {3, 32, 9, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},   {2, 20, 5, 70, 3, 3, 1, 2, 1, 2, 0, 1, 1, 1},
      {3, 17, 7, 100, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1},  {1, 8, 4, 66, 1, 7, 3, 2, 0, 3, 0, 3, 1, 1},
      {2, 40, 6, 41, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2},   {1, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},
  };
  unsigned seed = 500;
  for (const Conv &c : phased) {
    auto x = randomVector(c.C * c.H * c.W, seed++);
    auto plain = padded(c, x);
    std::vector<float> xp(c.C * c.Hp() * c.Wp() + SEQK_CONV_SLACK, -7.0f);
    seqk_pad2d_phased(x.data(), xp.data(), c.C, c.H, c.W, c.Hp(), c.Wp(), c.top, c.left, c.C / 2, c.C);
    seqk_pad2d_phased(x.data(), xp.data(), c.C, c.H, c.W, c.Hp(), c.Wp(), c.top, c.left, 0, c.C / 2);
    const int64_t We = (c.Wp() + 1) / 2;
    for (int64_t i = 0; i < c.C * c.Hp(); ++i)
      for (int64_t j = 0; j < c.Wp(); ++j)
        ASSERT_EQ(xp[i * c.Wp() + (j % 2 ? We + j / 2 : j / 2)], plain[i * c.Wp() + j])
            << "row " << i << " column " << j << " of " << c.Wp();
    for (int64_t j = 0; j < SEQK_CONV_SLACK; ++j)
      ASSERT_EQ(xp[c.C * c.Hp() * c.Wp() + j], 0.0f);
    if (c.OW() < 16)
      continue;
    auto w = randomVector(c.OC * c.K(), seed++);
    auto wp = panels(c, w);
    const int64_t OHW = c.OH() * c.OW();
    std::vector<float> y(c.OC * OHW, -5.0f);
    EpiLog log{y.data(), c.OC, c.OW(), OHW, std::vector<int>(c.OC * OHW, 0)};
    for (int64_t p = 0; p < c.panels(); ++p)
      for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, c.OH() / 2}, {c.OH() / 2, c.OH()}}) {
        if (r0 >= r1)
          continue;
        ASSERT_EQ(seqk_conv2d_packed_lanes(xp.data(), 0, wp.data(), y.data(), 0, 1, c.C, c.Hp(), c.Wp(), c.KH, c.KW,
                                           c.SH, SEQK_LANES_PHASED, c.DH, c.DW, c.OC, c.OH(), c.OW(), p, p + 1, r0,
                                           r1, record, &log, nullptr),
                  1);
      }
    EXPECT_FALSE(log.bad);
    for (int n : log.count)
      ASSERT_EQ(n, 1);
    expectConv(c, reference(c, x, w), y, 2, 1, "phased lanes");
  }
}

// Tasks of single panels and uneven row blocks (shorter than the tile
// too), as the generated code splits an image: each output once through
// the epilogue, in whole rows, and nothing outside a task written.
TEST(KernelsConvPack, TasksComposeAndEpilogueSeesEachOutputOnce) {
  unsigned seed = 50;
  for (const Conv &c : kConvs) {
    if (c.SW > 2)
      continue;
    auto x = randomVector(c.C * c.H * c.W, seed++);
    auto w = randomVector(c.OC * c.K(), seed++);
    auto xp = padded(c, x);
    auto wp = panels(c, w);
    int64_t OH = c.OH(), OHW = OH * c.OW();
    ir::PackedTile tile = ir::packedConvTile(OH, c.OW());
    std::vector<float> y(c.OC * OHW, -5.0f);
    EpiLog log{y.data(), c.OC, c.OW(), OHW, std::vector<int>(c.OC * OHW, 0)};
    int64_t split = OH / 3;
    for (int64_t p = c.panels() - 1; p >= 0; --p) {
      run(c, xp, wp, y, tile, {p, p + 1, split, OH}, record, &log);
      if (p == c.panels() - 1) {
        for (int64_t i = 0; i < (c.OC * OHW); ++i) {
          if (i / OHW < p * kPanel || i % OHW < split * c.OW()) {
            ASSERT_EQ(y[i], -5.0f) << "wrote outside the task";
          }
        }
      }
      for (int64_t r = 0; r < split; ++r)
        run(c, xp, wp, y, tile, {p, p + 1, r, r + 1}, record, &log);
    }
    EXPECT_FALSE(log.bad) << "conv " << (&c - kConvs);
    for (int n : log.count)
      ASSERT_EQ(n, 1) << "conv " << (&c - kConvs);
    expectConv(c, reference(c, x, w), y, 2, 1, "tasks");
  }
}

// seqk_conv2d_packed_images: 1 to 5 images in one call, their padded
// inputs and outputs apart by more than an image (canaries between them
// survive), each image equal to its own convolution, every output once
// through the epilogue as row image * OC + m; panels split into tasks.
TEST(KernelsConvPack, ImagesShareTheCallAndMatchOneByOne) {
  unsigned seed = 500;
  for (const Conv &c : kConvs) {
    if (c.SW > 2)
      continue;
    int64_t OH = c.OH(), OHW = OH * c.OW(), xStride = c.C * c.Hp() * c.Wp() + 64 + 7, yStride = c.OC * OHW + 5;
    ir::PackedTile tile = ir::packedConvTile(OH, c.OW());
    auto w = randomVector(c.OC * c.K(), seed++);
    auto wp = panels(c, w);
    for (int64_t images : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{5}}) {
      std::vector<float> xs(images * xStride, 9.0f), y(images * yStride, -5.0f);
      std::vector<std::vector<float>> x(images);
      for (int64_t i = 0; i < images; ++i) {
        x[i] = randomVector(c.C * c.H * c.W, seed++);
        auto xp = padded(c, x[i]);
        std::copy(xp.begin(), xp.end(), xs.begin() + i * xStride);
      }
      struct Log {
        float *y;
        int64_t OC, OHW, yStride;
        std::vector<int> count;
        bool bad;
      } log{y.data(), c.OC, OHW, yStride, std::vector<int>(y.size(), 0), false};
      auto epi = [](const void *env, int64_t row, int64_t col, const float *src, float *dst, int64_t n) {
        auto *l = static_cast<Log *>(const_cast<void *>(env));
        int64_t image = row / l->OC, m = row % l->OC, at = image * l->yStride + m * l->OHW + col;
        if (src != dst || dst != l->y + at || col < 0 || col + n > l->OHW)
          l->bad = true;
        for (int64_t j = 0; j < n && !l->bad; ++j) {
          ++l->count[size_t(at + j)];
          dst[j] = 2.0f * src[j] + 1.0f;
        }
      };
      for (int64_t p = c.panels() - 1; p >= 0; --p)
        seqk_conv2d_packed_images(xs.data(), xStride, wp.data(), y.data(), yStride, images, c.C, c.Hp(), c.Wp(), c.KH,
                                  c.KW, c.SH, c.SW, c.DH, c.DW, c.OC, OH, c.OW(), tile.rows, tile.cols, p, p + 1, 0,
                                  OH, epi, &log, nullptr, nullptr, 0);
      std::string what = "conv " + std::to_string(&c - kConvs) + ", " + std::to_string(images) + " images";
      ASSERT_FALSE(log.bad) << what;
      for (int64_t i = 0; i < images; ++i) {
        for (int64_t j = c.OC * OHW; j < yStride; ++j)
          ASSERT_EQ(y[size_t(i * yStride + j)], -5.0f) << what << ": wrote between images";
        for (int64_t j = 0; j < c.OC * OHW; ++j)
          ASSERT_EQ(log.count[size_t(i * yStride + j)], 1) << what;
        std::vector<float> yi(y.begin() + i * yStride, y.begin() + i * yStride + c.OC * OHW);
        expectConv(c, reference(c, x[i], w), yi, 2, 1, what.c_str());
      }
      for (int64_t i = 0; i < images; ++i)
        for (int64_t j = c.C * c.Hp() * c.Wp(); j < xStride; ++j)
          ASSERT_EQ(xs[size_t(i * xStride + j)], 9.0f) << what << ": wrote the input";
    }
  }
}

TEST(KernelsConvPack, NanPropagates) {
  Conv c{2, 40, 6, 35, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1};
  auto x = randomVector(c.C * c.H * c.W, 3);
  auto w = randomVector(c.OC * c.K(), 4);
  x[(1 * c.H + 2) * c.W + 20] = NAN;
  std::vector<float> y(c.OC * c.OH() * c.OW());
  run(c, padded(c, x), panels(c, w), y, ir::packedConvTile(c.OH(), c.OW()), {0, c.panels(), 0, c.OH()});
  for (int64_t oc = 0; oc < c.OC; ++oc)
    for (int64_t oh = 0; oh < c.OH(); ++oh)
      for (int64_t ow = 0; ow < c.OW(); ++ow) {
        // input (2, 20) is tap (kh, kw) of output (oh, ow) when oh + kh - 1 == 2 and
        // 2*ow + kw - 1 == 20: kw == 1, ow == 10
        bool reads = std::abs(oh - 2) <= 1 && ow == 10;
        EXPECT_EQ(std::isnan(y[(oc * c.OH() + oh) * c.OW() + ow]), reads) << oc << "," << oh << "," << ow;
      }
}

TEST(KernelsConvPack, CompilerTileChoiceIsAKernelShape) {
  for (int64_t OH = 1; OH <= 60; ++OH)
    for (int64_t OW = 1; OW <= 120; ++OW) {
      ir::PackedTile t = ir::packedConvTile(OH, OW);
      ASSERT_TRUE(t.rows <= OH && t.cols <= OW) << OH << "x" << OW;
      for (int64_t SW = 1; SW <= 2; ++SW)
        ASSERT_TRUE(seqk_conv2d_packed_supports(t.rows, t.cols, SW)) << OH << "x" << OW;
    }
  EXPECT_EQ(ir::packedConvTile(56, 56).cols * ir::packedConvTile(56, 56).rows, 14);
}

} // namespace

namespace {

// seqk_conv2d_pointwise: a 1x1 convolution [C, HW] -> [OC, HW] in runs of
// positions. Every tile width, runs that split the plane unevenly (down to
// one tile), single panels; each output once through the epilogue, which
// sees each channel's whole run; nothing outside a task written.
struct Pointwise {
  int64_t C, OC, HW;
};

// A pointwise case's convolution, random input and weights (seed, seed+1),
// the weights in panels, and the reference.
struct PointwiseCase {
  Conv c;
  std::vector<float> x, wp;
  Reference ref;
};

PointwiseCase pointwiseCase(const Pointwise &pc, unsigned seed) {
  Conv c{pc.C, pc.OC, 1, pc.HW, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
  auto x = randomVector(c.C * pc.HW, seed);
  auto w = randomVector(c.OC * c.C, seed + 1);
  return {c, x, panels(c, w), reference(c, x, w)};
}

// Runs of positions as the compiler cuts them: `runs` runs of nearly equal
// length, or two at the multiple nearest the middle of
// SEQK_POINT_LANES_BLOCK (runs 0) or of the tile width TW (runs -1: the
// cuts of layers whose every run takes the tiles of TW positions).
int64_t runStart(int64_t r, int64_t runs, int64_t HW, int64_t TW) {
  if (runs > 0)
    return r * HW / runs;
  const int64_t block = runs == 0 ? SEQK_POINT_LANES_BLOCK : TW;
  return r == 0 ? 0 : r == 1 ? (HW / 2 + block / 2) / block * block : HW;
}

// The last tile of a pointwise run: the positions past its whole tiles
// where there are enough of them, else a whole tile moved left.
TEST(KernelsConvPack, PointwiseLastTileTakesTheRest) {
  EXPECT_EQ(ir::pointwiseLastTile(49, 13), 10); // MobileNetV2's 7x7 planes
  EXPECT_EQ(ir::pointwiseLastTile(49, 14), 7);
  EXPECT_EQ(ir::pointwiseLastTile(18, 14), 4);
  EXPECT_EQ(ir::pointwiseLastTile(17, 14), 14); // 3 left: moved left
  EXPECT_EQ(ir::pointwiseLastTile(196, 14), 14); // whole tiles only
  EXPECT_EQ(ir::pointwiseLastTile(5, 5), 5);
}

// Every run length and tile width, both sides of the lanes' rules: few
// input channels (positions in the lanes on any run of 16), up to 128 on
// runs of at least 192 (97 input channels on 389 positions: one run, two
// of 194 and 195, two at a multiple of 48; 128 on 3 runs of 129, output
// channels in the lanes), more (130); any number on runs of at least 384
// (300 on one run of 770, two of 385, and two of 384 and 386; on 3 runs of
// 256, output channels in the lanes in 3 blocks); a last panel of 8
// channels, with more than 160 input channels in the lanes only on long
// runs (170); on planes of 784 positions or more, blocks of 64 input
// channels on runs under 384 (129 and 200 on 3 runs: 3 and 4 blocks, the
// last of 1 and 8), and of 128 one short (783);
// each run's last tile a whole one moved left, and of what the run leaves
// past its whole tiles (of any width: the kernel takes what it is given).
TEST(KernelsConvPack, PointwiseRunsMatchDirectConvolution) {
  const Pointwise cases[] = {{1, 1, 1},      {3, 16, 7},     {1, 17, 13},    {5, 32, 14},    {2, 33, 15},
                             {7, 31, 49},    {16, 48, 29},   {13, 65, 197},  {130, 20, 30},  {29, 64, 450},
                             {97, 33, 389},  {128, 17, 387}, {170, 40, 389}, {129, 48, 784}, {200, 33, 785},
                             {200, 33, 783}, {300, 40, 770}, {200, 96, 196}, {170, 32, 49}};
  unsigned seed = 90;
  for (const Pointwise &pc : cases) {
    auto [c, x, wp, ref] = pointwiseCase(pc, seed);
    seed += 2;
    for (int64_t TW = 1; TW <= std::min<int64_t>(14, pc.HW); ++TW)
      for (int64_t runs : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{0}, int64_t{-1}})
        for (bool rest : {false, true}) { // each run's last tile: TW moved left, or what it leaves
          const int64_t count = runs <= 0 ? 2 : runs;
          if (pc.HW / count < TW || (runs == 0 && pc.HW < 4 * SEQK_POINT_LANES_BLOCK) ||
              (runs == -1 && runStart(1, runs, pc.HW, TW) < TW))
            continue;
          std::vector<float> y(c.OC * pc.HW, -5.0f);
          EpiLog log{y.data(), c.OC, 1, pc.HW, std::vector<int>(c.OC * pc.HW, 0)};
          for (int64_t p = c.panels() - 1; p >= 0; --p)
            for (int64_t r = 0; r < count; ++r) {
              int64_t q0 = runStart(r, runs, pc.HW, TW), q1 = runStart(r + 1, runs, pc.HW, TW);
              seqk_conv2d_pointwise(x.data(), wp.data(), y.data(), c.C, pc.HW, c.OC, TW, rest ? (q1 - q0) % TW : TW,
                                    p, p + 1, q0, q1, record, &log, nullptr, nullptr, 0);
              if (p == c.panels() - 1 && r == 0)
                for (int64_t i = 0; i < c.OC * pc.HW; ++i)
                  if (i / pc.HW < p * kPanel || i % pc.HW >= q1) {
                    ASSERT_EQ(y[i], -5.0f) << "wrote outside the task";
                  }
            }
          EXPECT_FALSE(log.bad) << pc.C << "x" << pc.OC << "x" << pc.HW;
          for (int n : log.count)
            ASSERT_EQ(n, 1) << pc.C << "x" << pc.OC << "x" << pc.HW << " TW " << TW;
          std::string what = "pointwise TW " + std::to_string(TW) + " runs " + std::to_string(runs) +
                             (rest ? " (last tile of the rest)" : "");
          expectConv(c, ref, y, 2, 1, what.c_str());
        }
  }
}

// seqk_conv2d_pointwise_rows: one panel's run of positions into a buffer
// of its own (a fused expansion's band), rows yPlane floats apart, each
// output once through the epilogue (in runs inside its channel's row),
// nothing written past the run or the panel's channels; with few and with
// many input channels (positions or channels in the lanes), and 100 on a
// run of 389 (positions in the lanes) and of 183 (channels).
TEST(KernelsConvPack, PointwiseRowsFillOnePanelsBuffer) {
  const Pointwise cases[] = {{1, 1, 14},    {3, 16, 29},    {1, 17, 30},   {5, 32, 56},  {2, 33, 61},
                             {16, 48, 97}, {13, 65, 197}, {130, 40, 113}, {100, 40, 389}};
  unsigned seed = 300;
  for (const Pointwise &pc : cases) {
    auto [c, x, wp, ref] = pointwiseCase(pc, seed);
    seed += 2;
    for (int64_t p = 0; p < c.panels(); ++p)
      for (std::array<int64_t, 2> q : {std::array<int64_t, 2>{0, pc.HW}, {pc.HW / 3, pc.HW - pc.HW / 5}}) {
        int64_t n = q[1] - q[0], yPlane = n + 3, TW = std::min<int64_t>(14, n);
        std::vector<float> band(kPanel * yPlane, -5.0f);
        std::vector<int> count(kPanel * yPlane, 0);
        struct Log {
          float *band;
          int64_t yPlane, p, q0, n;
          std::vector<int> *count;
          bool bad;
        } log{band.data(), yPlane, p, q[0], n, &count, false};
        auto epi = [](const void *env, int64_t row, int64_t col, const float *src, float *dst, int64_t len) {
          auto *l = static_cast<Log *>(const_cast<void *>(env));
          int64_t m = row - l->p * kPanel, j0 = col - l->q0;
          if (m < 0 || m >= kPanel || j0 < 0 || len <= 0 || j0 + len > l->n || src != dst ||
              dst != l->band + m * l->yPlane + j0)
            l->bad = true;
          for (int64_t j = 0; j < len; ++j) {
            ++(*l->count)[size_t(m * l->yPlane + j0 + j)];
            dst[j] = 2.0f * src[j] + 1.0f;
          }
        };
        seqk_conv2d_pointwise_rows(x.data(), wp.data(), band.data(), yPlane, c.C, pc.HW, c.OC, TW, p, q[0], q[1],
                                   epi, &log, nullptr, nullptr, 0);
        std::string what = std::to_string(pc.C) + "x" + std::to_string(pc.OC) + "x" + std::to_string(pc.HW) +
                           " panel " + std::to_string(p) + " from " + std::to_string(q[0]);
        ASSERT_FALSE(log.bad) << what;
        int64_t channels = std::min(kPanel, c.OC - p * kPanel);
        for (int64_t m = 0; m < kPanel; ++m)
          for (int64_t j = 0; j < yPlane; ++j) {
            float got = band[size_t(m * yPlane + j)];
            if (m >= channels || j >= n) {
              ASSERT_EQ(got, -5.0f) << what << ": wrote outside the run at " << m << "," << j;
              continue;
            }
            ASSERT_EQ(count[size_t(m * yPlane + j)], 1) << what;
            size_t at = size_t((p * kPanel + m) * pc.HW + q[0] + j);
            double want = 2.0 * ref.y[at] + 1.0;
            double tol = 2.0 * (0.5 * double(c.K()) * FLT_EPSILON * ref.absSum[at]) + 1e-6 * std::fabs(want) + 1e-6;
            ASSERT_NEAR(got, want, tol) << what << " at " << m << "," << j;
          }
      }
  }
}

// Cross-layer prefetch (xl, xlBytes: the next layer's weights, read into
// the caches a slice of lines before each tile): a prefetch changes no
// result, whatever the slice's size (none, less than a line, a line, more
// lines than the call has tiles to spread them over) and the number of
// panels it is shared among. The slice is a buffer of exactly its size,
// so a read past it, rather than a prefetch, is an ASan error.
TEST(KernelsConvPack, PrefetchingTheNextWeightsChangesNoResult) {
  unsigned seed = 700;
  for (const Conv &c : {kConvs[7], kConvs[14], kConvs[16]}) {
    auto x = randomVector(c.C * c.H * c.W, seed++);
    auto w = randomVector(c.OC * c.K(), seed++);
    auto xp = padded(c, x);
    auto wp = panels(c, w);
    ir::PackedTile tile = ir::packedConvTile(c.OH(), c.OW());
    std::vector<float> plain(c.OC * c.OH() * c.OW(), -5.0f);
    run(c, xp, wp, plain, tile, {0, c.panels(), 0, c.OH()});
    for (int64_t bytes : {int64_t{0}, int64_t{40}, int64_t{64}, int64_t{64 * 7}, int64_t{1} << 20}) {
      std::vector<char> next(size_t(std::max<int64_t>(bytes, 1)), 1);
      std::vector<float> y(plain.size(), -5.0f);
      seqk_conv2d_packed(xp.data(), wp.data(), y.data(), c.C, c.Hp(), c.Wp(), c.KH, c.KW, c.SH, c.SW, c.DH, c.DW,
                         c.OC, c.OH(), c.OW(), tile.rows, tile.cols, 0, c.panels(), 0, c.OH(), nullptr, nullptr,
                         nullptr, next.data(), bytes);
      ASSERT_EQ(0, std::memcmp(y.data(), plain.data(), y.size() * sizeof(float)))
          << "conv " << (&c - kConvs) << ", " << bytes << " bytes";
    }
  }
  // pointwise: output channels in the lanes (130 input channels) and
  // positions in the lanes (16)
  for (const Pointwise &pc : {Pointwise{130, 65, 97}, Pointwise{16, 48, 113}}) {
    auto [c, x, wp, ref] = pointwiseCase(pc, seed);
    seed += 2;
    std::vector<float> plain(c.OC * pc.HW, -5.0f);
    seqk_conv2d_pointwise(x.data(), wp.data(), plain.data(), c.C, pc.HW, c.OC, 14, 14, 0, c.panels(), 0, pc.HW, nullptr,
                          nullptr, nullptr, nullptr, 0);
    for (int64_t bytes : {int64_t{64}, int64_t{64 * 5}, int64_t{1} << 20}) {
      std::vector<char> next(size_t(bytes), 1);
      std::vector<float> y(plain.size(), -5.0f);
      seqk_conv2d_pointwise(x.data(), wp.data(), y.data(), c.C, pc.HW, c.OC, 14, 14, 0, c.panels(), 0, pc.HW, nullptr,
                            nullptr, nullptr, next.data(), bytes);
      ASSERT_EQ(0, std::memcmp(y.data(), plain.data(), y.size() * sizeof(float))) << pc.C << ", " << bytes;
    }
  }
}

} // namespace
