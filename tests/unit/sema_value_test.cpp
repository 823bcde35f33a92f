// sema::Value and the per-layer structures of the checked model: their
// sizes (a deep model keeps one BoundArg per layer argument and one
// ModuleInst, TraceNode and TraceValue per layer, so a few bytes more each
// is megabytes more for `seqc check`), Value's copies, accessors and
// out-of-line parts, and a check that keeps no trace nodes.
#include "parse/Parser.h"
#include "sema/Module.h"
#include "sema/Sema.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

using namespace seq;
using namespace seq::sema;

// The bounds the memory of `seqc check` was measured with
// (docs/memory.md): growing one of these
// grows it in proportion.
static_assert(sizeof(Value) <= 32, "sema::Value: keep rare parts behind its pointer");
static_assert(sizeof(BoundArg) <= 48, "a layer keeps one BoundArg per argument given (its name a 24-bit id)");
static_assert(sizeof(BoundList) <= 16, "a layer keeps one BoundList (pointer, 32-bit size and capacity)");
static_assert(sizeof(ModuleInst) <= 72, "a layer is one ModuleInst (its children, any other class name or range "
                                       "live with its attributes, its kind and path size in BoundArgs' tail)");
static_assert(sizeof(TraceNode) <= 136, "a layer call is one TraceNode");
static_assert(sizeof(TraceValue) <= 24, "a layer call makes one TraceValue (its origin and validity in 32 bits)");
static_assert(sizeof(TraceOrigin) <= 8, "a layer's output has one TraceOrigin (its note made when needed, its shape the module's first output's)");
static_assert(sizeof(ChildName) == 8, "a Sequential has one child name per layer");
static_assert(sizeof(ModuleInst::Children::value_type) <= 16, "a Sequential has one child per layer");
// The AST's (tests/unit/ast_node_test.cpp has the rest).
static_assert(sizeof(ast::Arg) <= 8, "a Sequential keeps one ast::Arg per layer (a keyword in a node of its own)");
static_assert(sizeof(ast::NameExpr) <= 24, "a layer's name is one NameExpr (a view of the text)");
static_assert(sizeof(ast::CallExpr) <= 32, "a layer is one CallExpr (its arguments in an 8-byte ArgList)");
static_assert(sizeof(ast::IntExpr) <= 16, "Linear(8, 8) has two IntExprs (small values inline)");

TEST(SemaValue, ScalarsHaveNoOutOfLinePart) {
  Value i = Value::integer_(7, {0, 1, 2});
  EXPECT_EQ(i.kind, Value::Kind::Int);
  EXPECT_TRUE(i.isConstInt());
  EXPECT_EQ(i.asInt(), 7);
  EXPECT_EQ(i.range.begin, 1u);
  EXPECT_TRUE(i.str().empty());
  EXPECT_TRUE(i.items().empty());
  EXPECT_FALSE(i.origin().valid());
  // Another kind's payload reads as empty.
  EXPECT_EQ(i.number(), 0);
  EXPECT_EQ(i.module(), nullptr);
  EXPECT_EQ(i.tensor(), -1);
  EXPECT_FALSE(i.boolean());

  Value f = Value::float_(0.5);
  EXPECT_EQ(f.number(), 0.5);
  EXPECT_EQ(f.asDouble(), 0.5);
  EXPECT_EQ(f.asInt(), 0);
  EXPECT_EQ(f.integer(), SymInt{});
  EXPECT_TRUE(Value::boolean_(true).boolean());
  EXPECT_EQ(Value::tensorRef(3).tensor(), 3);

  Value n = Value::symInt(SymInt{2, 1});
  EXPECT_FALSE(n.isConstInt());
  EXPECT_EQ(n.integer(), (SymInt{2, 1}));
}

