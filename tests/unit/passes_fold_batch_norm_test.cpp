// Tests of FoldBatchNorm: when a BatchNorm folds into the weights of the
// layer before it, and what it becomes otherwise.
#include "ir/Verifier.h"
#include "ir_test_builder.h"
#include "passes/Passes.h"

namespace seq::ir::testing {
namespace {

using passes::foldBatchNorm;

TEST(FoldBatchNorm, ConvBnReluBecomesOneConvWithAFoldedStep) {
  TestGraph t;
  int x = t.input({3, 8, 8});
  int c = t.conv(x, 4, 3, 1, 1, /*bias=*/false, 1, "conv1");
  int y = t.relu(t.batchNorm(c, true, "bn1"));
  t.output(y);
  int weightParam = t.g.packSteps[0].src[0];
  int weight = t.g.nodes[0].attrs.weight;

  passes::runPipeline(t.g);

  ASSERT_EQ(t.g.nodes.size(), 1u);
  const Node &conv = t.g.nodes[0];
  EXPECT_EQ(conv.kind, OpKind::Conv2d);
  EXPECT_EQ(conv.attrs.weight, weight);
  ASSERT_GE(conv.attrs.bias, 0);
  EXPECT_EQ(t.g.packed[size_t(conv.attrs.bias)].size, 4);
  ASSERT_EQ(conv.epilogue.size(), 2u);
  EXPECT_EQ(conv.epilogue[0].kind, EpilogueOp::Kind::Bias);
  EXPECT_EQ(conv.epilogue[0].packed, conv.attrs.bias);
  EXPECT_EQ(conv.epilogue[1].kind, EpilogueOp::Kind::Unary);
  EXPECT_EQ(conv.epilogue[1].unary, UnaryKind::Relu);

  ASSERT_EQ(t.g.packSteps.size(), 1u);
  const PackStep &step = t.g.packSteps[0];
  EXPECT_EQ(step.op, PackOp::FoldBatchNorm);
  EXPECT_EQ(step.src[0], weightParam);
  EXPECT_EQ(step.src[1], -1);
  for (int k = 2; k < 6; ++k) // gamma, beta, mean, var: the params after the weight
    EXPECT_EQ(step.src[k], weightParam + k - 1);
  EXPECT_EQ(step.out, weight);
  EXPECT_EQ(step.out2, conv.attrs.bias);
  EXPECT_EQ(step.rows, 4);
  EXPECT_EQ(step.cols, 27);
  EXPECT_FALSE(step.transpose);
  EXPECT_FLOAT_EQ(step.eps, 1e-3f);
  EXPECT_EQ(t.g.params.size(), 5u); // the BatchNorm's params are still read
  EXPECT_VALID(t.g);
}

TEST(FoldBatchNorm, ConvBiasBecomesTheFoldedBiasAndItsCopyGoes) {
  TestGraph t;
  int x = t.input({3, 8, 8});
  int c = t.conv(x, 4, 1, 1, 0, /*bias=*/true, 1, "conv1");
  t.output(t.batchNorm(c, /*affine=*/false));
  int bias = t.g.nodes[0].attrs.bias;
  int biasParam = t.g.packSteps[1].src[0];

  foldBatchNorm(t.g);

  ASSERT_EQ(t.g.nodes.size(), 1u);
  EXPECT_EQ(t.g.nodes[0].attrs.bias, bias);
  EXPECT_EQ(t.g.packed.size(), 2u);
  ASSERT_EQ(t.g.packSteps.size(), 1u);
  const PackStep &step = t.g.packSteps[0];
  EXPECT_EQ(step.src[1], biasParam);
  EXPECT_EQ(step.src[2], -1); // affine=False: no gamma, no beta
  EXPECT_EQ(step.src[3], -1);
  EXPECT_EQ(step.out2, bias);
  EXPECT_EQ(t.g.packed[size_t(bias)].name, "conv1.bias (folded)");
  EXPECT_EQ(t.g.output, t.g.nodes[0].output);
  EXPECT_VALID(t.g);
}

TEST(FoldBatchNorm, LinearOnFeaturesFoldsAndStaysTransposed) {
  TestGraph t;
  int x = t.input({16});
  t.output(t.batchNorm(t.linear(x, 8)));

  foldBatchNorm(t.g);

  ASSERT_EQ(t.g.nodes.size(), 1u);
  EXPECT_EQ(t.g.nodes[0].kind, OpKind::Linear);
  ASSERT_EQ(t.g.packSteps.size(), 1u);
  EXPECT_EQ(t.g.packSteps[0].op, PackOp::FoldBatchNorm);
  EXPECT_TRUE(t.g.packSteps[0].transpose);
  EXPECT_EQ(t.g.packSteps[0].rows, 8);
  EXPECT_EQ(t.g.packSteps[0].cols, 16);
  EXPECT_VALID(t.g);
}

TEST(FoldBatchNorm, LinearOnASequenceIsNotFoldedNorFused) {
  TestGraph t; // BatchNorm1d on [N, L, F] normalises L, not the Linear's F
  int x = t.input({5, 16});
  t.output(t.batchNorm(t.linear(x, 8)));

  passes::runPipeline(t.g);

  ASSERT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(t.g.nodes[0].kind, OpKind::Linear);
  EXPECT_EQ(t.g.nodes[1].kind, OpKind::Map);
  EXPECT_VALID(t.g);
}

TEST(FoldBatchNorm, BatchNormAfterReluBecomesAMapWithAChannelAffine) {
  TestGraph t;
  int x = t.input({4, 8, 8});
  t.output(t.batchNorm(t.relu(t.maxPool(x, 2)), true, "bn"));

  foldBatchNorm(t.g);

  ASSERT_EQ(t.g.nodes.size(), 3u);
  const Node &map = t.g.nodes[2];
  EXPECT_EQ(map.kind, OpKind::Map);
  ASSERT_EQ(map.epilogue.size(), 1u);
  const EpilogueOp &affine = map.epilogue[0];
  EXPECT_EQ(affine.kind, EpilogueOp::Kind::ChannelAffine);
  ASSERT_EQ(t.g.packSteps.size(), 1u);
  const PackStep &step = t.g.packSteps[0];
  EXPECT_EQ(step.op, PackOp::BatchNormScaleShift);
  EXPECT_EQ(step.src[0], -1);
  EXPECT_EQ(step.src[1], -1);
  EXPECT_EQ(step.src[2], 0);
  EXPECT_EQ(step.src[5], 3);
  EXPECT_EQ(step.out, affine.packed);
  EXPECT_EQ(step.out2, affine.packed2);
  EXPECT_EQ(step.rows, 4);
  EXPECT_EQ(t.g.packed[size_t(affine.packed)].name, "bn.scale");
  EXPECT_EQ(t.g.packed[size_t(affine.packed2)].size, 4);

  // Fusion then folds relu and the affine into one Map after the pool.
  passes::fuseElementwise(t.g);
  ASSERT_EQ(t.g.nodes.size(), 2u);
  ASSERT_EQ(t.g.nodes[1].epilogue.size(), 2u);
  EXPECT_EQ(t.g.nodes[1].epilogue[0].kind, EpilogueOp::Kind::Unary);
  EXPECT_EQ(t.g.nodes[1].epilogue[1].kind, EpilogueOp::Kind::ChannelAffine);
  EXPECT_VALID(t.g);
}

TEST(FoldBatchNorm, ConvOutputReadElsewhereIsNotFolded) {
  TestGraph t;
  int x = t.input({4, 8, 8});
  int c = t.conv(x, 4, 3, 1, 1);
  t.output(t.binary(t.batchNorm(c), c));

  foldBatchNorm(t.g);

  EXPECT_EQ(t.g.nodes[1].kind, OpKind::Map);
  EXPECT_EQ(t.g.packSteps[0].op, PackOp::Copy);
  EXPECT_VALID(t.g);
}

TEST(FoldBatchNorm, ConvThatIsTheModelOutputIsNotFolded) {
  TestGraph t;
  int x = t.input({4, 8, 8});
  int c = t.conv(x, 4, 3, 1, 1);
  t.batchNorm(c);
  t.output(c);

  foldBatchNorm(t.g);

  EXPECT_EQ(t.g.nodes[1].kind, OpKind::Map);
  EXPECT_VALID(t.g);
}

TEST(FoldBatchNorm, SharedWeightsAreNotFolded) {
  TestGraph t; // one conv applied twice: its packed weight has two readers
  int x = t.input({4, 8, 8});
  int a = t.conv(x, 4, 3, 1, 1);
  Node again = t.g.nodes[0];
  again.inputs = {a};
  again.output = t.g.addValue(t.g.value(a).shape, "again");
  t.g.addNode(again);
  t.output(t.batchNorm(again.output));

  foldBatchNorm(t.g);

  EXPECT_EQ(t.g.nodes[2].kind, OpKind::Map);
  EXPECT_EQ(t.g.packSteps[0].op, PackOp::Copy);
  EXPECT_VALID(t.g);
}

} // namespace
} // namespace seq::ir::testing
