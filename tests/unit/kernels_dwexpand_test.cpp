// Unit tests of seqk_expand_depthwise_lanes (dwexpand.c), a 1x1
// expansion fused into the depthwise convolution reading it, with 16
// channels in the lanes:
//  - the same bits as the unfused kernels it replaces (the expansion by
//    seqk_conv2d_pointwise with its seqk_fused epilogue, the depthwise
//    convolution by seqk_depthwise2d_phased with a scalar epilogue) for
//    every activation, with and without biases, and with the depthwise
//    epilogue as a function on rows;
//  - within float error of a double-precision reference of the pair;
//  - at awkward sizes: 1 channel, 15 to 17 and 31 to 33 (a half-panel and
//    a panel, and one past), 48; input rows of 14 positions (the tile)
//    and 15; output rows narrower than 16, of 16, and one past; strides 1
//    and 2, kernels 3x3, 5x5, 3x5 and 1x1, paddings 0 to 2 on any side,
//    dilation 2; bands of one row up to the plane, every output once;
//  - work buffers filled with NaN, and a NaN input reaching exactly the
//    outputs whose window holds its position;
//  - any producing convolution (seqk_conv_depthwise_lanes: a stem's 3x3
//    of stride 2, 5x5, 1x1 of stride 2, no padding) gives the bits of the
//    padded packed convolution followed by the depthwise one.
#include <gtest/gtest.h>

#include "conv_reference.h"
#include "epilogue_reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
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
const float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Case {
  int64_t eC, C, H, W, KH, KW, SH, SW, top, left, bottom, right, DH, DW;
  int64_t OH() const { return (H + top + bottom - DH * (KH - 1) - 1) / SH + 1; }
  int64_t OW() const { return (W + left + right - DW * (KW - 1) - 1) / SW + 1; }
  int64_t panels() const { return (C + kPanel - 1) / kPanel; }
};

const Case kCases[] = {
    {1, 1, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},    // one channel, rows of one tile
    {3, 17, 15, 15, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},   // one past a tile; output rows of 8
    {16, 32, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},  // a panel; rows of 28 (a block moved left)
    {24, 33, 29, 31, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1},  // one past a panel; output rows of 16
    {5, 48, 17, 33, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},   // dilation 2; rows of 33
    {7, 16, 13, 14, 3, 5, 1, 2, 0, 2, 1, 0, 1, 1},   // uneven padding, 3x5, strides 1 x 2
    {2, 31, 20, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},   // a 1x1 depthwise convolution
    {65, 40, 14, 47, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1},  // many input channels; strides 2 x 1
    {32, 15, 28, 28, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1},  // stride 2 padded below and right only
};

// The generated epilogue's scalar code for a seqk_fused of bias and act.
float scalarEpilogue(const seqk_fused &f, float x, int64_t c) {
  if (f.bias)
    x = x + f.bias[c];
  switch (f.act) {
  case SEQK_ACT_RELU: return seqk_reluf(x);
  case SEQK_ACT_HARDTANH: return seqk_hardtanhf(x, f.lo, f.hi);
  case SEQK_ACT_SILU: return seqk_siluf(x);
  case SEQK_ACT_HARDSWISH: return seqk_hardswishf(x);
  case SEQK_ACT_TANH: return seqk_tanhf(x);
  default: return x;
  }
}

// An epilogue function applying a seqk_fused on rows, counting each
// output it sees.
struct RowEpilogue {
  const seqk_fused *fused;
  int64_t plane;
  std::vector<int> *calls;
};
void rowEpilogue(const void *env, int64_t row, int64_t col, const float *src, float *dst, int64_t n) {
  auto *e = static_cast<const RowEpilogue *>(env);
  for (int64_t i = 0; i < n; ++i) {
    if (e->calls)
      (*e->calls)[size_t(row * e->plane + col + i)] += 1;
    dst[i] = e->fused ? scalarEpilogue(*e->fused, src[i], row) : src[i];
  }
}

struct Data {
  std::vector<float> x, wp, w, ebias, dbias;
};

Data makeData(const Case &c, unsigned seed) {
  Data d;
  d.x = seqk_test::randomVector(size_t(c.eC * c.H * c.W), seed);
  d.wp = panels(c.C, c.eC, seqk_test::randomVector(size_t(c.C * c.eC), seed + 1));
  d.w = seqk_test::randomVector(size_t(c.C * c.KH * c.KW), seed + 2);
  d.ebias = seqk_test::randomVector(size_t(c.C), seed + 3);
  d.dbias = seqk_test::randomVector(size_t(c.C), seed + 4);
  return d;
}

