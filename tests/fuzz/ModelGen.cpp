// ModelGen: valid random Sequential models (see ModelGen.h). Every layer
// is drawn so that PyTorch 1.13 accepts it on the current shape.
#include "ModelGen.h"

#include <fmt/format.h>

#include <numeric>

namespace seq::fuzz {

int64_t pooledSize(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation, bool ceil) {
  int64_t numerator = in + 2 * pad - dilation * (k - 1) - 1 + (ceil ? stride - 1 : 0);
  int64_t out = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1;
  if (ceil && (out - 1) * stride >= in + pad)
    --out;
  return out;
}

namespace {

const char *kActs[] = {"relu", "relu6", "leaky", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "hardswish", "elu"};

GenLayer activation(ByteSource &b) {
  GenLayer l;
  l.kind = GenLayer::Kind::Act;
  l.act = kActs[b.pick(0, 9)];
  if (l.act == "relu") l.text = "ReLU()";
  else if (l.act == "relu6") l.text = "ReLU6()";
  else if (l.act == "leaky") { l.alpha = 0.125 * double(b.pick(0, 4)); l.text = fmt::format("LeakyReLU({})", l.alpha); }
  else if (l.act == "sigmoid") l.text = "Sigmoid()";
  else if (l.act == "tanh") l.text = "Tanh()";
  else if (l.act == "gelu") l.text = "GELU()";
  else if (l.act == "gelu_tanh") l.text = "GELU(approximate='tanh')";
  else if (l.act == "silu") l.text = "SiLU()";
  else if (l.act == "hardswish") l.text = "Hardswish()";
  else { l.alpha = 0.5 * double(b.pick(1, 3)); l.text = fmt::format("ELU(alpha={})", l.alpha); }
  return l;
}

// A convolution with an output of at least 1x1, or nothing when none fits.
bool convolution(ByteSource &b, std::vector<int64_t> &shape, GenLayer &l) {
  l.kind = GenLayer::Kind::Conv;
  l.in = shape[0];
  l.out = b.pick(1, 6);
  l.kh = b.pick(1, 3);
  l.kw = b.coin() ? l.kh : b.pick(1, 3);
  l.stride = b.pick(1, 2);
  l.dilation = b.pick(1, 2);
  l.pad = b.pick(0, 2);
  l.bias = b.pick(0, 3) != 0;
  if (b.coin()) { // grouped: a common divisor of both channel counts
    int64_t g = std::gcd(l.in, l.out);
    l.groups = g > 1 ? b.pick(1, g) : 1;
    while (l.in % l.groups || l.out % l.groups)
      --l.groups;
  }
  int64_t oh = pooledSize(shape[1], l.kh, l.stride, l.pad, l.dilation, false);
  int64_t ow = pooledSize(shape[2], l.kw, l.stride, l.pad, l.dilation, false);
  if (oh < 1 || ow < 1)
    return false;
  l.text = fmt::format("Conv2d({}, {}, ({}, {}), stride={}, padding={}, dilation={}, groups={}, bias={})", l.in,
                       l.out, l.kh, l.kw, l.stride, l.pad, l.dilation, l.groups, l.bias ? "True" : "False");
  shape = {l.out, oh, ow};
  return true;
}

bool pooling(ByteSource &b, std::vector<int64_t> &shape, GenLayer &l) {
  bool isMax = b.coin();
  l.kind = isMax ? GenLayer::Kind::MaxPool : GenLayer::Kind::AvgPool;
  l.kh = l.kw = b.pick(1, 3);
  l.stride = b.pick(1, 3);
  l.pad = b.pick(0, l.kh / 2); // PyTorch: at most half the kernel
  l.dilation = isMax ? b.pick(1, 2) : 1;
  l.ceil = b.coin();
  l.countIncludePad = b.coin();
  int64_t oh = pooledSize(shape[1], l.kh, l.stride, l.pad, l.dilation, l.ceil);
  int64_t ow = pooledSize(shape[2], l.kw, l.stride, l.pad, l.dilation, l.ceil);
  if (oh < 1 || ow < 1)
    return false;
  l.text = isMax ? fmt::format("MaxPool2d({}, stride={}, padding={}, dilation={}, ceil_mode={})", l.kh, l.stride,
                               l.pad, l.dilation, l.ceil ? "True" : "False")
                 : fmt::format("AvgPool2d({}, stride={}, padding={}, ceil_mode={}, count_include_pad={})", l.kh,
                               l.stride, l.pad, l.ceil ? "True" : "False", l.countIncludePad ? "True" : "False");
  shape = {shape[0], oh, ow};
  return true;
}

bool imageLayer(ByteSource &b, std::vector<int64_t> &shape, GenLayer &l) {
  switch (b.pick(0, 7)) {
  case 0:
  case 1: return convolution(b, shape, l);
  case 2:
    l.kind = GenLayer::Kind::BatchNorm;
    l.in = shape[0];
    l.text = fmt::format("BatchNorm2d({})", l.in);
    return true;
  case 3: l = activation(b); return true;
  case 4: return pooling(b, shape, l);
  case 5:
    l.kind = GenLayer::Kind::Adaptive;
    l.outH = b.pick(1, 3);
    l.outW = b.pick(1, 3);
    l.text = fmt::format("AdaptiveAvgPool2d(({}, {}))", l.outH, l.outW);
    shape = {shape[0], l.outH, l.outW};
    return true;
  case 6:
    l.kind = GenLayer::Kind::Flatten;
    l.text = "Flatten()";
    shape = {shape[0] * shape[1] * shape[2]};
    return true;
  default:
    l.kind = GenLayer::Kind::Dropout;
    l.text = "Dropout2d(0.5)";
    return true;
  }
}

bool flatLayer(ByteSource &b, std::vector<int64_t> &shape, GenLayer &l) {
  switch (b.pick(0, 5)) {
  case 0:
  case 1:
    l.kind = GenLayer::Kind::Linear;
    l.in = shape[0];
    l.out = b.pick(1, 12);
    l.bias = b.pick(0, 3) != 0;
    l.text = fmt::format("Linear({}, {}, bias={})", l.in, l.out, l.bias ? "True" : "False");
    shape = {l.out};
    return true;
  case 2:
    l.kind = GenLayer::Kind::BatchNorm;
    l.in = shape[0];
    l.text = fmt::format("BatchNorm1d({})", l.in);
    return true;
  case 3: l = activation(b); return true;
  case 4:
    l.kind = GenLayer::Kind::Softmax;
    l.log = b.coin();
    l.text = l.log ? "LogSoftmax(dim=1)" : "Softmax(dim=1)";
    return true;
  default:
    l.kind = GenLayer::Kind::Dropout;
    l.text = "Dropout(0.25)";
    return true;
  }
}

} // namespace

GenModel generateModel(ByteSource &b) {
  GenModel m;
  if (b.pick(0, 4) != 0)
    m.input = {b.pick(1, 4), b.pick(1, 9), b.pick(1, 9)};
  else
    m.input = {b.pick(1, 16)};
  std::vector<int64_t> shape = m.input;
  int64_t count = b.pick(1, 6);
  for (int64_t i = 0; i < count; ++i) {
    GenLayer l;
    std::vector<int64_t> next = shape;
    bool ok = shape.size() == 3 ? imageLayer(b, next, l) : flatLayer(b, next, l);
    if (!ok)
      continue;
    shape = next;
    m.layers.push_back(l);
  }
  if (m.layers.empty()) {
    m.layers.push_back(GenLayer{});
    m.layers.back().act = "relu";
    m.layers.back().text = "ReLU()";
  }
  m.output = shape;
  std::string dims;
  for (int64_t d : m.input)
    dims += fmt::format(", {}", d);
  m.text = fmt::format("model Fuzz(x: [N{}]) = Sequential(\n", dims);
  for (const GenLayer &l : m.layers)
    m.text += "    " + l.text + ",\n";
  m.text += ")\n";
  return m;
}

std::vector<GenParam> layerParams(const GenLayer &l, size_t index) {
  std::string p = std::to_string(index) + ".";
  switch (l.kind) {
  case GenLayer::Kind::Conv: {
    std::vector<GenParam> out{{p + "weight", {l.out, l.in / l.groups, l.kh, l.kw}}};
    if (l.bias)
      out.push_back({p + "bias", {l.out}});
    return out;
  }
  case GenLayer::Kind::Linear: {
    std::vector<GenParam> out{{p + "weight", {l.out, l.in}}};
    if (l.bias)
      out.push_back({p + "bias", {l.out}});
    return out;
  }
  case GenLayer::Kind::BatchNorm:
    return {{p + "weight", {l.in}}, {p + "bias", {l.in}}, {p + "running_mean", {l.in}}, {p + "running_var", {l.in}}};
  default: return {};
  }
}

} // namespace seq::fuzz
