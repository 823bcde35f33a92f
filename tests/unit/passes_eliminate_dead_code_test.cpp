// Tests of EliminateDeadCode: what never reaches the output goes, what an
// epilogue or an alias reads stays, and the pipeline still plans memory.
#include "ir/Verifier.h"
#include "ir_test_builder.h"
#include "passes/Passes.h"

namespace seq::ir::testing {
namespace {

TEST(EliminateDeadCode, UnreadBranchesDisappear) {
  TestGraph t;
  int x = t.input({8, 4, 4});
  t.relu(t.conv(x, 8, 3, 1, 1));           // computed, never read
  int y = t.maxPool(x, 2);
  t.scalar(y, BinaryKind::Mul, 2.0f);      // read by nothing
  t.output(t.relu(y));

  passes::eliminateDeadCode(t.g);

  ASSERT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(t.g.nodes[0].kind, OpKind::MaxPool2d);
  EXPECT_EQ(t.g.nodes[1].kind, OpKind::Unary);
  EXPECT_EQ(t.g.values.size(), 3u); // the input and the two outputs, ids dense
  EXPECT_VALID(t.g);
}

TEST(EliminateDeadCode, EpilogueAndAliasReadsKeepTheirProducers) {
  TestGraph t;
  int x = t.input({4, 2, 2});
  int residual = t.conv(x, 4, 1);
  int c = t.conv(x, 4, 1);
  t.g.nodes[size_t(t.g.value(c).producer)].epilogue.push_back(
      {.kind = EpilogueOp::Kind::AddTensor, .tensor = residual});
  int flat = t.reshape(c, {16});
  t.output(t.linear(flat, 2));

  passes::eliminateDeadCode(t.g);

  EXPECT_EQ(t.g.nodes.size(), 4u); // nothing is dead
  EXPECT_VALID(t.g);
}

TEST(EliminateDeadCode, TheWholePipelineRunsAfterIt) {
  TestGraph t;
  int x = t.input({16});
  t.linear(x, 4);
  t.output(t.linear(t.relu(x), 3));

  passes::runPipeline(t.g);

  int linears = 0;
  for (const Node &node : t.g.nodes)
    linears += node.kind == OpKind::Linear;
  EXPECT_EQ(linears, 1); // the relu (a Map) and the linear that is read
  EXPECT_EQ(t.g.value(t.g.output).shape.dims.back(), 3);
  EXPECT_VALID(t.g);
}

} // namespace
} // namespace seq::ir::testing
