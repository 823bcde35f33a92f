// Tests of the whole pass pipeline on long graphs: each pass must stay
// near-linear in the length of the model (a 20,000-node chain once took
// tens of seconds), and the result must still be valid and tightly planned.
#include "ir/Liveness.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "ir_test_builder.h"
#include "passes/Passes.h"

namespace seq::ir::testing {
namespace {

// A chain of `length` nodes after one Linear `y`: element-wise ops that
// fuse, identities, same-shape reshapes, a Sub reading `y` (kept alive to
// the end, so it stays a node) and now and then a Linear + BatchNorm.
TestGraph longChain(int length) {
  TestGraph t;
  int y = t.linear(t.input({16}), 16);
  int h = y;
  for (int i = 0; i < length; ++i) {
    switch (i % 6) {
    case 0: h = t.scalar(h, BinaryKind::Mul, 0.5f); break;
    case 1: h = t.relu(h); break;
    case 2: h = t.identity(h); break;
    case 3: h = t.binary(h, y, BinaryKind::Sub); break;
    case 4: h = t.reshape(h, {16}); break;
    case 5: h = i % 1000 == 5 ? t.batchNorm(t.linear(h, 16)) : t.relu(h); break;
    }
  }
  t.output(h);
  return t;
}

TEST(PassPipeline, ALongChainIsPlannedInReasonableTime) {
  TestGraph t = longChain(20000);
  ASSERT_GT(t.g.nodes.size(), 20000u);

  passes::runPipeline(t.g);

  for (const Node &node : t.g.nodes) {
    EXPECT_NE(node.kind, OpKind::Identity);
    EXPECT_NE(node.kind, OpKind::BatchNorm);
  }
  // Per six steps: the Sub, the Map after it (relu, x0.5), the reshape.
  EXPECT_LT(t.g.nodes.size(), 20000u / 6 * 3 + 100);
  // y, plus the few values of the last steps: 64 bytes each per batch item,
  // however long the chain.
  EXPECT_LE(t.g.workspacePerBatch, 4 * 64);
  EXPECT_VALID(t.g);
  EXPECT_FALSE(print(t.g).empty());
}

} // namespace
} // namespace seq::ir::testing
