// Code generator, JIT path: Linear and Conv2d (GEMM, im2col, pointwise,
// depthwise) with their epilogues, against naive references.
#include "codegen_test_support.h"

namespace codegen_test {
namespace {

ir::EpilogueOp unaryOp(ir::UnaryKind kind, float alpha = 0) {
  ir::EpilogueOp op{ir::EpilogueOp::Kind::Unary};
  op.unary = kind;
  op.alpha = alpha;
  return op;
}

ir::EpilogueOp biasOp(int packed) {
  ir::EpilogueOp op{ir::EpilogueOp::Kind::Bias};
  op.packed = packed;
  return op;
}

ir::EpilogueOp affineOp(int scale, int shift) {
  ir::EpilogueOp op{ir::EpilogueOp::Kind::ChannelAffine};
  op.packed = scale;
  op.packed2 = shift;
  return op;
}

ir::EpilogueOp tensorOp(ir::EpilogueOp::Kind kind, int value) {
  ir::EpilogueOp op{kind};
  op.tensor = value;
  return op;
}

// Linear + bias + ReLU, N = 600 columns: three column tiles.
TEST(CodegenGemm, LinearBiasRelu) {
  TestModel m("linear");
  const int64_t K = 37, N = 600;
  int x = m.input("x", {kBatch, K});
  ir::Node node = makeNode(ir::OpKind::Linear, {x});
  node.attrs.weight = m.weight("fc.weight", K * N);
  node.attrs.bias = m.weight("fc.bias", N);
  node.epilogue = {biasOp(node.attrs.bias), unaryOp(ir::UnaryKind::Relu)};
  m.finish(m.add(node, {kBatch, N}));
  checkModel(m, [&](const auto &in, int64_t batch) {
    auto y = refLinear(in[0], batch, K, N, m.weightData(node.attrs.weight), m.weightData(node.attrs.bias));
    for (float &v : y)
      v = refRelu(v);
    return y;
  }, "linear");
}

// Row tiles sized at run time: a few rows (one tile), 19 and 70 rows
// (tiles of 16 rows and a short last one), N = 300 (two column blocks).
TEST(CodegenGemm, LinearRowTilesAtRunTime) {
  TestModel m("linear_rows");
  const int64_t K = 23, N = 300;
  int x = m.input("x", {kBatch, K});
  ir::Node node = makeNode(ir::OpKind::Linear, {x});
  node.attrs.weight = m.weight("fc.weight", K * N);
  node.attrs.bias = m.weight("fc.bias", N);
  node.epilogue = {biasOp(node.attrs.bias)};
  m.finish(m.add(node, {kBatch, N}));
  checkModel(m, [&](const auto &in, int64_t batch) {
    return refLinear(in[0], batch, K, N, m.weightData(node.attrs.weight), m.weightData(node.attrs.bias));
  }, "linear rows", {1, 3, 19, 70});
}

// A Linear over the last dim of a rank-3 tensor (150 rows at batch 3: two
// row tiles); the bias not seeded into the epilogue (a graph that skipped
// FuseElementwise) is still applied.
TEST(CodegenGemm, LinearRank3UnseededBias) {
  TestModel m("linear3");
  int x = m.input("x", {kBatch, 50, 24});
  ir::Node node = makeNode(ir::OpKind::Linear, {x});
  node.attrs.weight = m.weight("w", 24 * 16);
  node.attrs.bias = m.weight("b", 16);
  m.finish(m.add(node, {kBatch, 50, 16}));
  checkModel(m, [&](const auto &in, int64_t batch) {
    return refLinear(in[0], batch * 50, 24, 16, m.weightData(node.attrs.weight), m.weightData(node.attrs.bias));
  }, "linear rank 3");
}

struct ConvCase {
  ConvParams p;
  bool affine = false, residual = false;
  ir::UnaryKind act = ir::UnaryKind::Relu;
  std::vector<int64_t> batches = {1, 3};
};

void checkConv(const std::string &name, const ConvCase &c) {
  TestModel m(name);
  const ConvParams &p = c.p;
  int x = m.input("x", {kBatch, p.C, p.H, p.W});
  int r = c.residual ? m.input("r", {kBatch, p.OC, p.OH(), p.OW()}) : -1;
  ir::Node node = makeNode(ir::OpKind::Conv2d, {x});
  node.attrs.kernel[0] = p.KH;
  node.attrs.kernel[1] = p.KW;
  node.attrs.stride[0] = p.SH;
  node.attrs.stride[1] = p.SW;
  int64_t pads[4] = {p.PT, p.PL, p.PB, p.PR};
  std::copy(pads, pads + 4, node.attrs.pad);
  node.attrs.dilation[0] = p.DH;
  node.attrs.dilation[1] = p.DW;
  node.attrs.groups = p.G;
  node.attrs.weight = m.weight("w", p.OC * p.C / p.G * p.KH * p.KW);
  node.attrs.bias = m.weight("b", p.OC);
  int scale = -1, shift = -1;
  node.epilogue = {biasOp(node.attrs.bias)};
  if (c.affine) {
    scale = m.weight("scale", p.OC, 0.5f, 1.5f);
    shift = m.weight("shift", p.OC);
    node.epilogue.push_back(affineOp(scale, shift));
  }
  if (c.residual)
    node.epilogue.push_back(tensorOp(ir::EpilogueOp::Kind::AddTensor, r));
  node.epilogue.push_back(unaryOp(c.act));
  m.finish(m.add(node, {kBatch, p.OC, p.OH(), p.OW()}));

  checkModel(m, [&](const auto &in, int64_t batch) {
    auto y = refConv(in[0], batch, p, m.weightData(node.attrs.weight), m.weightData(node.attrs.bias));
    int64_t plane = p.OH() * p.OW();
    for (size_t i = 0; i < y.size(); ++i) {
      int64_t channel = int64_t(i) / plane % p.OC;
      float v = y[i];
      if (c.affine)
        v = v * m.weightData(scale)[channel] + m.weightData(shift)[channel];
      if (c.residual)
        v += in[1][i];
      y[i] = c.act == ir::UnaryKind::Relu ? refRelu(v) : refSigmoid(v);
    }
    return y;
  }, name, c.batches);
}

TEST(CodegenGemm, ConvGroupsStridePadAffineResidual) {
  ConvCase c;
  c.p = {.C = 6, .H = 11, .W = 9, .OC = 8, .KH = 3, .KW = 3, .SH = 2, .SW = 2, .PT = 1, .PL = 1, .PB = 1, .PR = 1,
         .G = 2};
  c.affine = c.residual = true;
  checkConv("conv_groups", c);
}

// Asymmetric padding (bottom/right larger), dilation, a rectangular kernel.
TEST(CodegenGemm, ConvAsymmetricPadDilation) {
  ConvCase c;
  c.p = {.C = 3, .H = 10, .W = 12, .OC = 5, .KH = 3, .KW = 2, .SH = 1, .SW = 2, .PT = 0, .PL = 1, .PB = 2, .PR = 1,
         .DH = 2, .DW = 1};
  checkConv("conv_dilated", c);
}

// A narrow plane (im2col into scratch, then seqk_gemm): several images run
// as slot tasks, each image run in its own buffer; 11 images over 8
// slots, so the runs are uneven; groups, affine and residual epilogues.
TEST(CodegenGemm, ConvIm2colSlots) {
  ConvCase c;
  c.p = {.C = 4, .H = 9, .W = 7, .OC = 6, .KH = 3, .KW = 3, .PT = 1, .PL = 1, .PB = 1, .PR = 1, .G = 2};
  c.affine = c.residual = true;
  c.batches = {1, 2, 11};
  checkConv("conv_slots", c);
}

// A stride-1 grouped convolution with asymmetric padding (a padded copy,
// then seqk_conv2d_direct): image by image at batches 1 and 3, as slot
// tasks at 4 and 13 images (uneven runs over 8 slots).
TEST(CodegenGemm, ConvDirectSlots) {
  ConvCase c;
  c.p = {.C = 6, .H = 9, .W = 10, .OC = 4, .KH = 3, .KW = 2, .PT = 2, .PL = 0, .PB = 1, .PR = 1, .G = 2};
  c.affine = c.residual = true;
  c.batches = {1, 3, 4, 13};
  checkConv("conv_direct_slots", c);
}

// More output channels than one tile of rows and more positions than one
// tile of columns.
TEST(CodegenGemm, ConvManyTiles) {
  ConvCase c;
  c.p = {.C = 8, .H = 20, .W = 20, .OC = 160, .KH = 3, .KW = 3, .PT = 1, .PL = 1, .PB = 1, .PR = 1};
  c.residual = true;
  c.batches = {1, 5}; // 5 images: slot tasks (codegen's genConvSlots)
  checkConv("conv_tiles", c);
}

TEST(CodegenGemm, ConvPointwise) {
  ConvCase c;
  c.p = {.C = 16, .H = 7, .W = 7, .OC = 24, .KH = 1, .KW = 1};
  c.affine = true;
  checkConv("conv_pointwise", c);
}

TEST(CodegenGemm, ConvPointwiseGrouped) {
  ConvCase c;
  c.p = {.C = 12, .H = 5, .W = 6, .OC = 8, .KH = 1, .KW = 1, .G = 4};
  checkConv("conv_pointwise_groups", c);
}

TEST(CodegenGemm, ConvDepthwise) {
  ConvCase c;
  c.p = {.C = 5, .H = 10, .W = 10, .OC = 5, .KH = 3, .KW = 3, .PT = 1, .PL = 1, .PB = 1, .PR = 1, .DH = 2, .DW = 2,
         .G = 5};
  c.affine = c.residual = true;
  c.act = ir::UnaryKind::Sigmoid;
  c.batches = {1, 3, 6}; // 6 images: slot tasks
  checkConv("conv_depthwise", c);
}

TEST(CodegenGemm, ConvDepthwiseStrided) {
  ConvCase c;
  c.p = {.C = 7, .H = 9, .W = 8, .OC = 7, .KH = 5, .KW = 3, .SH = 2, .SW = 2, .PT = 2, .PL = 1, .PB = 2, .PR = 1,
         .G = 7};
  checkConv("conv_depthwise_strided", c);
}

// Conv -> Linear -> Softmax-free chain through the workspace: values
// between nodes live at their planned offsets.
TEST(CodegenGemm, ConvThenLinear) {
  TestModel m("conv_linear");
  ConvParams p{.C = 2, .H = 6, .W = 6, .OC = 4, .KH = 3, .KW = 3, .PT = 1, .PL = 1, .PB = 1, .PR = 1};
  int x = m.input("x", {kBatch, 2, 6, 6});
  ir::Node conv = makeNode(ir::OpKind::Conv2d, {x});
  conv.attrs.kernel[0] = conv.attrs.kernel[1] = 3;
  std::fill(conv.attrs.pad, conv.attrs.pad + 4, 1);
  conv.attrs.weight = m.weight("conv.w", 4 * 2 * 9);
  int h = m.add(conv, {kBatch, 4, 6, 6});
  ir::Node flat = makeNode(ir::OpKind::Reshape, {h});
  int f = m.add(flat, {kBatch, 144});
  m.g.value(f).storage = ir::Storage::Alias;
  m.g.value(f).aliasOf = h;
  ir::Node fc = makeNode(ir::OpKind::Linear, {f});
  fc.attrs.weight = m.weight("fc.w", 144 * 10);
  m.finish(m.add(fc, {kBatch, 10}));
  checkModel(m, [&](const auto &in, int64_t batch) {
    auto hidden = refConv(in[0], batch, p, m.weightData(conv.attrs.weight), nullptr);
    return refLinear(hidden, batch, 144, 10, m.weightData(fc.attrs.weight), nullptr);
  }, "conv then linear");
}

} // namespace
} // namespace codegen_test