TEST(SemaValue, CopiesOwnTheirParts) {
  Value list = Value::list({Value::integer_(1), Value::string("a")});
  Value copy = list;
  copy.mutableItems().push_back(Value::none());
  copy.setStr("OrderedDict");
  EXPECT_EQ(list.items().size(), 2u);
  EXPECT_TRUE(list.str().empty());
  EXPECT_EQ(copy.items().size(), 3u);
  EXPECT_EQ(copy.str(), "OrderedDict");
  EXPECT_EQ(copy.items()[1].str(), "a");
  EXPECT_EQ(pythonRepr(list), "[1, 'a']");

  Value none = Value::none();
  none.setOrigin({0, 4, 9}, "'x' is None: assigned here");
  Value moved = std::move(none);
  Value assigned;
  assigned = moved;
  EXPECT_EQ(assigned.origin().end, 9u);
  EXPECT_EQ(assigned.originNote(), "'x' is None: assigned here");
  EXPECT_EQ(moved.originNote(), "'x' is None: assigned here");
}

TEST(SemaValue, PartialKeepsItsKeywords) {
  Value partial = Value::callable("BatchNorm2d");
  partial.mutableItems().push_back(Value::float_(0.001));
  partial.mutableKeys().push_back("eps");
  Value copy = partial;
  EXPECT_EQ(copy.str(), "BatchNorm2d");
  ASSERT_EQ(copy.keys().size(), 1u);
  EXPECT_EQ(copy.keys()[0], "eps");
  EXPECT_EQ(describe(copy), "a partial of 'BatchNorm2d'");
  EXPECT_EQ(describe(Value::callable("ReLU")), "the class 'ReLU'");
}

namespace {

struct Checked {
  std::string diagnostics;
  size_t nodes = 0, values = 0, callArgs = 0;
};

Checked checkSource(const std::string &text, sema::CheckOptions options) {
  SourceManager sources;
  FileId id = sources.addFile("m.seq", text);
  Diagnostics diags(sources);
  std::unique_ptr<ast::File> file = parse::parseFile(sources, id, diags);
  Checked out;
  if (file)
    for (const auto &model : sema::check(*file, sources, diags, options)) {
      out.nodes += model->trace.nodes.size();
      out.values += model->trace.values.size();
      out.callArgs += model->trace.callArgs.size();
    }
  out.diagnostics = diags.render({});
  return out;
}

// A source parsed and checked, with what its models point into.
struct CheckedModels {
  SourceManager sources;
  std::unique_ptr<Diagnostics> diags;
  std::unique_ptr<ast::File> file;
  std::vector<std::unique_ptr<sema::CheckedModel>> models;
};

std::unique_ptr<CheckedModels> checkModels(const std::string &text) {
  auto out = std::make_unique<CheckedModels>();
  FileId id = out->sources.addFile("m.seq", text);
  out->diags = std::make_unique<Diagnostics>(out->sources);
  out->file = parse::parseFile(out->sources, id, *out->diags);
  if (out->file)
    out->models = sema::check(*out->file, out->sources, *out->diags, {});
  return out;
}

} // namespace

TEST(SemaCheckOptions, WithoutTraceNodesTheDiagnosticsAreTheSame) {
  const std::string good = "model M(x: [N, 8]) {\n"
                           "    fc = Linear(8, 4)\n"
                           "    forward(x) { return relu(fc(x)).view(-1, 2) + 1.0 }\n"
                           "}\n";
  const std::string bad = "model M(x: [N, 8]) {\n"
                          "    fc = Linear(4, 4)\n"
                          "    forward(x) { return fc(relu(x)) }\n"
                          "}\n";
  for (const std::string &text : {good, bad}) {
    Checked kept = checkSource(text, {});
    Checked dropped = checkSource(text, {.keepTraceNodes = false});
    EXPECT_EQ(kept.diagnostics, dropped.diagnostics) << text;
    EXPECT_EQ(kept.values, dropped.values) << text;
    EXPECT_GT(kept.nodes, 0u) << text;
    EXPECT_EQ(dropped.nodes, 0u) << text;
    EXPECT_EQ(dropped.callArgs, 0u) << text;
  }
  EXPECT_EQ(checkSource(good, {}).callArgs, 1u); // relu(...)'s arguments
  EXPECT_NE(checkSource(bad, {}).diagnostics.find("error"), std::string::npos);
}