// The output of `call(work, p, oh0, oh1)` in tasks of (band of bandRows
// output rows [oh0, oh1), panel p), each with its own work buffer filled
// with NaN and 64-byte aligned, as the planner's scratch slots are.
template <class Call> std::vector<float> inBands(const Case &c, int64_t bandRows, Call call) {
  std::vector<float> y(size_t(c.C * c.OH() * c.OW()), kNaN);
  int64_t work =
      seqk_expand_depthwise_lanes_work(c.KH, c.KW, c.SH, c.SW, c.DH, c.DW, c.left, c.W, c.OW(), bandRows);
  for (int64_t oh0 = 0; oh0 < c.OH(); oh0 += bandRows)
    for (int64_t p = 0; p < c.panels(); ++p) {
      std::vector<float> buf(size_t(work) + 16, kNaN);
      float *aligned = buf.data();
      while (reinterpret_cast<uintptr_t>(aligned) % 64 != 0)
        ++aligned;
      call(y.data(), aligned, p, oh0, std::min(oh0 + bandRows, c.OH()));
    }
  return y;
}

// The fused kernel in bands of bandRows.
std::vector<float> fused(const Case &c, const Data &d, int64_t bandRows, const seqk_fused *expand,
                         const seqk_fused *dw, seqk_epilogue epi, const void *env) {
  return inBands(c, bandRows, [&](float *y, float *work, int64_t p, int64_t oh0, int64_t oh1) {
    seqk_expand_depthwise_lanes(d.x.data(), d.wp.data(), d.w.data(), y, work, c.eC, c.C, c.H, c.W, c.KH, c.KW, c.SH,
                                c.SW, c.top, c.left, c.DH, c.DW, c.OH(), c.OW(), p, oh0, oh1, expand, dw, epi, env);
  });
}

// The unfused kernels: the expansion, stored; then the depthwise
// convolution with the scalar epilogue.
std::vector<float> unfused(const Case &c, const Data &d, const seqk_fused *expand, const seqk_fused *dw) {
  const int64_t HW = c.H * c.W;
  std::vector<float> e(size_t(c.C * HW));
  seqk_conv2d_pointwise(d.x.data(), d.wp.data(), e.data(), c.eC, HW, c.C, 14, 14, 0, c.panels(), 0, HW, nullptr,
                        nullptr, expand, nullptr, 0);
  const int64_t Wq = seqk_depthwise2d_phased_width(c.KW, c.SH, c.SW, c.DW, c.OH(), c.OW());
  std::vector<float> buf(size_t(seqk_depthwise2d_phased_plane(c.KH, c.SH, c.SW, c.DH, c.OH(), Wq)));
  std::vector<float> y(size_t(c.C * c.OH() * c.OW()));
  RowEpilogue env{dw, c.OH() * c.OW(), nullptr};
  seqk_depthwise2d_phased(e.data(), buf.data(), d.w.data(), y.data(), c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.top,
                          c.left, c.DH, c.DW, c.OH(), c.OW(), Wq, 0, c.C, rowEpilogue, &env);
  return y;
}

TEST(KernelsExpandDepthwise, TheBitsOfTheUnfusedKernelsForEveryEpilogue) {
  unsigned seed = 900;
  for (const Case &c : kCases) {
    Data d = makeData(c, seed);
    seed += 5;
    for (const Act &act : kActs)
      for (bool withBias : {false, true}) {
        seqk_fused expand{withBias ? d.ebias.data() : nullptr, nullptr, 0, c.H * c.W, act.act, act.lo, act.hi};
        seqk_fused dw{withBias ? d.dbias.data() : nullptr, nullptr, 0, c.OH() * c.OW(), act.act, act.lo, act.hi};
        std::vector<float> want = unfused(c, d, &expand, &dw);
        // the depthwise epilogue in registers, and as a function on rows
        RowEpilogue env{&dw, c.OH() * c.OW(), nullptr};
        for (bool inRegisters : {true, false}) {
          std::vector<float> y = inRegisters ? fused(c, d, 3, &expand, &dw, nullptr, nullptr)
                                             : fused(c, d, 3, &expand, nullptr, rowEpilogue, &env);
          for (size_t i = 0; i < y.size(); ++i)
            ASSERT_EQ(bits(y[i]), bits(want[i]))
                << c.eC << "->" << c.C << " at " << c.H << "x" << c.W << " " << act.name
                << (withBias ? " bias" : "") << (inRegisters ? "" : " (rows)") << ": output " << i << " " << y[i]
                << " vs " << want[i];
        }
      }
  }
}

