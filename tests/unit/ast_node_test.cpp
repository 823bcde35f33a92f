// The AST's nodes: their sizes (a deep model's layer is a CallExpr, a
// NameExpr, its literals and its arguments, so a few bytes more each is
// megabytes more for `seqc check`: docs/memory.md), their inline and
// wide forms, and deletion by kind (expressions have no vtable; under
// AddressSanitizer a wrong size or destructor is reported).
#include "ast/Ast.h"
#include "parse/Parser.h"

#include <gtest/gtest.h>

#include <climits>

using namespace seq;
using namespace seq::ast;

static_assert(sizeof(Expr) == 16, "no vtable: kind, flags, 16 bits of payload and the range");
static_assert(sizeof(NameExpr) <= 24, "a layer's name is one NameExpr");
static_assert(sizeof(IntExpr) <= 16, "Linear(8, 8) has two IntExprs");
static_assert(sizeof(WideIntExpr) <= 24);
static_assert(sizeof(FloatExpr) <= 24);
static_assert(sizeof(CallExpr) <= 40, "a layer is one CallExpr");
static_assert(sizeof(Arg) <= 16, "a call keeps one Arg per argument (a keyword in a node of its own)");

TEST(AstNode, IntsInlineAndWide) {
  for (int64_t v : {int64_t(0), int64_t(8), int64_t(-1), int64_t(INT16_MAX), int64_t(INT16_MIN),
                    int64_t(INT16_MAX) + 1, int64_t(INT16_MIN) - 1, int64_t(65536), INT64_MAX, INT64_MIN}) {
    for (bool tooLarge : {false, true}) {
      ExprPtr e = IntExpr::make({1, 2, 3}, v, tooLarge);
      ASSERT_EQ(e->kind, ExprKind::Int);
      EXPECT_EQ(e->as<IntExpr>()->value(), v);
      EXPECT_EQ(e->as<IntExpr>()->tooLarge(), tooLarge);
      EXPECT_EQ(e->range.end, 3u);
    }
  }
}

TEST(AstNode, NamesShortAndLong) {
  std::string text = "conv1";
  ExprPtr e = NameExpr::make({1, 0, 5}, text);
  EXPECT_EQ(e->as<NameExpr>()->name(), "conv1");
  EXPECT_EQ(e->as<NameExpr>()->name().data(), text.data()); // a view, not a copy
  // Parentheses widen a node's range ("(x)"), never its name.
  e->range = {1, 0, 7};
  EXPECT_EQ(e->as<NameExpr>()->name(), "conv1");
  std::string longName(70000, 'n');
  ExprPtr wide = NameExpr::make({1, 0, 70000}, longName);
  EXPECT_EQ(wide->as<NameExpr>()->name().size(), 70000u);
  EXPECT_EQ(wide->as<NameExpr>()->name(), longName);
}

TEST(AstNode, KeywordArguments) {
  std::string text = "f(x, bias=False)";
  Arg positional, keyword;
  positional.value = NameExpr::make({1, 2, 3}, std::string_view(text).substr(2, 1));
  keyword.value = std::make_unique<BoolExpr>(SourceRange{1, 10, 15}, false);
  keyword.setName(std::string_view(text).substr(5, 4), {1, 5, 9});
  EXPECT_EQ(positional.name(), "");
  EXPECT_FALSE(positional.nameRange().valid());
  EXPECT_EQ(keyword.name(), "bias");
  EXPECT_EQ(keyword.nameRange().begin, 5u);
  EXPECT_EQ(keyword.nameRange().end, 9u);
  EXPECT_EQ(keyword.range().begin, 5u);
  EXPECT_EQ(keyword.range().end, 15u);
  Arg moved = std::move(keyword);
  EXPECT_EQ(moved.name(), "bias");
}

// Every kind of expression, parsed and then deleted through ExprPtr.
TEST(AstNode, EveryKindIsDeleted) {
  SourceManager sources;
  Diagnostics diags(sources);
  std::string long70k(70000, 'a');
  FileId id = sources.addFile("kinds.seq", "model M(x: [N, 8]) {\n"
                                           "  forward(x) {\n"
                                           "    a = -1 + 2 * 3.5 // 2 ** 100000 - 99999999999\n"
                                           "    b = [i for i in range(3)] if not True and a is None else (1, 2)\n"
                                           "    c = f\"k{a}\" + 'b' + x[..., 1:2:1].foo(*a, k=1)\n"
                                           "    d = 1 < 2 <= 3 or False\n"
                                           "    " + long70k + " = 1\n"
                                           "    return x\n"
                                           "  }\n"
                                           "}\n");
  std::unique_ptr<File> file = parse::parseFile(sources, id, diags);
  ASSERT_TRUE(file);
  file.reset(); // ASan: each node freed with its own size and destructor
}
