// Unit tests of seqk_conv2d_winograd (winograd.c), the 3x3 stride-1
// convolution by Winograd's F(2x2, 3x3): against a double-precision direct
// convolution at awkward sizes (1 channel, primes, one past each edge: 16
// and 32 channels, 64 and 65 input channels (the pointwise kernel's two
// paths), 16 and 17 tiles a row (one vector of tiles, and one past), odd
// planes whose last tile is half outside, 1x1 planes; 25 and 26 tiles a
// row: blocks row-packed but at 16 tiles a row, their outputs back
// through strips under 16), every padding from 0 to 2 and asymmetric
// ones; tasks of tile rows and panels that compose to the whole, each
// output once through the epilogue; blocks of every size; NaN reaching
// exactly the outputs whose window holds it.
#include <gtest/gtest.h>

#include "conv_reference.h"

#include "ir/ConvScratch.h"

#include <cmath>
#include <limits>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace {

namespace ir = seq::ir;

constexpr int64_t kPanel = SEQK_PANEL_WIDTH;

struct Case {
  int64_t C, OC, H, W, top, left, bottom, right;
  int64_t OH() const { return H + top + bottom - 2; }
  int64_t OW() const { return W + left + right - 2; }
  int64_t tileRows() const { return (OH() + 1) / 2; }
  int64_t tileCols() const { return (OW() + 1) / 2; }
  int64_t panels() const { return (OC + kPanel - 1) / kPanel; }
};

const Case kCases[] = {
    {1, 1, 1, 1, 1, 1, 1, 1},     {3, 16, 5, 7, 1, 1, 1, 1},    {1, 17, 3, 3, 0, 0, 0, 0},
    {4, 32, 9, 15, 1, 1, 1, 1},   {2, 33, 6, 31, 1, 1, 1, 1},   {5, 48, 7, 30, 0, 2, 1, 0},
    {17, 31, 12, 10, 2, 2, 2, 2}, {64, 64, 14, 14, 1, 1, 1, 1}, {65, 33, 8, 8, 1, 1, 1, 1},
    {13, 7, 32, 32, 1, 1, 1, 1},  {7, 20, 34, 34, 1, 1, 1, 1},  {130, 40, 7, 7, 1, 1, 1, 1},
    {16, 65, 2, 40, 1, 1, 1, 1},  {3, 5, 1, 1, 2, 2, 2, 2},     {3, 9, 5, 50, 1, 1, 1, 1},
    {2, 7, 4, 52, 1, 1, 1, 1},
};

// U = G g G^T for each (output, input) channel pair, element xi of the
// 4x4 result at panel-packed [OC, C] matrix xi (SEQRT_PACK_WINOGRAD).
std::vector<float> transformed(const Case &c, const std::vector<float> &w) {
  const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  int64_t matrix = c.panels() * kPanel * c.C;
  std::vector<float> u(16 * matrix, 0.0f);
  for (int64_t m = 0; m < c.OC; ++m)
    for (int64_t ch = 0; ch < c.C; ++ch) {
      const float *g = &w[(m * c.C + ch) * 9];
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          double s = 0;
          for (int k = 0; k < 3; ++k)
            for (int l = 0; l < 3; ++l)
              s += G[i][k] * g[k * 3 + l] * G[j][l];
          u[(i * 4 + j) * matrix + (m / kPanel * c.C + ch) * kPanel + m % kPanel] = float(s);
        }
    }
  return u;
}

// Counts each output's epilogue calls; adds 1 to check it runs after the
// output is final.
struct Seen {
  const Case *c;
  std::vector<int> calls;
};

void countingEpilogue(const void *env, int64_t row, int64_t col, const float *src, float *dst, int64_t n) {
  auto *seen = static_cast<Seen *>(const_cast<void *>(env));
  for (int64_t i = 0; i < n; ++i) {
    seen->calls[size_t(row * seen->c->OH() * seen->c->OW() + col + i)] += 1;
    dst[i] = src[i] + 1.0f;
  }
}

