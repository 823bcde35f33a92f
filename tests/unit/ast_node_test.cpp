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
static_assert(sizeof(CallExpr) <= 32, "a layer is one CallExpr (an ArgList of 8 bytes: the count in the pointer)");
static_assert(sizeof(Arg) <= 8, "a call keeps one Arg per argument (a keyword in a node of its own)");

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
  positional.setValue(NameExpr::make({1, 2, 3}, std::string_view(text).substr(2, 1)));
  keyword.setValue(std::make_unique<BoolExpr>(SourceRange{1, 10, 15}, false));
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
  EXPECT_EQ(moved.value()->kind, ExprKind::Bool);
  EXPECT_EQ(positional.value()->kind, ExprKind::Name);
  // A keyword set before its value (as the parsers do), and values replaced.
  Arg late;
  late.setName(std::string_view(text).substr(5, 4), {1, 5, 9});
  EXPECT_EQ(late.value(), nullptr);
  late.setValue(std::make_unique<BoolExpr>(SourceRange{1, 10, 15}, true));
  late.setValue(std::make_unique<BoolExpr>(SourceRange{1, 10, 15}, false));
  EXPECT_EQ(late.name(), "bias");
  EXPECT_EQ(late.range().end, 15u);
  positional.setValue(std::make_unique<BoolExpr>(SourceRange{1, 2, 6}, true));
  EXPECT_EQ(positional.range().end, 6u);
  late = std::move(positional);
  EXPECT_EQ(late.name(), "");
  EXPECT_EQ(late.value()->range.end, 6u);
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

// A call's ArgList keeps up to 6 arguments' count in its pointer, more
// in the word before the array; each is destroyed once (ASan).
TEST(AstNode, ArgListCounts) {
  std::string text = "abcdefghij";
  for (size_t n : {size_t(0), size_t(1), size_t(2), size_t(6), size_t(7), size_t(8), size_t(300)}) {
    std::vector<Arg> args(n);
    for (size_t i = 0; i < n; ++i)
      args[i].setValue(NameExpr::make({1, uint32_t(i), uint32_t(i + 1)}, std::string_view(text).substr(i % 10, 1)));
    if (n > 1)
      args[1].setName(std::string_view(text).substr(0, 3), {1, 0, 3});
    ArgList list(std::move(args));
    ASSERT_EQ(list.size(), n);
    EXPECT_EQ(list.empty(), n == 0);
    size_t seen = 0;
    for (const Arg &a : list)
      EXPECT_EQ(a.value()->as<NameExpr>()->name(), std::string_view(text).substr(seen++ % 10, 1));
    EXPECT_EQ(seen, n);
    if (n > 1) {
      EXPECT_EQ(list[1].name(), "abc");
      EXPECT_EQ(list.back().value()->range.begin, uint32_t(n - 1));
    }
    ArgList moved = std::move(list);
    EXPECT_EQ(moved.size(), n);
    EXPECT_TRUE(list.empty()); // NOLINT: moved from
    ArgList assigned;
    assigned = std::move(moved);
    EXPECT_EQ(assigned.size(), n);
  }
}