// A layer keeps only the arguments it was given; the others are its
// spec's defaults, shared by every instance, and read the same.
TEST(SemaBoundArgs, ALayerKeepsOnlyItsGivenArguments) {
  auto checked = checkModels("model M(x: [N, 8]) = Sequential(\n"
                             "    Linear(8, 4, bias=False), ReLU(), Linear(4, 4), ELU(alpha=2.0))\n");
  const auto &models = checked->models;
  ASSERT_EQ(models.size(), 1u);
  const ModuleInst &root = *models[0]->root;
  ASSERT_EQ(root.children().size(), 4u);
  const BoundArgs &first = root.children()[0].second->args;
  EXPECT_EQ(first.args.size(), 3u);
  EXPECT_FALSE(first.getBool("bias"));
  EXPECT_EQ(first.getInt("out_features"), 4);
  EXPECT_EQ(root.children()[1].second->args.args.size(), 0u);
  const BoundArgs &third = root.children()[2].second->args;
  EXPECT_EQ(third.args.size(), 2u);
  EXPECT_TRUE(third.getBool("bias"));                      // the default
  EXPECT_FALSE(third.find("bias")->given);
  EXPECT_EQ(third.rangeOf("bias").begin, third.call.begin); // a default's range is the call
  EXPECT_EQ(first.defaults, third.defaults);               // one table for every Linear
  // all(): every parameter in order, the given ones and the defaults.
  std::vector<std::string> names;
  for (const BoundArg *a : root.children()[3].second->args.all())
    names.push_back(fmt::format("{}={}", a->name(), pythonRepr(a->value)));
  EXPECT_EQ(fmt::format("{}", fmt::join(names, " ")), "alpha=2.0 inplace=False");
  // The trace's shapes are interned: [N, 8], [N, 4] and none other.
  EXPECT_EQ(models[0]->trace.shapes.size(), 2u);
  EXPECT_EQ(&models[0]->trace.values[1].shape, &models[0]->trace.values[2].shape); // ReLU's is its input's
}

// A call's arguments live in one ArgList; a keyword's range is read from
// the start of its argument's.
TEST(AstArgList, KeywordsAndTheirRangesFromTheArgument) {
  SourceManager sources;
  const std::string text = "model M(x: [N, 8]) = Sequential(first = Linear(8, 4, bias=False), second = ReLU())\n";
  FileId id = sources.addFile("m.seq", text);
  Diagnostics diags(sources);
  std::unique_ptr<ast::File> file = parse::parseFile(sources, id, diags);
  ASSERT_TRUE(file);
  const auto *call = file->definitions[0]->expr->as<ast::CallExpr>();
  ASSERT_TRUE(call);
  ASSERT_EQ(call->args.size(), 2u);
  std::vector<std::string> keywords;
  for (const ast::Arg &a : call->args) {
    SourceRange r = a.nameRange();
    keywords.push_back(text.substr(r.begin, r.end - r.begin) + "|" + std::string(a.name()));
  }
  EXPECT_EQ(fmt::format("{}", fmt::join(keywords, " ")), "first|first second|second");
  const auto *linear = call->args[0].value()->as<ast::CallExpr>();
  ASSERT_TRUE(linear);
  ASSERT_EQ(linear->args.size(), 3u);
  EXPECT_TRUE(linear->args[0].name().empty());
  EXPECT_FALSE(linear->args[0].nameRange().valid());
  EXPECT_EQ(linear->args[2].name(), "bias");
  ast::ArgList moved = std::move(const_cast<ast::CallExpr *>(linear)->args);
  EXPECT_EQ(moved.size(), 3u);
  EXPECT_TRUE(linear->args.empty());
  EXPECT_EQ(moved.back().name(), "bias");
}