TEST(KernelsExpandDepthwise, MatchesTheReferenceInBandsWithEachOutputOnceThroughTheEpilogue) {
  unsigned seed = 1000;
  for (const Case &c : kCases) {
    Data d = makeData(c, seed);
    seed += 5;
    const int64_t HW = c.H * c.W, OHW = c.OH() * c.OW();
    // the expansion in double, then the depthwise convolution of it
    std::vector<double> e(size_t(c.C * HW)), eAbs(size_t(c.C * HW));
    for (int64_t m = 0; m < c.C; ++m)
      for (int64_t q = 0; q < HW; ++q)
        for (int64_t k = 0; k < c.eC; ++k) {
          double t = double(d.wp[size_t((m / kPanel * c.eC + k) * kPanel + m % kPanel)]) * d.x[size_t(k * HW + q)];
          e[size_t(m * HW + q)] += t;
          eAbs[size_t(m * HW + q)] += std::fabs(t);
        }
    seqk_test::ConvGeometry g{c.C, c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.DH, c.DW, c.top, c.left, c.OH(), c.OW()};
    seqk_test::ConvReference r = seqk_test::referenceDepthwise(
        g,
        [&](int64_t ch, int64_t ih, int64_t iw) {
          size_t at = size_t(ch * HW + ih * c.W + iw);
          return std::pair{e[at], eAbs[at]};
        },
        d.w);
    for (int64_t bandRows : {int64_t(1), int64_t(2), int64_t(5), c.OH()}) {
      std::vector<int> calls(size_t(c.C * OHW), 0);
      RowEpilogue env{nullptr, OHW, &calls};
      std::vector<float> y = fused(c, d, bandRows, nullptr, nullptr, rowEpilogue, &env);
      for (int64_t ch = 0; ch < c.C; ++ch)
        for (int64_t oh = 0; oh < c.OH(); ++oh)
          for (int64_t ow = 0; ow < c.OW(); ++ow) {
            size_t at = size_t((ch * c.OH() + oh) * c.OW() + ow);
            ASSERT_NEAR(y[at], r.y[at], 1e-6 * (1 + r.absSum[at]))
                << c.eC << "->" << c.C << " at " << c.H << "x" << c.W << ", bands of " << bandRows << ": output "
                << ch << "," << oh << "," << ow;
            ASSERT_EQ(calls[at], 1) << "bands of " << bandRows << ": output " << ch << "," << oh << "," << ow;
          }
    }
  }
}

TEST(KernelsExpandDepthwise, NaNReachesExactlyTheOutputsWhoseWindowHoldsIt) {
  const Case c{3, 17, 15, 15, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1};
  Data d = makeData(c, 77);
  for (int64_t h = 0; h < c.H; ++h)
    for (int64_t wq = 0; wq < c.W; ++wq) {
      Data nan = d;
      nan.x[size_t((1 * c.H + h) * c.W + wq)] = kNaN;
      std::vector<float> y = fused(c, nan, 2, nullptr, nullptr, nullptr, nullptr);
      for (int64_t ch = 0; ch < c.C; ++ch)
        for (int64_t oh = 0; oh < c.OH(); ++oh)
          for (int64_t ow = 0; ow < c.OW(); ++ow) {
            int64_t dh = h + c.top - oh * c.SH, dw = wq + c.left - ow * c.SW;
            bool hit = dh >= 0 && dh < c.KH && dw >= 0 && dw < c.KW;
            ASSERT_EQ(std::isnan(y[size_t((ch * c.OH() + oh) * c.OW() + ow)]), hit)
                << "NaN at " << h << "," << wq << "; output " << ch << "," << oh << "," << ow;
          }
    }
}

// A producer other than a 1x1 expansion (seqk_conv_depthwise_lanes): a
// network's stem and the like, on its zero-padded input, against the
// padded packed convolution and the depthwise one, unfused.
struct ProducerCase {
  int64_t eC, C, Hx, Wx, eKH, eKW, eSH, eSW, ePad; // the producer
  int64_t KH, KW, SH, SW, pad;                     // the depthwise convolution
  int64_t H() const { return (Hx + 2 * ePad - eKH) / eSH + 1; }
  int64_t W() const { return (Wx + 2 * ePad - eKW) / eSW + 1; }
  Case dw() const { return {eC, C, H(), W(), KH, KW, SH, SW, pad, pad, pad, pad, 1, 1}; }
};

