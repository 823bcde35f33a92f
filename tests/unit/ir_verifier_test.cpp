// Tests of the IR verifier: valid graphs pass, and each broken invariant is
// reported once, with a message that names it.
#include "ir/Verifier.h"
#include "ir_test_builder.h"
#include "passes/Passes.h"

namespace seq::ir::testing {
namespace {

// The single error verify() reports (or a list of them, to fail on).
std::string onlyError(const Graph &g) {
  std::vector<std::string> errors = verify(g);
  if (errors.size() == 1)
    return errors[0];
  std::string all = std::to_string(errors.size()) + " errors:";
  for (const std::string &e : errors)
    all += "\n  " + e;
  return all;
}

TestGraph convNet() {
  TestGraph t;
  int x = t.input({3, 8, 8});
  int c = t.relu(t.batchNorm(t.conv(x, 4, 3, 1, 1)));
  t.output(t.linear(t.reshape(t.maxPool(c, 2), {64}), 10));
  return t;
}

TEST(IrVerifier, LoweredAndOptimisedGraphsAreValid) {
  TestGraph t = convNet();
  EXPECT_VALID(t.g);
  passes::runPipeline(t.g);
  EXPECT_VALID(t.g);
}

TEST(IrVerifier, OutOfRangeIdsAreReportedWithoutCrashing) {
  TestGraph t = convNet();
  t.g.nodes[1].inputs[0] = 99;
  t.g.nodes[0].attrs.weight = 42;
  std::vector<std::string> errors = verify(t.g);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "node 0 (conv2d): packed tensor #42 does not exist");
  EXPECT_EQ(errors[1], "node 1 (batch_norm): input %99 is not a value");
}

TEST(IrVerifier, UseBeforeDefinition) {
  TestGraph t = convNet();
  std::swap(t.g.nodes[1], t.g.nodes[2]);
  t.g.value(t.g.nodes[1].output).producer = 1;
  t.g.value(t.g.nodes[2].output).producer = 2;
  EXPECT_EQ(onlyError(t.g), "node 1 (unary): reads %2 before it is written");
}

TEST(IrVerifier, ValueWrittenTwice) {
  TestGraph t = convNet();
  t.g.nodes[2].output = t.g.nodes[1].output;
  std::vector<std::string> errors = verify(t.g);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0], "value %2 is written by 2 nodes; it must be written by exactly one");
}

TEST(IrVerifier, LinearWeightOfTheWrongSize) {
  TestGraph t = convNet();
  t.g.packed[size_t(t.g.nodes.back().attrs.weight)].size = 630;
  std::vector<std::string> errors = verify(t.g);
  ASSERT_EQ(errors.size(), 2u); // the node and the pack step writing it both disagree
  EXPECT_EQ(errors[0], "node 5 (linear): weight #2 has 630 floats, expected 640");
  EXPECT_EQ(errors[1], "pack step 2: writes 640 floats to #2 of 630");
}

TEST(IrVerifier, ConvOutputShapeMustFollowFromItsInput) {
  TestGraph t = convNet();
  t.g.nodes[0].attrs.stride[0] = 2;
  EXPECT_EQ(onlyError(t.g),
            "node 0 (conv2d): output [N, 4, 8, 8] does not follow from input [N, 3, 8, 8]");
}

TEST(IrVerifier, EpiloguesOnlyOnLinearConvAndMap) {
  TestGraph t = convNet();
  t.g.nodes[3].epilogue.push_back(EpilogueOp{EpilogueOp::Kind::Unary});
  EXPECT_EQ(onlyError(t.g), "node 3 (max_pool2d): only linear, conv2d, map and concat nodes have epilogues");
}

TEST(IrVerifier, EpilogueTensorsHaveTheOutputShape) {
  TestGraph t = convNet();
  EpilogueOp add{EpilogueOp::Kind::AddTensor};
  add.tensor = t.g.inputs[0];
  t.g.nodes[0].epilogue.push_back(add);
  EXPECT_EQ(onlyError(t.g),
            "node 0 (conv2d): epilogue tensor %0 must have the output's shape [N, 4, 8, 8]");
}

