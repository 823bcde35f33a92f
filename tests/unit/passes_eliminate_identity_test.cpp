// Tests of EliminateIdentity.
#include "ir/Verifier.h"
#include "ir_test_builder.h"
#include "passes/Passes.h"

namespace seq::ir::testing {
namespace {

TEST(EliminateIdentity, AChainOfIdentitiesDisappears) {
  TestGraph t;
  int x = t.input({16});
  int y = t.identity(t.linear(t.identity(t.identity(x)), 4));
  t.output(t.identity(y));

  passes::eliminateIdentity(t.g);

  ASSERT_EQ(t.g.nodes.size(), 1u);
  EXPECT_EQ(t.g.nodes[0].kind, OpKind::Linear);
  EXPECT_EQ(t.g.nodes[0].inputs, std::vector{x});
  ASSERT_EQ(t.g.values.size(), 2u); // ids stay dense
  EXPECT_EQ(t.g.output, 1);
  EXPECT_EQ(t.g.value(1).producer, 0);
  EXPECT_VALID(t.g);
}

TEST(EliminateIdentity, ReadersInEpiloguesAndAliasesFollow) {
  TestGraph t;
  int x = t.input({4, 2, 2});
  int c = t.conv(x, 4, 1);
  int kept = t.identity(c);
  int flat = t.reshape(kept, {16});
  t.output(t.linear(flat, 2));

  passes::eliminateIdentity(t.g);

  ASSERT_EQ(t.g.nodes.size(), 3u);
  const Value &alias = t.g.value(t.g.nodes[1].output);
  EXPECT_EQ(alias.storage, Storage::Alias);
  EXPECT_EQ(alias.aliasOf, t.g.nodes[0].output);
  EXPECT_VALID(t.g);
}

TEST(EliminateIdentity, AnIdentityModelGetsACopy) {
  TestGraph t;
  int x = t.input({3});
  t.output(t.identity(t.identity(x)));

  passes::runPipeline(t.g);

  ASSERT_EQ(t.g.nodes.size(), 1u);
  EXPECT_EQ(t.g.nodes[0].kind, OpKind::Copy);
  EXPECT_EQ(t.g.nodes[0].inputs, std::vector{x});
  EXPECT_EQ(t.g.value(t.g.output).storage, Storage::Output);
  EXPECT_EQ(t.g.workspacePerBatch, 0);
  EXPECT_VALID(t.g);
}

} // namespace
} // namespace seq::ir::testing
