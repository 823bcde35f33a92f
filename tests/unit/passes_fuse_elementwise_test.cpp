// Tests of FuseElementwise: epilogues of Linear, Conv2d, Map and Concat nodes.
#include "ir/Verifier.h"
#include "ir_test_builder.h"
#include "passes/Passes.h"

namespace seq::ir::testing {
namespace {

using Kind = EpilogueOp::Kind;

std::vector<Kind> kinds(const Node &node) {
  std::vector<Kind> result;
  for (const EpilogueOp &op : node.epilogue)
    result.push_back(op.kind);
  return result;
}

TEST(FuseElementwise, ResidualBlockBecomesTwoConvs) {
  TestGraph t; // relu(bn2(conv2(relu(bn1(conv1(x))))) + x)
  int x = t.input({8, 8, 8});
  int h = t.relu(t.batchNorm(t.conv(x, 8, 3, 1, 1, false, 1, "conv1")));
  int y = t.relu(t.binary(t.batchNorm(t.conv(h, 8, 3, 1, 1, false, 1, "conv2")), x));
  t.output(y);

  passes::runPipeline(t.g);

  ASSERT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(kinds(t.g.nodes[0]), (std::vector{Kind::Bias, Kind::Unary}));
  const Node &conv2 = t.g.nodes[1];
  EXPECT_EQ(conv2.kind, OpKind::Conv2d);
  ASSERT_EQ(kinds(conv2), (std::vector{Kind::Bias, Kind::AddTensor, Kind::Unary}));
  EXPECT_EQ(conv2.epilogue[1].tensor, t.g.inputs[0]);
  EXPECT_EQ(conv2.epilogue[2].unary, UnaryKind::Relu);
  EXPECT_EQ(t.g.output, conv2.output);
  EXPECT_EQ(t.g.value(t.g.output).storage, Storage::Output);
  EXPECT_VALID(t.g);
}

TEST(FuseElementwise, AddFusesIntoTheLaterOfItsOperands) {
  TestGraph t;
  int x = t.input({16});
  int a = t.linear(x, 8), b = t.linear(x, 8);
  t.output(t.binary(a, b, BinaryKind::Mul));

  passes::fuseElementwise(t.g);

  ASSERT_EQ(t.g.nodes.size(), 2u);
  ASSERT_EQ(kinds(t.g.nodes[1]), (std::vector{Kind::Bias, Kind::MulTensor}));
  EXPECT_EQ(t.g.nodes[1].epilogue[1].tensor, t.g.nodes[0].output);
  EXPECT_VALID(t.g);
}

TEST(FuseElementwise, BroadcastSubAndSelfAddStayBinary) {
  TestGraph t;
  int x = t.input({4, 8, 8});
  int c = t.conv(x, 4, 1);
  int pooled = t.maxPool(c, 8);                          // [N, 4, 1, 1]
  int broadcast = t.binary(t.conv(x, 4, 1), pooled);      // stays: broadcasts
  int sub = t.binary(t.conv(x, 4, 1), broadcast, BinaryKind::Sub);
  int c3 = t.conv(x, 4, 1);
  int twice = t.binary(c3, c3);                           // x + x: no other operand
  t.output(t.concat({sub, twice}, 1));

  passes::fuseElementwise(t.g);

  int binaries = 0;
  for (const Node &node : t.g.nodes)
    binaries += node.kind == OpKind::Binary;
  EXPECT_EQ(binaries, 3);
  EXPECT_VALID(t.g);
}

TEST(FuseElementwise, ChainAfterAPoolBecomesOneMap) {
  TestGraph t;
  int x = t.input({4, 8, 8});
  int y = t.scalar(t.unary(t.maxPool(x, 2), UnaryKind::LeakyRelu, 0.1f), BinaryKind::Sub, 1, true);
  t.output(y);

  passes::fuseElementwise(t.g);

  ASSERT_EQ(t.g.nodes.size(), 2u);
  const Node &map = t.g.nodes[1];
  EXPECT_EQ(map.kind, OpKind::Map);
  EXPECT_EQ(map.inputs, std::vector{t.g.nodes[0].output});
  ASSERT_EQ(kinds(map), (std::vector{Kind::Unary, Kind::Scalar}));
  EXPECT_EQ(map.epilogue[0].unary, UnaryKind::LeakyRelu);
  EXPECT_FLOAT_EQ(map.epilogue[0].alpha, 0.1f);
  EXPECT_EQ(map.epilogue[1].scalarOp, BinaryKind::Sub);
  EXPECT_TRUE(map.epilogue[1].reversed);
  EXPECT_VALID(t.g);
}

TEST(FuseElementwise, TwoReadersKeepTheProducerPlainAndFuseTheJoin) {
  TestGraph t; // relu(l) + sigmoid(l): l has two readers
  int x = t.input({16});
  int l = t.linear(x, 8);
  t.output(t.binary(t.relu(l), t.unary(l, UnaryKind::Sigmoid)));

  passes::fuseElementwise(t.g);

  ASSERT_EQ(t.g.nodes.size(), 3u);
  EXPECT_EQ(kinds(t.g.nodes[0]), std::vector{Kind::Bias});
  EXPECT_EQ(t.g.nodes[1].kind, OpKind::Map); // relu
  EXPECT_EQ(kinds(t.g.nodes[2]), (std::vector{Kind::Unary, Kind::AddTensor}));
  EXPECT_EQ(t.g.nodes[2].epilogue[1].tensor, t.g.nodes[1].output);
  EXPECT_VALID(t.g);
}

// DenseNet's BatchNorm and ReLU after a concat of channel planes join the
// concat's epilogue. An add of a concat and of a tensor written before it
// stays a binary: a concat's epilogue numbers a plane's elements by
// channel, not by image, and takes no tensors.
TEST(FuseElementwise, MapsOfAConcatOfPlanesJoinIt) {
  TestGraph t;
  int x = t.input({4, 6, 6});
  int planes = t.relu(t.batchNorm(t.concat({t.conv(x, 4, 1), t.conv(x, 8, 1)}, 1)));
  int earlier = t.conv(x, 8, 1);
  int cat = t.concat({t.conv(x, 4, 1), t.conv(x, 4, 1)}, 1);
  t.output(t.concat({planes, t.binary(cat, earlier)}, 1));

  passes::runPipeline(t.g);

  int maps = 0, fused = 0, binaries = 0;
  for (const Node &node : t.g.nodes) {
    maps += node.kind == OpKind::Map;
    binaries += node.kind == OpKind::Binary;
    if (node.kind == OpKind::Concat && !node.epilogue.empty()) {
      EXPECT_EQ(kinds(node), (std::vector{Kind::ChannelAffine, Kind::Unary}));
      ++fused;
    }
  }
  EXPECT_EQ(fused, 1);
  EXPECT_EQ(maps, 0);
  EXPECT_EQ(binaries, 1);
  EXPECT_VALID(t.g);
}

// A concat of features ([N, F]) keeps the map after it.
TEST(FuseElementwise, MapOfAConcatOfFeaturesStays) {
  TestGraph t;
  int x = t.input({16});
  t.output(t.relu(t.concat({t.linear(x, 5), t.linear(x, 3)}, 1)));

  passes::fuseElementwise(t.g);

  ASSERT_EQ(t.g.nodes.size(), 4u);
  EXPECT_TRUE(t.g.nodes[2].epilogue.empty());
  EXPECT_EQ(t.g.nodes[3].kind, OpKind::Map);
  EXPECT_VALID(t.g);
}

TEST(FuseElementwise, NothingFusesIntoAReshape) {
  TestGraph t;
  int x = t.input({4, 2, 2});
  t.output(t.relu(t.reshape(t.conv(x, 4, 1), {16})));

  passes::fuseElementwise(t.g);

  ASSERT_EQ(t.g.nodes.size(), 3u);
  EXPECT_EQ(t.g.nodes[2].kind, OpKind::Map);
  EXPECT_VALID(t.g);
}

TEST(FuseElementwise, BiasIsSeededOnce) {
  TestGraph t;
  t.output(t.linear(t.input({4}), 2));
  passes::fuseElementwise(t.g);
  passes::fuseElementwise(t.g);
  EXPECT_EQ(kinds(t.g.nodes[0]), std::vector{Kind::Bias});
}

} // namespace
} // namespace seq::ir::testing
