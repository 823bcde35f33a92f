// Code generator, JIT path: pools, Pad, Softmax, LayerNorm, Binary with
// broadcasting, Concat, Map chains, against naive references.
#include "codegen_test_support.h"

namespace codegen_test {
namespace {

using Inputs = std::vector<std::vector<float>>;

// ---- Pools -------------------------------------------------------------------

struct PoolCase {
  ir::OpKind kind;
  int64_t C, H, W, K, S, P;
  bool ceil = false, includePad = true;
  int64_t D = 1;
};

void checkPool(const std::string &name, const PoolCase &c) {
  TestModel m(name);
  int x = m.input("x", {kBatch, c.C, c.H, c.W});
  ir::Node node = makeNode(c.kind, {x});
  node.attrs.kernel[0] = node.attrs.kernel[1] = c.K;
  node.attrs.stride[0] = node.attrs.stride[1] = c.S;
  std::fill(node.attrs.pad, node.attrs.pad + 4, c.P);
  node.attrs.dilation[0] = node.attrs.dilation[1] = c.D;
  node.attrs.ceilMode = c.ceil;
  node.attrs.countIncludePad = c.includePad;
  int64_t OH = poolOut(c.H, c.K, c.S, c.P, c.D, c.ceil), OW = poolOut(c.W, c.K, c.S, c.P, c.D, c.ceil);
  m.finish(m.add(node, {kBatch, c.C, OH, OW}));
  checkModel(m, [&](const Inputs &in, int64_t batch) {
    if (c.kind == ir::OpKind::MaxPool2d)
      return refMaxPool(in[0], batch * c.C, c.H, c.W, c.K, c.S, c.P, c.D, OH, OW);
    return refAvgPool(in[0], batch * c.C, c.H, c.W, c.K, c.S, c.P, c.includePad, OH, OW);
  }, name);
}

TEST(CodegenOps, MaxPool) { checkPool("maxpool", {ir::OpKind::MaxPool2d, 4, 8, 8, 2, 2, 0}); }

// H = 10, k 3, s 2, p 1: floor mode gives 5 rows, ceil mode 6.
TEST(CodegenOps, MaxPoolCeilModePadded) {
  EXPECT_EQ(poolOut(10, 3, 2, 1, 1, true), 6);
  checkPool("maxpool_ceil", {ir::OpKind::MaxPool2d, 3, 10, 11, 3, 2, 1, true});
}

TEST(CodegenOps, MaxPoolDilated) {
  checkPool("maxpool_dilated", {ir::OpKind::MaxPool2d, 2, 9, 9, 3, 1, 1, false, true, 2});
}

TEST(CodegenOps, AvgPoolCeilModeIncludePad) {
  checkPool("avgpool_ceil", {ir::OpKind::AvgPool2d, 3, 10, 9, 3, 2, 1, true, true});
}

TEST(CodegenOps, AvgPoolCeilModeExcludePad) {
  checkPool("avgpool_nopad", {ir::OpKind::AvgPool2d, 3, 10, 9, 3, 2, 1, true, false});
}

TEST(CodegenOps, AdaptiveAvgPool) {
  TestModel m("adaptive");
  int x = m.input("x", {kBatch, 4, 10, 7});
  m.finish(m.add(makeNode(ir::OpKind::AdaptiveAvgPool2d, {x}), {kBatch, 4, 3, 2}));
  checkModel(m, [&](const Inputs &in, int64_t batch) { return refAdaptiveAvgPool(in[0], batch * 4, 10, 7, 3, 2); },
             "adaptive avgpool");
}

// ---- Softmax, LayerNorm ------------------------------------------------------

class CodegenSoftmax : public ::testing::TestWithParam<std::tuple<int, bool>> {};

// Over every dim of [N, 3, 4, 5], the batch dim included.
TEST_P(CodegenSoftmax, OverDim) {
  auto [dim, log] = GetParam();
  TestModel m("softmax");
  int x = m.input("x", {kBatch, 3, 4, 5});
  ir::Node node = makeNode(ir::OpKind::Softmax, {x});
  node.attrs.dim = dim;
  node.attrs.log = log;
  m.finish(m.add(node, {kBatch, 3, 4, 5}));
  checkModel(m, [&](const Inputs &in, int64_t batch) {
    std::vector<int64_t> dims = {batch, 3, 4, 5};
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < dim; ++i)
      outer *= dims[size_t(i)];
    for (int i = dim + 1; i < 4; ++i)
      inner *= dims[size_t(i)];
    return refSoftmax(in[0], outer, dims[size_t(dim)], inner, log);
  }, "softmax over dim " + std::to_string(dim));
}

INSTANTIATE_TEST_SUITE_P(Dims, CodegenSoftmax,
                         ::testing::Combine(::testing::Values(0, 1, 2, 3), ::testing::Bool()));

TEST(CodegenOps, LayerNormAffine) {
  TestModel m("layernorm");
  int x = m.input("x", {kBatch, 6, 32});
  ir::Node node = makeNode(ir::OpKind::LayerNorm, {x});
  node.attrs.normSize = 32;
  node.attrs.weight = m.weight("ln.weight", 32);
  node.attrs.bias = m.weight("ln.bias", 32);
  node.attrs.eps = 1e-5f;
  m.finish(m.add(node, {kBatch, 6, 32}));
  checkModel(m, [&](const Inputs &in, int64_t) {
    return refLayerNorm(in[0], 32, m.weightData(node.attrs.weight), m.weightData(node.attrs.bias), 1e-5f);
  }, "layernorm");
}

// Over the last two dims, no gamma or beta.
TEST(CodegenOps, LayerNormPlain) {
  TestModel m("layernorm_plain");
  int x = m.input("x", {kBatch, 3, 4, 8});
  ir::Node node = makeNode(ir::OpKind::LayerNorm, {x});
  node.attrs.normSize = 32;
  node.attrs.eps = 1e-3f;
  m.finish(m.add(node, {kBatch, 3, 4, 8}));
  checkModel(m, [&](const Inputs &in, int64_t) { return refLayerNorm(in[0], 32, nullptr, nullptr, 1e-3f); },
             "layernorm plain");
}

// ---- Binary ---------------------------------------------------------------------

// Broadcasts `a` and `b` (right-aligned) to `out`, for the reference.
std::vector<float> refBinary(const std::vector<float> &a, std::vector<int64_t> ad, const std::vector<float> &b,
                             std::vector<int64_t> bd, std::vector<int64_t> od, ir::BinaryKind op) {
  auto index = [&](const std::vector<int64_t> &dims, const std::vector<int64_t> &at) {
    int64_t flat = 0;
    size_t offset = od.size() - dims.size();
    for (size_t i = 0; i < dims.size(); ++i)
      flat = flat * dims[i] + (dims[i] == 1 ? 0 : at[i + offset]);
    return size_t(flat);
  };
  int64_t total = 1;
  for (int64_t d : od)
    total *= d;
  std::vector<float> y(static_cast<size_t>(total));
  std::vector<int64_t> at(od.size(), 0);
  for (int64_t i = 0; i < total; ++i) {
    int64_t rest = i;
    for (size_t k = od.size(); k-- > 0;) {
      at[k] = rest % od[k];
      rest /= od[k];
    }
    float x = a[index(ad, at)], z = b[index(bd, at)];
    switch (op) {
    case ir::BinaryKind::Add: y[size_t(i)] = x + z; break;
    case ir::BinaryKind::Sub: y[size_t(i)] = x - z; break;
    case ir::BinaryKind::Mul: y[size_t(i)] = x * z; break;
    case ir::BinaryKind::Div: y[size_t(i)] = x / z; break;
    }
  }
  return y;
}

void checkBinary(const std::string &name, std::vector<int64_t> ad, std::vector<int64_t> bd, std::vector<int64_t> od,
                 ir::BinaryKind op) {
  TestModel m(name);
  auto batched = [](std::vector<int64_t> d) {
    d.insert(d.begin(), kBatch);
    return d;
  };
  int a = m.input("a", batched(ad)), b = m.input("b", batched(bd));
  ir::Node node = makeNode(ir::OpKind::Binary, {a, b});
  node.attrs.binary = op;
  m.finish(m.add(node, batched(od)));
  checkModel(m, [&](const Inputs &in, int64_t batch) {
    auto withBatch = [&](std::vector<int64_t> d) {
      d.insert(d.begin(), batch);
      return d;
    };
    return refBinary(in[0], withBatch(ad), in[1], withBatch(bd), withBatch(od), op);
  }, name);
}

TEST(CodegenOps, BinaryBroadcastChannels) {
  checkBinary("mul_channels", {6, 1, 1}, {6, 5, 7}, {6, 5, 7}, ir::BinaryKind::Mul);
}

TEST(CodegenOps, BinaryBroadcastBothSides) {
  checkBinary("sub_both", {1, 5, 7}, {6, 1, 7}, {6, 5, 7}, ir::BinaryKind::Sub);
}

TEST(CodegenOps, BinaryBroadcastLastDim) {
  checkBinary("div_last", {4, 9}, {4, 1}, {4, 9}, ir::BinaryKind::Div);
}

TEST(CodegenOps, BinarySameShape) { checkBinary("add_same", {3, 4, 5}, {3, 4, 5}, {3, 4, 5}, ir::BinaryKind::Add); }

// ---- Concat, Pad -------------------------------------------------------------

void checkConcat(const std::string &name, int64_t dim) {
  TestModel m(name);
  std::vector<int64_t> a = {kBatch, 3, 4, 5}, b = a, out = a;
  b[size_t(dim)] = 2;
  out[size_t(dim)] = a[size_t(dim)] + b[size_t(dim)];
  int x = m.input("a", a), y = m.input("b", b);
  ir::Node node = makeNode(ir::OpKind::Concat, {x, y});
  node.attrs.dim = dim;
  m.finish(m.add(node, out));
  checkModel(m, [&](const Inputs &in, int64_t batch) {
    int64_t inner = 1, outer = batch;
    for (size_t i = size_t(dim) + 1; i < 4; ++i)
      inner *= a[i];
    for (size_t i = 1; i < size_t(dim); ++i)
      outer *= a[i];
    std::vector<float> result;
    for (int64_t o = 0; o < outer; ++o) {
      int64_t ra = a[size_t(dim)] * inner, rb = b[size_t(dim)] * inner;
      result.insert(result.end(), in[0].begin() + o * ra, in[0].begin() + (o + 1) * ra);
      result.insert(result.end(), in[1].begin() + o * rb, in[1].begin() + (o + 1) * rb);
    }
    return result;
  }, name);
}

TEST(CodegenOps, ConcatChannels) { checkConcat("concat1", 1); }
TEST(CodegenOps, ConcatLastDim) { checkConcat("concat3", 3); }

// A concat with an epilogue (a BatchNorm and ReLU merged into it,
// DenseNet's): 10, 3 and 29 channels of side x side joined in another
// order, against x * scale[c] + shift[c], ReLU'd, at batches 1 to 3 on 1
// to 3 threads (rows split mid-batch).
void checkConcatThroughEpilogue(const std::string &name, int64_t side) {
  TestModel m(name);
  const int64_t plane = side * side, parts[3] = {10, 3, 29}, C = 42;
  std::vector<int> in;
  for (int64_t c : parts)
    in.push_back(m.input("x" + std::to_string(in.size()), {kBatch, c, side, side}));
  ir::Node node = makeNode(ir::OpKind::Concat, {in[2], in[0], in[1]});
  node.attrs.dim = 1;
  ir::EpilogueOp affine{ir::EpilogueOp::Kind::ChannelAffine}, relu{ir::EpilogueOp::Kind::Unary};
  affine.packed = m.weight("scale", C);
  affine.packed2 = m.weight("shift", C);
  node.epilogue = {affine, relu};
  m.finish(m.add(node, {kBatch, C, side, side}));
  auto jit = compile(m, 3);
  ASSERT_TRUE(jit);
  for (int64_t batch : {1, 2, 3}) {
    Inputs inputs;
    for (size_t i = 0; i < 3; ++i)
      inputs.push_back(randomVector(size_t(batch * parts[i] * plane), uint32_t(7 + i + 10 * batch), -2, 2));
    std::vector<float> want(size_t(batch * C * plane));
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t c = 0; c < C; ++c) {
        // c, then a and b: channel c of the output is channel k of input i
        size_t i = c < 29 ? 2 : c < 39 ? 0 : 1;
        int64_t k = c < 29 ? c : c < 39 ? c - 29 : c - 39;
        for (int64_t e = 0; e < plane; ++e) {
          float v = inputs[i][size_t((n * parts[i] + k) * plane + e)] * m.weightData(affine.packed)[c] +
                    m.weightData(affine.packed2)[c];
          want[size_t((n * C + c) * plane + e)] = v > 0 ? v : 0;
        }
      }
    for (int threads : {1, 2, 3})
      expectNear(run(*jit, m, inputs, batch, threads), want,
                 name + ", batch " + std::to_string(batch) + ", " + std::to_string(threads) + " threads");
  }
}

