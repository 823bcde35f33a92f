// conv_reference.h: what the convolution kernels' tests share: seeded
// random inputs, and the double-precision direct and depthwise
// convolutions they compare against (each output's sum, and the sum of
// its terms' magnitudes, which scales the tolerance).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace seqk_test {

// n floats uniform in [-1, 1), the same for the same seed.
inline std::vector<float> randomVector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &f : v)
    f = dist(rng);
  return v;
}

// One group; x [C, H, W], w [OC, C, KH, KW], y [OC, OH, OW]; the padding
// given by its top and left sides (the bottom and right ones only set OH
// and OW).
struct ConvGeometry {
  int64_t C, OC, H, W, KH, KW, SH, SW, DH, DW, top, left, OH, OW;
};

struct ConvReference {
  std::vector<double> y, absSum;
};

inline ConvReference referenceConv(const ConvGeometry &g, const std::vector<float> &x,
                                   const std::vector<float> &w) {
  const int64_t K = g.C * g.KH * g.KW, outputs = g.OC * g.OH * g.OW;
  ConvReference r{std::vector<double>(outputs), std::vector<double>(outputs)};
  for (int64_t oc = 0; oc < g.OC; ++oc)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        double s = 0, a = 0;
        for (int64_t ch = 0; ch < g.C; ++ch)
          for (int64_t kh = 0; kh < g.KH; ++kh)
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              int64_t ih = oh * g.SH + kh * g.DH - g.top, iw = ow * g.SW + kw * g.DW - g.left;
              if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W)
                continue;
              double t = double(w[oc * K + (ch * g.KH + kh) * g.KW + kw]) * x[(ch * g.H + ih) * g.W + iw];
              s += t;
              a += std::fabs(t);
            }
        r.y[(oc * g.OH + oh) * g.OW + ow] = s;
        r.absSum[(oc * g.OH + oh) * g.OW + ow] = a;
      }
  return r;
}

// A depthwise convolution (g.OC == g.C, w [C, KH, KW]) of an input given
// as input(ch, ih, iw) -> {value, magnitude} in double: a float tensor
// ({x, |x|}), or a convolution's output computed in double (its sums and
// their magnitudes' sums), whose magnitudes then carry into the
// tolerance.
template <class Input>
ConvReference referenceDepthwise(const ConvGeometry &g, Input input, const std::vector<float> &w) {
  const int64_t outputs = g.C * g.OH * g.OW;
  ConvReference r{std::vector<double>(outputs), std::vector<double>(outputs)};
  for (int64_t ch = 0; ch < g.C; ++ch)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        double s = 0, a = 0;
        for (int64_t kh = 0; kh < g.KH; ++kh)
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            int64_t ih = oh * g.SH + kh * g.DH - g.top, iw = ow * g.SW + kw * g.DW - g.left;
            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W)
              continue;
            double wk = w[size_t((ch * g.KH + kh) * g.KW + kw)];
            auto [value, magnitude] = input(ch, ih, iw);
            s += wk * value;
            a += std::fabs(wk) * magnitude;
          }
        r.y[size_t((ch * g.OH + oh) * g.OW + ow)] = s;
        r.absSum[size_t((ch * g.OH + oh) * g.OW + ow)] = a;
      }
  return r;
}

} // namespace seqk_test