// A container called by name is built from its arguments' values alone
// (evalCall), reading keywords and their ranges from the AST.
TEST(SemaContainer, BuiltFromValuesAsFromArguments) {
  auto checked = checkModels("model M(x: [N, 8]) = Sequential(a = Linear(8, 8), b = ReLU())\n");
  const auto &models = checked->models;
  ASSERT_EQ(models.size(), 1u);
  const ModuleInst &root = *models[0]->root;
  ASSERT_EQ(root.children().size(), 2u);
  EXPECT_EQ(root.children()[0].first, "a");
  EXPECT_EQ(root.children()[1].first, "b");
  EXPECT_TRUE(root.children()[0].second->children().empty()); // a layer has none
  const std::string list = checkSource("model M(x: [N, 8]) = ModuleList(a = ReLU())\n", {}).diagnostics;
  EXPECT_NE(list.find("m.seq:1:33: error: ModuleList takes its modules as positional arguments"),
            std::string::npos) << list;
}

TEST(SemaValue, ChildNamesInlineAndLong) {
  ChildName index("99999"), seven("layer12"), empty;
  EXPECT_EQ(index.view(), "99999");
  EXPECT_EQ(seven.view(), "layer12");
  EXPECT_TRUE(empty.empty());
  std::string longName(40, 'x');
  ChildName heap(longName);
  EXPECT_EQ(heap.view(), longName);
  ChildName copy = heap, moved = std::move(copy);
  EXPECT_EQ(moved, longName);
  EXPECT_TRUE(copy.empty()); // NOLINT: a moved-from name is empty
  moved = index;
  EXPECT_EQ(moved, "99999");
  moved = ChildName(longName + "y");
  EXPECT_EQ(moved.str(), longName + "y");
  EXPECT_EQ("a." + seven + ".b", "a.layer12.b");
  EXPECT_EQ(fmt::format("'{}'", index), "'99999'");
  ModuleInst::Children children;
  for (int i = 0; i < 100; ++i)
    children.push_back({std::to_string(i), nullptr}); // moved as the vector grows
  EXPECT_EQ(children[42].first, "42");
  EXPECT_EQ(children[99].first.view(), "99");
}

TEST(SemaValue, BoundListGrowsCopiesAndMoves) {
  BoundList list;
  for (int i = 0; i < 9; ++i)
    list.push_back({"x", Value::integer_(i), i % 2 == 0, {}});
  ASSERT_EQ(list.size(), 9u);
  EXPECT_EQ(list[8].value.asInt(), 8);
  BoundList copy = list;
  list.clear();
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(copy[3].value.asInt(), 3);
  EXPECT_FALSE(copy[3].given);
  BoundList moved = std::move(copy);
  EXPECT_EQ(moved.size(), 9u);
  moved = {{"a", Value::string("s"), true, {}}};
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].value.str(), "s");
}

// The arena keeps every module where it was made (values and children
// point to them), across its blocks, and destroys each once (ASan).
TEST(SemaValue, ModuleArenaKeepsModulesInPlace) {
  ModuleArena arena;
  std::vector<ModuleInst *> made;
  for (int i = 0; i < 3000; ++i) {
    ModuleInst &m = arena.emplace_back();
    m.output = i;
    m.kind = i % 2 ? ModuleInst::Kind::Sequential : ModuleInst::Kind::User;
    if (i % 2)
      m.mutableChildren().push_back({std::to_string(i), made.empty() ? nullptr : made.back()});
    made.push_back(&m);
  }
  EXPECT_EQ(arena.size(), 3000u);
  for (int i = 0; i < 3000; ++i)
    ASSERT_EQ(made[size_t(i)]->output, i);
  EXPECT_EQ(made[2999]->children()[0].second, made[2998]);
  ModuleArena moved = std::move(arena);
  EXPECT_EQ(moved.size(), 3000u);
  EXPECT_EQ(made[1500]->output, 1500);
}