// Rows of 4 KB and more (40 x 40: every input's): 8 pieces of 8,400
// floats, most crossing an input's edge and a channel's, each part copied
// through the epilogue a channel's plane at a time, the plane's channel
// the table's index.
TEST(CodegenOps, ConcatThroughAnEpilogue) { checkConcatThroughEpilogue("concat_epilogue", 40); }
// Shorter rows (6 x 6): copied, then the epilogue on the output's rows.
TEST(CodegenOps, ConcatOfShortRowsThroughAnEpilogue) { checkConcatThroughEpilogue("concat_epilogue_short", 6); }

int64_t padIndex(int64_t i, int64_t n, ir::PadMode mode) {
  switch (mode) {
  case ir::PadMode::Reflect: return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
  case ir::PadMode::Replicate: return std::clamp<int64_t>(i, 0, n - 1);
  case ir::PadMode::Circular: return (i + n) % n;
  case ir::PadMode::Zeros: return i >= 0 && i < n ? i : -1;
  }
  return -1;
}

class CodegenPad : public ::testing::TestWithParam<ir::PadMode> {};

TEST_P(CodegenPad, Mode) {
  ir::PadMode mode = GetParam();
  TestModel m("pad");
  const int64_t C = 3, H = 5, W = 6, pads[4] = {1, 2, 3, 1}; // top, left, bottom, right
  const int64_t OH = H + pads[0] + pads[2], OW = W + pads[1] + pads[3];
  int x = m.input("x", {kBatch, C, H, W});
  ir::Node node = makeNode(ir::OpKind::Pad, {x});
  std::copy(pads, pads + 4, node.attrs.pad);
  node.attrs.padMode = mode;
  m.finish(m.add(node, {kBatch, C, OH, OW}));
  checkModel(m, [&](const Inputs &in, int64_t batch) {
    std::vector<float> y;
    for (int64_t p = 0; p < batch * C; ++p)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t ih = padIndex(oh - pads[0], H, mode), iw = padIndex(ow - pads[1], W, mode);
          y.push_back(ih < 0 || iw < 0 ? 0.0f : in[0][size_t((p * H + ih) * W + iw)]);
        }
    return y;
  }, "pad");
}

