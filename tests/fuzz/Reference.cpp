// Reference: the generated models' layers evaluated naively in double
// precision, as PyTorch 1.13 defines them in eval mode (NCHW, row-major).
#include "ModelGen.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace seq::fuzz {

namespace {

using Tensor = std::vector<double>;
using Params = std::map<std::string, std::vector<float>>;

const std::vector<float> &param(const Params &params, const std::string &name) {
  static const std::vector<float> none;
  auto it = params.find(name);
  return it == params.end() ? none : it->second;
}

double activate(const GenLayer &l, double x) {
  const std::string &a = l.act;
  if (a == "relu") return x < 0 ? 0 : x;
  if (a == "relu6") return std::min(std::max(x, 0.0), 6.0);
  if (a == "leaky") return x < 0 ? l.alpha * x : x;
  if (a == "sigmoid") return 1 / (1 + std::exp(-x));
  if (a == "tanh") return std::tanh(x);
  if (a == "gelu") return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  if (a == "gelu_tanh") return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  if (a == "silu") return x / (1 + std::exp(-x));
  if (a == "hardswish") return x * std::min(std::max(x + 3, 0.0), 6.0) / 6;
  return x > 0 ? x : l.alpha * (std::exp(x) - 1); // elu
}

Tensor conv(const GenLayer &l, const Tensor &x, int64_t n, std::vector<int64_t> &shape, const Params &ps,
            const std::string &p) {
  int64_t C = shape[0], H = shape[1], W = shape[2];
  int64_t OH = pooledSize(H, l.kh, l.stride, l.pad, l.dilation, false);
  int64_t OW = pooledSize(W, l.kw, l.stride, l.pad, l.dilation, false);
  const std::vector<float> &w = param(ps, p + "weight"), &bias = param(ps, p + "bias");
  int64_t cin = C / l.groups, cout = l.out / l.groups;
  Tensor y(size_t(n * l.out * OH * OW));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < l.out; ++o)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double sum = l.bias ? bias[size_t(o)] : 0.0;
          int64_t g = o / cout;
          for (int64_t c = 0; c < cin; ++c)
            for (int64_t ky = 0; ky < l.kh; ++ky)
              for (int64_t kx = 0; kx < l.kw; ++kx) {
                int64_t iy = oy * l.stride - l.pad + ky * l.dilation, ix = ox * l.stride - l.pad + kx * l.dilation;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                  continue;
                sum += double(w[size_t(((o * cin + c) * l.kh + ky) * l.kw + kx)]) *
                       x[size_t(((b * C + g * cin + c) * H + iy) * W + ix)];
              }
          y[size_t(((b * l.out + o) * OH + oy) * OW + ox)] = sum;
        }
  shape = {l.out, OH, OW};
  return y;
}

Tensor pool(const GenLayer &l, const Tensor &x, int64_t n, std::vector<int64_t> &shape) {
  int64_t C = shape[0], H = shape[1], W = shape[2];
  int64_t OH = pooledSize(H, l.kh, l.stride, l.pad, l.dilation, l.ceil);
  int64_t OW = pooledSize(W, l.kw, l.stride, l.pad, l.dilation, l.ceil);
  bool isMax = l.kind == GenLayer::Kind::MaxPool;
  Tensor y(size_t(n * C * OH * OW));
  for (int64_t bc = 0; bc < n * C; ++bc)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox) {
        int64_t y0 = oy * l.stride - l.pad, x0 = ox * l.stride - l.pad;
        double value;
        if (isMax) {
          value = -std::numeric_limits<double>::infinity();
          for (int64_t ky = 0; ky < l.kh; ++ky)
            for (int64_t kx = 0; kx < l.kw; ++kx) {
              int64_t iy = y0 + ky * l.dilation, ix = x0 + kx * l.dilation;
              if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                value = std::max(value, x[size_t((bc * H + iy) * W + ix)]);
            }
        } else {
          // PyTorch: the window is clipped to the padded input for the
          // divisor, to the input for the sum.
          int64_t y1 = std::min(y0 + l.kh, H + l.pad), x1 = std::min(x0 + l.kw, W + l.pad);
          int64_t padded = (y1 - y0) * (x1 - x0);
          int64_t ya = std::max<int64_t>(y0, 0), xa = std::max<int64_t>(x0, 0);
          int64_t yb = std::min(y1, H), xb = std::min(x1, W);
          double sum = 0;
          for (int64_t iy = ya; iy < yb; ++iy)
            for (int64_t ix = xa; ix < xb; ++ix)
              sum += x[size_t((bc * H + iy) * W + ix)];
          value = sum / double(l.countIncludePad ? padded : (yb - ya) * (xb - xa));
        }
        y[size_t((bc * OH + oy) * OW + ox)] = value;
      }
  shape = {C, OH, OW};
  return y;
}

