// Golden tests of the IR printer, before and after the pass pipeline.
#include "ir/Printer.h"
#include "ir_test_builder.h"
#include "passes/Passes.h"

namespace seq::ir::testing {
namespace {

// conv -> bn -> relu -> flatten -> dropout -> linear, as AstToIr lowers it.
TestGraph smallNet(SourceManager &sources) {
  FileId file = sources.addFile("net.seq", "model Net:\n  conv1 = Conv2d(3, 4, 3, padding=1)\n");
  TestGraph t;
  int x = t.input({3, 4, 4});
  int c = t.conv(x, 4, 3, 1, 1, true, 1, "conv1");
  t.g.nodes.back().loc = {file, 13, 18};
  int h = t.relu(t.batchNorm(c, true, "bn1"));
  t.output(t.linear(t.identity(t.reshape(h, {64})), 2, true, "fc"));
  return t;
}

TEST(IrPrinter, LoweredGraph) {
  SourceManager sources;
  TestGraph t = smallNet(sources);
  EXPECT_EQ(print(t.g), R"(graph @Test (prefix 'test', batch N) {
  param $0 'conv1.weight' [4, 3, 3, 3]
  param $1 'conv1.bias' [4]
  param $2 'bn1.weight' [4]
  param $3 'bn1.bias' [4]
  param $4 'bn1.running_mean' [4]
  param $5 'bn1.running_var' [4]
  param $6 'fc.weight' [2, 64]
  param $7 'fc.bias' [2]
  packed #0 'conv1.weight' 108 floats
  packed #1 'conv1.bias' 4 floats
  packed #2 'fc.weight' 128 floats
  packed #3 'fc.bias' 2 floats
  pack #0 = copy($0) {rows=4, cols=27}
  pack #1 = copy($1) {rows=4, cols=1}
  pack #2 = copy($6) {rows=2, cols=64, transpose}
  pack #3 = copy($7) {rows=2, cols=1}
  input %0 'x' : [N, 3, 4, 4]
  %1 = conv2d(%0) {kernel=[3,3], stride=[1,1], pad=[1,1,1,1], groups=1} weight=#0 bias=#1 : [N, 4, 4, 4]  // conv1
  %2 = batch_norm(%1) {eps=0.001} gamma=$2 beta=$3 mean=$4 var=$5 : [N, 4, 4, 4]  // bn1
  %3 = relu(%2) : [N, 4, 4, 4]  // relu
  %4 = reshape(%3) : [N, 64]  // flatten
  %5 = identity(%4) : [N, 64]  // dropout
  %6 = linear(%5) weight=#2 bias=#3 : [N, 2]  // fc
  return %6
}
)");
}

TEST(IrPrinter, OptimisedGraphWithLocations) {
  SourceManager sources;
  TestGraph t = smallNet(sources);
  passes::runPipeline(t.g);
  EXPECT_EQ(print(t.g, &sources), R"(graph @Test (prefix 'test', batch N) {
  param $0 'conv1.weight' [4, 3, 3, 3]
  param $1 'conv1.bias' [4]
  param $2 'bn1.weight' [4]
  param $3 'bn1.bias' [4]
  param $4 'bn1.running_mean' [4]
  param $5 'bn1.running_var' [4]
  param $6 'fc.weight' [2, 64]
  param $7 'fc.bias' [2]
  packed #0 'conv1.weight (folded)' 108 floats at 0
  packed #1 'conv1.bias (folded)' 4 floats at 112
  packed #2 'fc.weight' 128 floats at 128
  packed #3 'fc.bias' 2 floats at 256
  pack #0, #1 = fold_batch_norm($0, $1, $2, $3, $4, $5) {rows=4, cols=27, eps=0.001}
  pack #2 = copy($6) {rows=2, cols=64, transpose}
  pack #3 = copy($7) {rows=2, cols=1}
  packed size 272 floats
  input %0 'x' : [N, 3, 4, 4]
  %1 = conv2d(%0) {kernel=[3,3], stride=[1,1], pad=[1,1,1,1], groups=1} weight=#0 bias=#1 epilogue=[bias(#1), relu] : [N, 4, 4, 4]  // conv1 @ net.seq:2:3
  %2 = reshape(%1) : [N, 64]  // flatten
  %3 = linear(%2) weight=#2 bias=#3 epilogue=[bias(#3)] : [N, 2]  // fc
  return %3
  workspace 704 bytes + 256 bytes per batch item, image by image: a slot of 960 bytes per image
    %1 at 0 of the per-batch region, 256 bytes, nodes 0..2
    scratch(node 0) at 0, 704 bytes, nodes 0..0
}
)");
}

TEST(IrPrinter, EpilogueOps) {
  EpilogueOp op{EpilogueOp::Kind::Unary};
  op.unary = UnaryKind::LeakyRelu;
  op.alpha = 0.125f;
  EXPECT_EQ(print(op), "leaky_relu(0.125)");
  op.unary = UnaryKind::Gelu;
  op.alpha = 1; // approximate='tanh', the second choice
  EXPECT_EQ(print(op), "gelu(tanh)");
  op.unary = UnaryKind::Softplus;
  op.alpha = 2;
  op.beta = 20;
  EXPECT_EQ(print(op), "softplus(2, 20)");
  op = EpilogueOp{EpilogueOp::Kind::Scalar};
  op.scalarOp = BinaryKind::Sub;
  op.scalar = 2;
  op.reversed = true;
  EXPECT_EQ(print(op), "sub(2, x)");
  op = EpilogueOp{EpilogueOp::Kind::MulTensor};
  op.tensor = 3;
  EXPECT_EQ(print(op), "mul(%3)");
  op = EpilogueOp{EpilogueOp::Kind::ChannelAffine};
  op.packed = 4;
  op.packed2 = 5;
  EXPECT_EQ(print(op), "affine(#4, #5)");
}

TEST(IrPrinter, OutputBufferOwnedByAnotherValueIsNamed) {
  TestGraph t;
  t.output(t.reshape(t.conv(t.input({2, 3, 3}), 4, 1), {36}));
  passes::runPipeline(t.g);
  EXPECT_NE(print(t.g).find("  return %2 (output buffer: %1)\n"), std::string::npos) << print(t.g);
}

} // namespace
} // namespace seq::ir::testing