INSTANTIATE_TEST_SUITE_P(Modes, CodegenPad,
                         ::testing::Values(ir::PadMode::Zeros, ir::PadMode::Reflect, ir::PadMode::Replicate,
                                           ir::PadMode::Circular));

// ---- Map ------------------------------------------------------------------------

ir::EpilogueOp op(ir::EpilogueOp::Kind kind) { return ir::EpilogueOp{kind}; }

// A chain over an NCHW tensor: per-channel affine, GELU, scalar ops (one
// reversed), a residual, tanh.
TEST(CodegenOps, MapChainNchw) {
  TestModel m("map_chain");
  int x = m.input("x", {kBatch, 6, 5, 7}), r = m.input("r", {kBatch, 6, 5, 7});
  ir::Node node = makeNode(ir::OpKind::Map, {x});
  auto affine = op(ir::EpilogueOp::Kind::ChannelAffine);
  affine.packed = m.weight("scale", 6);
  affine.packed2 = m.weight("shift", 6);
  auto gelu = op(ir::EpilogueOp::Kind::Unary);
  gelu.unary = ir::UnaryKind::Gelu; // approximate='none' (alpha 0)
  auto times2 = op(ir::EpilogueOp::Kind::Scalar);
  times2.scalarOp = ir::BinaryKind::Mul;
  times2.scalar = 2.0f;
  auto oneMinus = op(ir::EpilogueOp::Kind::Scalar);
  oneMinus.scalarOp = ir::BinaryKind::Sub;
  oneMinus.scalar = 1.0f;
  oneMinus.reversed = true;
  auto residual = op(ir::EpilogueOp::Kind::MulTensor);
  residual.tensor = r;
  auto tanh = op(ir::EpilogueOp::Kind::Unary);
  tanh.unary = ir::UnaryKind::Tanh;
  node.epilogue = {affine, gelu, times2, oneMinus, residual, tanh};
  m.finish(m.add(node, {kBatch, 6, 5, 7}));
  checkModel(m, [&](const Inputs &in, int64_t) {
    std::vector<float> y(in[0].size());
    for (size_t i = 0; i < y.size(); ++i) {
      size_t c = i / 35 % 6;
      double v = in[0][i] * m.weightData(affine.packed)[c] + m.weightData(affine.packed2)[c];
      v = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      v = (1 - 2 * v) * in[1][i];
      y[i] = float(std::tanh(v));
    }
    return y;
  }, "map chain");
}