Tensor adaptive(const GenLayer &l, const Tensor &x, int64_t n, std::vector<int64_t> &shape) {
  int64_t C = shape[0], H = shape[1], W = shape[2];
  Tensor y(size_t(n * C * l.outH * l.outW));
  for (int64_t bc = 0; bc < n * C; ++bc)
    for (int64_t oy = 0; oy < l.outH; ++oy)
      for (int64_t ox = 0; ox < l.outW; ++ox) {
        int64_t y0 = oy * H / l.outH, y1 = ((oy + 1) * H + l.outH - 1) / l.outH;
        int64_t x0 = ox * W / l.outW, x1 = ((ox + 1) * W + l.outW - 1) / l.outW;
        double sum = 0;
        for (int64_t iy = y0; iy < y1; ++iy)
          for (int64_t ix = x0; ix < x1; ++ix)
            sum += x[size_t((bc * H + iy) * W + ix)];
        y[size_t((bc * l.outH + oy) * l.outW + ox)] = sum / double((y1 - y0) * (x1 - x0));
      }
  shape = {C, l.outH, l.outW};
  return y;
}

Tensor batchNorm(const GenLayer &l, Tensor x, int64_t n, const std::vector<int64_t> &shape, const Params &ps,
                 const std::string &p) {
  int64_t C = shape[0], inner = shape.size() == 3 ? shape[1] * shape[2] : 1;
  const std::vector<float> &w = param(ps, p + "weight"), &b = param(ps, p + "bias");
  const std::vector<float> &mean = param(ps, p + "running_mean"), &var = param(ps, p + "running_var");
  for (int64_t i = 0; i < n * C * inner; ++i) {
    size_t c = size_t((i / inner) % C);
    x[size_t(i)] = (x[size_t(i)] - mean[c]) / std::sqrt(double(var[c]) + 1e-5) * w[c] + b[c];
  }
  return x;
}

Tensor linear(const GenLayer &l, const Tensor &x, int64_t n, std::vector<int64_t> &shape, const Params &ps,
              const std::string &p) {
  const std::vector<float> &w = param(ps, p + "weight"), &bias = param(ps, p + "bias");
  Tensor y(size_t(n * l.out));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < l.out; ++o) {
      double sum = l.bias ? bias[size_t(o)] : 0.0;
      for (int64_t i = 0; i < l.in; ++i)
        sum += double(w[size_t(o * l.in + i)]) * x[size_t(b * l.in + i)];
      y[size_t(b * l.out + o)] = sum;
    }
  shape = {l.out};
  return y;
}

Tensor softmax(const GenLayer &l, Tensor x, int64_t n, int64_t F) {
  for (int64_t b = 0; b < n; ++b) {
    double *row = x.data() + b * F, top = *std::max_element(row, row + F), sum = 0;
    for (int64_t i = 0; i < F; ++i)
      sum += std::exp(row[i] - top);
    for (int64_t i = 0; i < F; ++i)
      row[i] = l.log ? row[i] - top - std::log(sum) : std::exp(row[i] - top) / sum;
  }
  return x;
}

} // namespace

std::vector<double> evaluate(const GenModel &model, const std::vector<float> &input, int64_t n, const Params &ps) {
  Tensor x(input.begin(), input.end());
  std::vector<int64_t> shape = model.input;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const GenLayer &l = model.layers[i];
    std::string p = std::to_string(i) + ".";
    switch (l.kind) {
    case GenLayer::Kind::Conv: x = conv(l, x, n, shape, ps, p); break;
    case GenLayer::Kind::BatchNorm: x = batchNorm(l, std::move(x), n, shape, ps, p); break;
    case GenLayer::Kind::Act:
      for (double &v : x)
        v = activate(l, v);
      break;
    case GenLayer::Kind::MaxPool:
    case GenLayer::Kind::AvgPool: x = pool(l, x, n, shape); break;
    case GenLayer::Kind::Adaptive: x = adaptive(l, x, n, shape); break;
    case GenLayer::Kind::Flatten: shape = {shape[0] * shape[1] * shape[2]}; break;
    case GenLayer::Kind::Linear: x = linear(l, x, n, shape, ps, p); break;
    case GenLayer::Kind::Softmax: x = softmax(l, std::move(x), n, shape[0]); break;
    case GenLayer::Kind::Dropout: break;
    }
  }
  return x;
}

} // namespace seq::fuzz