// Runs the convolution as `rowTasks` x `panelTasks` tasks with blocks of
// blockRows rows of tiles, every task with its own work buffer (filled
// with NaN: what the kernel reads of it, it wrote first), its transformed
// tiles' matrices `spread` floats further apart than they need to be.
std::vector<float> run(const Case &c, const std::vector<float> &x, const std::vector<float> &u,
                       int64_t blockRows, int64_t rowTasks, int64_t panelTasks, Seen *seen, int64_t spread = 0) {
  int64_t TWt = c.tileCols(), blocks = (c.tileRows() + blockRows - 1) / blockRows;
  int64_t fewest = (c.tileRows() - (blocks - 1) * blockRows) * TWt;
  int64_t TW = ir::packedConvTile(1, std::min(fewest, blockRows * TWt)).cols;
  std::vector<float> y(c.OC * c.OH() * c.OW(), std::numeric_limits<float>::quiet_NaN());
  for (int64_t rt = 0; rt < rowTasks; ++rt)
    for (int64_t pt = 0; pt < panelTasks; ++pt) {
      int64_t b0 = blocks * rt / rowTasks, b1 = blocks * (rt + 1) / rowTasks;
      int64_t p0 = c.panels() * pt / panelTasks, p1 = c.panels() * (pt + 1) / panelTasks;
      int64_t vStride = seqk_conv2d_winograd_stride(c.C, c.OW(), blockRows, 1) + spread;
      std::vector<float> work(size_t(seqk_conv2d_winograd_work(c.C, c.OW(), blockRows, vStride, 1)),
                              std::numeric_limits<float>::quiet_NaN());
      seqk_conv2d_winograd(x.data(), u.data(), y.data(), work.data(), c.C, c.H, c.W, c.top, c.left, c.OC,
                           c.OH(), c.OW(), blockRows, TW, vStride, b0 * blockRows,
                           std::min(c.tileRows(), b1 * blockRows), p0, p1, seen ? countingEpilogue : nullptr, seen,
                           nullptr, 0, 1);
    }
  return y;
}

seqk_test::ConvReference reference(const Case &c, const std::vector<float> &x, const std::vector<float> &w) {
  return seqk_test::referenceConv({c.C, c.OC, c.H, c.W, 3, 3, 1, 1, 1, 1, c.top, c.left, c.OH(), c.OW()}, x, w);
}

// Case c's input and weights, random from `seed` and seed + 1, and the
// weights transformed.
struct Inputs {
  std::vector<float> x, w, u;
};
Inputs inputs(const Case &c, unsigned seed) {
  Inputs in{seqk_test::randomVector(size_t(c.C * c.H * c.W), seed),
            seqk_test::randomVector(size_t(c.OC * c.C * 9), seed + 1), {}};
  in.u = transformed(c, in.w);
  return in;
}

void expectNear(const Case &c, const std::vector<float> &y, const seqk_test::ConvReference &r, float shift) {
  for (size_t i = 0; i < y.size(); ++i)
    ASSERT_NEAR(y[i], r.y[i] + shift, 1e-5 * (1 + r.absSum[i]))
        << "C=" << c.C << " OC=" << c.OC << " " << c.H << "x" << c.W << " output " << i;
}

TEST(KernelsWinograd, MatchesTheDirectConvolution) {
  unsigned seed = 1;
  for (const Case &c : kCases) {
    auto [x, w, u] = inputs(c, seed);
    seed += 2;
    auto r = reference(c, x, w);
    for (int64_t blockRows : {int64_t(1), int64_t(2), c.tileRows()})
      expectNear(c, run(c, x, u, blockRows, 1, 1, nullptr), r, 0.0f);
  }
}