// A BatchNorm1d-like affine on [N, 40]: the channel is the column.
TEST(CodegenOps, MapAffineOnFeatures) {
  TestModel m("map_features");
  int x = m.input("x", {kBatch, 40});
  ir::Node node = makeNode(ir::OpKind::Map, {x});
  auto affine = op(ir::EpilogueOp::Kind::ChannelAffine);
  affine.packed = m.weight("scale", 40);
  affine.packed2 = m.weight("shift", 40);
  node.epilogue = {affine};
  m.finish(m.add(node, {kBatch, 40}));
  checkModel(m, [&](const Inputs &in, int64_t) {
    std::vector<float> y(in[0].size());
    for (size_t i = 0; i < y.size(); ++i)
      y[i] = in[0][i] * m.weightData(affine.packed)[i % 40] + m.weightData(affine.packed2)[i % 40];
    return y;
  }, "map affine on features");
}

// Unfused Unary and Scalar nodes, each run as a Map: LeakyReLU, then
// 3 / x, then SiLU, ELU, Hardswish, ReLU6 over a large tensor split in rows.
TEST(CodegenOps, UnaryAndScalarNodes) {
  TestModel m("unary_nodes");
  int v = m.input("x", {kBatch, 4, 64, 80});
  auto unary = [&](ir::UnaryKind kind, float alpha) {
    ir::Node node = makeNode(ir::OpKind::Unary, {v});
    node.attrs.unary = kind;
    node.attrs.alpha = alpha;
    v = m.add(node, {kBatch, 4, 64, 80});
  };
  unary(ir::UnaryKind::LeakyRelu, 0.1f);
  ir::Node div = makeNode(ir::OpKind::Scalar, {v});
  div.attrs.binary = ir::BinaryKind::Div;
  div.attrs.scalar = 3.0f;
  div.attrs.reversed = true;
  v = m.add(div, {kBatch, 4, 64, 80});
  unary(ir::UnaryKind::Silu, 0);
  unary(ir::UnaryKind::Elu, 0.7f);
  unary(ir::UnaryKind::Hardswish, 0);
  unary(ir::UnaryKind::Relu6, 0);
  m.finish(v);
  checkModel(m, [&](const Inputs &in, int64_t) {
    std::vector<float> y(in[0].size());
    for (size_t i = 0; i < y.size(); ++i) {
      double t = in[0][i];
      t = t < 0 ? 0.1 * t : t;
      t = 3.0 / t;
      t = t / (1 + std::exp(-t));
      t = t < 0 ? 0.7 * (std::exp(t) - 1) : t;
      t = t * std::clamp(t + 3, 0.0, 6.0) / 6;
      y[i] = float(std::clamp(t, 0.0, 6.0));
    }
    return y;
  }, "unary and scalar nodes");
}

// ReLU propagates NaN, as PyTorch's does.
TEST(CodegenOps, ReluPropagatesNan) {
  TestModel m("relu_nan");
  int x = m.input("x", {kBatch, 3});
  ir::Node node = makeNode(ir::OpKind::Unary, {x});
  node.attrs.unary = ir::UnaryKind::Relu;
  m.finish(m.add(node, {kBatch, 3}));
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  std::vector<float> y = run(*jit, m, {{NAN, -1.0f, 2.0f}}, 1);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 2.0f);
}

} // namespace
} // namespace codegen_test