// A module's class name: its layer's or its kind's without attributes, a
// Definition's kept with them; its path, inline up to 16 MiB, longer
// with its attributes. The kind lives in the same word as the path's size.
TEST(SemaValue, ModuleClassNameAndPath) {
  ModuleArena arena;
  ModuleInst &seq = arena.emplace_back();
  seq.kind = ModuleInst::Kind::Sequential;
  EXPECT_EQ(seq.className(), "Sequential");
  seq.setClassName("Sequential");
  EXPECT_TRUE(seq.constants().empty());
  seq.setClassName("Deep");
  EXPECT_EQ(seq.className(), "Deep");
  EXPECT_EQ(seq.kind, ModuleInst::Kind::Sequential);
  ModuleInst &list = arena.emplace_back();
  list.kind = ModuleInst::Kind::ModuleList;
  EXPECT_EQ(list.className(), "ModuleList");
  ModuleInst &user = arena.emplace_back();
  std::string name = "Block";
  user.setClassName(name);
  EXPECT_EQ(user.className(), "Block");
  user.setPath("layer1.0");
  EXPECT_EQ(user.path(), "layer1.0");
  EXPECT_EQ(user.kind, ModuleInst::Kind::User);
  std::string longPath((size_t(1) << 24) + 5, 'p');
  user.setPath(longPath);
  EXPECT_EQ(user.path().size(), longPath.size());
  EXPECT_EQ(user.path().data(), longPath.data());
  user.setPath("a.b");
  EXPECT_EQ(user.path(), "a.b");
  EXPECT_EQ(user.kind, ModuleInst::Kind::User);
  EXPECT_EQ(user.className(), "Block");
  // A module's range is its arguments' call; a definition that renames it
  // gives it another, and its arguments keep theirs (their defaults' range).
  ModuleInst &layer = arena.emplace_back();
  layer.kind = ModuleInst::Kind::Layer;
  layer.args.call = {1, 4, 9};
  layer.setRange({1, 4, 9});
  EXPECT_EQ(layer.range().begin, 4u);
  layer.setRange({1, 20, 30});
  EXPECT_EQ(layer.range().begin, 20u);
  EXPECT_EQ(layer.range().end, 30u);
  EXPECT_EQ(layer.args.call.begin, 4u);
  EXPECT_EQ(layer.kind, ModuleInst::Kind::Layer);
}

// A bound argument's name is interned: equal names, equal ids, whatever
// their storage; the text outlives the string it was copied from.
TEST(SemaValue, BoundArgNamesAreInterned) {
  std::string a = "kernel_size", b = "kernel_size";
  uint32_t id = paramnames::intern(a);
  EXPECT_EQ(paramnames::intern(b), id);
  EXPECT_NE(paramnames::intern("stride"), id);
  EXPECT_EQ(paramnames::intern(""), 0u);
  BoundArg arg(std::string("padding_mode"), Value::integer_(3), true, {1, 4, 9});
  EXPECT_STREQ(arg.name(), "padding_mode");
  EXPECT_EQ(arg.nameId(), paramnames::intern("padding_mode"));
  EXPECT_TRUE(arg.given);
  EXPECT_EQ(arg.range.end, 9u);
  BoundArg none;
  EXPECT_STREQ(none.name(), "");
  EXPECT_FALSE(none.given);
  BoundArg copy = arg;
  copy.given = false;
  EXPECT_STREQ(copy.name(), "padding_mode");
  EXPECT_TRUE(arg.given);
  for (int i = 0; i < 5000; ++i) // beyond a chunk of the table
    ASSERT_STREQ(paramnames::name(paramnames::intern("p" + std::to_string(i))), ("p" + std::to_string(i)).c_str());
}