TEST(KernelsWinograd, TasksComposeAndEachOutputPassesTheEpilogueOnce) {
  unsigned seed = 100;
  for (const Case &c : kCases) {
    auto [x, w, u] = inputs(c, seed);
    seed += 2;
    auto r = reference(c, x, w);
    int64_t blockRows = std::max<int64_t>(1, c.tileRows() / 3);
    int64_t blocks = (c.tileRows() + blockRows - 1) / blockRows;
    for (int64_t rowTasks : {int64_t(1), std::min<int64_t>(2, blocks), blocks})
      for (int64_t panelTasks : {int64_t(1), c.panels()}) {
        Seen seen{&c, std::vector<int>(size_t(c.OC * c.OH() * c.OW()), 0)};
        expectNear(c, run(c, x, u, blockRows, rowTasks, panelTasks, &seen), r, 1.0f);
        for (size_t i = 0; i < seen.calls.size(); ++i)
          ASSERT_EQ(seen.calls[i], 1) << "output " << i << " of C=" << c.C << " OC=" << c.OC;
      }
  }
}

// A larger stride between the transformed tiles' matrices (that of a
// layer sharing the specialisation, ir::WinogradPlan::vStride) changes
// where they lie, not the result.
TEST(KernelsWinograd, AWiderStrideGivesTheSameBits) {
  unsigned seed = 200;
  for (const Case &c : kCases) {
    auto [x, w, u] = inputs(c, seed);
    seed += 2;
    int64_t blockRows = std::max<int64_t>(1, c.tileRows() / 2);
    std::vector<float> y = run(c, x, u, blockRows, 1, 1, nullptr);
    for (int64_t spread : {1, 16, 1000})
      ASSERT_EQ(run(c, x, u, blockRows, 1, 1, nullptr, spread), y) << "C=" << c.C << " spread " << spread;
  }
}

// Several images a call (a batch's small planes, ir::WinogradPlan::
// imageGroup): the same bits as one image a call, whatever the number of
// images (1, 2, primes, 16 tiles of 4 tiles each: one past a vector),
// each output through the epilogue once with its image's row k*OC + m, in
// a NaN-filled work buffer sized for that many images.
TEST(KernelsWinograd, SeveralImagesACallGiveEachImagesBits) {
  unsigned seed = 300;
  for (const Case &c : kCases) {
    const int64_t plane = c.C * c.H * c.W, out = c.OC * c.OH() * c.OW();
    for (int64_t images : {1, 2, 3, 5, 17}) {
      std::vector<float> x = seqk_test::randomVector(size_t(images * plane), seed);
      std::vector<float> w = seqk_test::randomVector(size_t(c.OC * c.C * 9), seed + 1);
      seed += 2;
      std::vector<float> u = transformed(c, w), each;
      for (int64_t k = 0; k < images; ++k) {
        std::vector<float> xk(x.begin() + k * plane, x.begin() + (k + 1) * plane);
        std::vector<float> yk = run(c, xk, u, c.tileRows(), 1, 1, nullptr);
        each.insert(each.end(), yk.begin(), yk.end());
      }
      int64_t tiles = c.tileRows() * c.tileCols();
      int64_t TW = ir::packedConvTile(1, images * tiles).cols;
      int64_t vStride = seqk_conv2d_winograd_stride(c.C, c.OW(), c.tileRows(), images);
      std::vector<float> work(size_t(seqk_conv2d_winograd_work(c.C, c.OW(), c.tileRows(), vStride, images)),
                              std::numeric_limits<float>::quiet_NaN());
      std::vector<float> y(size_t(images * out), std::numeric_limits<float>::quiet_NaN());
      Case all = c; // the epilogue's rows: k*OC + m of `images` images
      Seen seen{&all, std::vector<int>(size_t(images * out), 0)};
      seqk_conv2d_winograd(x.data(), u.data(), y.data(), work.data(), c.C, c.H, c.W, c.top, c.left, c.OC, c.OH(),
                           c.OW(), c.tileRows(), TW, vStride, 0, c.tileRows(), 0, c.panels(), countingEpilogue, &seen,
                           nullptr, 0, images);
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_EQ(y[i], each[i] + 1.0f) << "C=" << c.C << " OC=" << c.OC << " " << c.H << "x" << c.W << ", "
                                        << images << " images: output " << i;
        ASSERT_EQ(seen.calls[i], 1) << "output " << i;
      }
    }
  }
}