TEST(IrVerifier, ReshapeMustAlias) {
  TestGraph t = convNet();
  t.g.value(t.g.nodes[4].output).storage = Storage::Workspace;
  EXPECT_EQ(onlyError(t.g), "node 4 (reshape): output %5 must alias its input %4");
}

// A concat's input written in place lives at its own place in the
// concat's output, and only where the concat takes every input so.
TEST(IrVerifier, ConcatInputsInPlaceAtTheirPlace) {
  TestGraph t(1);
  int x = t.input({8, 4, 4});
  int a = t.conv(x, 16, 1), b = t.conv(x, 16, 1);
  int cat = t.concat({a, b}, 1);
  t.output(t.conv(cat, 4, 1));
  for (int part : {a, b}) {
    t.g.value(part).storage = Storage::Slice;
    t.g.value(part).aliasOf = cat;
  }
  t.g.value(b).sliceOffset = 16 * 16 * 4;
  EXPECT_TRUE(verify(t.g).empty());
  t.g.value(b).sliceOffset = 0;
  EXPECT_EQ(onlyError(t.g), "value %2 lives at byte 0 of %3, not at its place there (byte 1024, on a cache line)");
  t.g.value(b).sliceOffset = 1024;
  t.g.value(a).storage = Storage::Workspace;
  EXPECT_EQ(onlyError(t.g), "value %2 lives in %3, but the concat writing it does not take all its inputs in place");
}

TEST(IrVerifier, MixedBatching) {
  TestGraph t = convNet();
  t.g.value(t.g.output).shape.dims[0] = 2;
  std::vector<std::string> errors = verify(t.g);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0], "value %6 [2, 10] is not batched, unlike the rest of the graph");
}

TEST(IrVerifier, PackedTensorNobodyWrites) {
  TestGraph t = convNet();
  t.g.addPacked("orphan", 4);
  EXPECT_EQ(onlyError(t.g), "packed tensor #4 'orphan' is written by 0 pack steps, not 1");
}

TEST(IrVerifier, FoldStepNeedsRunningStatistics) {
  TestGraph t = convNet();
  passes::foldBatchNorm(t.g);
  t.g.packSteps[0].src[5] = -1;
  EXPECT_EQ(onlyError(t.g), "pack step 0: source 5 is required");
}

TEST(IrVerifier, OverlappingLiveWorkspace) {
  TestGraph t = convNet();
  passes::runPipeline(t.g);
  Value &pooled = t.g.value(t.g.nodes[1].output);
  pooled.offsetPerBatch = t.g.value(t.g.nodes[0].output).offsetPerBatch;
  EXPECT_EQ(onlyError(t.g), "%1 and %2 are live together but overlap in the workspace");
}

TEST(IrVerifier, UnalignedWorkspaceOffset) {
  TestGraph t = convNet();
  passes::runPipeline(t.g);
  t.g.value(t.g.nodes[1].output).offsetPerBatch += 4;
  std::vector<std::string> errors = verify(t.g);
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("%2 at byte"), std::string::npos) << errors[0];
}

TEST(IrVerifier, PlannedGraphWritesTheOutputBuffer) {
  TestGraph t = convNet();
  passes::runPipeline(t.g);
  t.g.value(t.g.output).storage = Storage::Workspace;
  EXPECT_EQ(onlyError(t.g), "the graph output %4 is not in the output buffer");
}

TEST(IrVerifier, PlannedGraphHasNothingCodegenCannotRun) {
  TestGraph t = convNet();
  passes::runPipeline(t.g);
  Node id{};
  id.kind = OpKind::Identity;
  id.inputs = {t.g.output};
  id.output = t.g.addValue(t.g.value(t.g.output).shape, "extra");
  t.g.addNode(id);
  std::vector<std::string> errors = verify(t.g);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0], "node 4 (identity): left for codegen, which does not handle it");
}

} // namespace
} // namespace seq::ir::testing