const ProducerCase kProducers[] = {
    {3, 32, 29, 31, 3, 3, 2, 2, 1, 3, 3, 1, 1, 1},  // a stem: 3x3 of stride 2, then 3x3
    {2, 17, 20, 28, 5, 5, 1, 1, 2, 3, 3, 2, 2, 1},  // 5x5 of stride 1, then stride 2
    {4, 48, 33, 40, 3, 3, 2, 2, 0, 5, 5, 2, 2, 2},  // no padding; 5x5 of stride 2
    {5, 16, 30, 29, 1, 1, 2, 2, 0, 3, 3, 1, 1, 1},  // 1x1 of stride 2
    {3, 24, 31, 44, 3, 3, 1, 2, 1, 3, 3, 1, 2, 1},  // strides 1 x 2
};

TEST(KernelsExpandDepthwise, AnyProducerGivesTheBitsOfThePaddedPackedConvolution) {
  unsigned seed = 1100;
  for (const ProducerCase &pc : kProducers) {
    const Case c = pc.dw();
    ASSERT_GE(c.W, 14);
    const int64_t Hp = pc.Hx + 2 * pc.ePad, Wp = pc.Wx + 2 * pc.ePad, K = pc.eC * pc.eKH * pc.eKW;
    auto x = seqk_test::randomVector(size_t(pc.eC * pc.Hx * pc.Wx), seed);
    auto we = panels(c.C, K, seqk_test::randomVector(size_t(c.C * K), seed + 1));
    auto w = seqk_test::randomVector(size_t(c.C * c.KH * c.KW), seed + 2);
    auto ebias = seqk_test::randomVector(size_t(c.C), seed + 3), dbias = seqk_test::randomVector(size_t(c.C), seed + 4);
    seed += 5;
    std::vector<float> xp(size_t(pc.eC * Hp * Wp + 64), 0.0f);
    seqk_pad2d(x.data(), xp.data(), pc.eC, pc.Hx, pc.Wx, Hp, Wp, pc.ePad, pc.ePad, 0, pc.eC);
    for (const Act &act : kActs) {
      seqk_fused expand{ebias.data(), nullptr, 0, c.H * c.W, act.act, act.lo, act.hi};
      seqk_fused dw{dbias.data(), nullptr, 0, c.OH() * c.OW(), act.act, act.lo, act.hi};
      // unfused: the packed convolution (its epilogue on rows), then the
      // depthwise one
      std::vector<float> e(size_t(c.C * c.H * c.W));
      RowEpilogue eenv{&expand, c.H * c.W, nullptr};
      const int64_t TW = std::min<int64_t>(7, c.W);
      ASSERT_TRUE(seqk_conv2d_packed_supports(1, TW, pc.eSW));
      seqk_conv2d_packed(xp.data(), we.data(), e.data(), pc.eC, Hp, Wp, pc.eKH, pc.eKW, pc.eSH, pc.eSW, 1, 1, c.C,
                         c.H, c.W, 1, TW, 0, c.panels(), 0, c.H, rowEpilogue, &eenv, nullptr, nullptr, 0);
      const int64_t Wq = seqk_depthwise2d_phased_width(c.KW, c.SH, c.SW, c.DW, c.OH(), c.OW());
      std::vector<float> buf(size_t(seqk_depthwise2d_phased_plane(c.KH, c.SH, c.SW, c.DH, c.OH(), Wq)));
      std::vector<float> want(size_t(c.C * c.OH() * c.OW()));
      RowEpilogue denv{&dw, c.OH() * c.OW(), nullptr};
      seqk_depthwise2d_phased(e.data(), buf.data(), w.data(), want.data(), c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.top,
                              c.left, c.DH, c.DW, c.OH(), c.OW(), Wq, 0, c.C, rowEpilogue, &denv);
      // fused, in bands of 3 rows
      std::vector<float> y = inBands(c, 3, [&](float *out, float *work, int64_t p, int64_t oh0, int64_t oh1) {
        seqk_conv_depthwise_lanes(xp.data(), Hp * Wp, pc.eSH * Wp, pc.eSW, pc.eKH, pc.eKW, Wp, 1, we.data(),
                                  w.data(), out, work, pc.eC, c.C, c.H, c.W, c.KH, c.KW, c.SH, c.SW, c.top, c.left,
                                  1, 1, c.OH(), c.OW(), p, oh0, oh1, &expand, &dw, nullptr, nullptr);
      });
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_EQ(bits(y[i]), bits(want[i])) << pc.eKH << "x" << pc.eKW << "/" << pc.eSH << "x" << pc.eSW
                                             << " producer of " << pc.eC << "->" << c.C << ", " << act.name
                                             << ": output " << i << " " << y[i] << " vs " << want[i];
    }
  }
}

} // namespace