// A NaN input reaches the outputs whose 3x3 window holds it, and only
// those (as in the direct convolution and PyTorch), wherever it sits in
// its tile: blocks row-packed (5 tiles a row) and row by row (16).
TEST(KernelsWinograd, NaNReachesExactlyTheOutputsWhoseWindowHoldsIt) {
  for (const Case &c : {Case{3, 5, 9, 10, 1, 1, 1, 1}, Case{2, 3, 5, 32, 1, 1, 1, 1}}) {
    std::vector<float> w = seqk_test::randomVector(size_t(c.OC * c.C * 9), 7);
    std::vector<float> u = transformed(c, w);
    for (int64_t h = 0; h < c.H; ++h)
      for (int64_t wpos = 0; wpos < c.W; ++wpos) {
        std::vector<float> x = seqk_test::randomVector(size_t(c.C * c.H * c.W), 8);
        x[size_t((1 * c.H + h) * c.W + wpos)] = std::numeric_limits<float>::quiet_NaN();
        std::vector<float> y = run(c, x, u, 2, 1, 1, nullptr);
        for (int64_t m = 0; m < c.OC; ++m)
          for (int64_t oh = 0; oh < c.OH(); ++oh)
            for (int64_t ow = 0; ow < c.OW(); ++ow) {
              bool inWindow = h + c.top - oh >= 0 && h + c.top - oh < 3 && wpos + c.left - ow >= 0 &&
                              wpos + c.left - ow < 3;
              ASSERT_EQ(std::isnan(y[size_t((m * c.OH() + oh) * c.OW() + ow)]), inWindow)
                  << "NaN at " << h << "," << wpos << "; output " << m << "," << oh << "," << ow;
            }
      }
  }
}

// The compiler reserves each task's work buffer from its plan
// (ir::winogradPlan); it must hold what the kernel uses, for the images a
// call of its grouped plans too (64 output channels and more, 64 tiles or
// fewer: some of these plans group, which the test requires).
TEST(KernelsWinograd, ThePlansWorkBufferHoldsWhatTheKernelUses) {
  int grouped = 0;
  for (int64_t C : {16, 17, 64, 130, 512})
    for (int64_t OC : {32, 64, 96})
      for (int64_t OH : {4, 8, 9, 14, 28, 56, 113})
        for (int64_t OW : {4, 8, 15, 16, 33, 56, 224}) {
          seq::ir::Graph g;
          // a graph of one Conv2d: [1, C, OH, OW] -> [1, OC, OH, OW], padding 1
          int in = g.addValue(seq::ir::Shape{{1, C, OH, OW}}, "x");
          int out = g.addValue(seq::ir::Shape{{1, OC, OH, OW}}, "y");
          seq::ir::Node conv;
          conv.kind = seq::ir::OpKind::Conv2d;
          conv.inputs = {in};
          conv.output = out;
          conv.attrs.kernel[0] = conv.attrs.kernel[1] = 3;
          for (int64_t &p : conv.attrs.pad)
            p = 1;
          ir::WinogradPlan plan = ir::winogradPlan(g, conv);
          ASSERT_GE(plan.vStride, seqk_conv2d_winograd_stride(C, OW, plan.blockRows, plan.imageGroup));
          ASSERT_GE(plan.workFloats, seqk_conv2d_winograd_work(C, OW, plan.blockRows, plan.vStride, plan.imageGroup))
              << C << " " << OH << "x" << OW;
          ASSERT_EQ(plan.workFloats % 16, 0);
          grouped += plan.imageGroup > 1;
        }
  ASSERT_GT(grouped, 0);
}

} // namespace
