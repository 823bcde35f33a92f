// AstBuilder: ANTLR parse tree -> AST.
#include "parse/AstBuilder.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

namespace seq::parse {

using namespace seq::ast;

std::unique_ptr<File> AstBuilder::buildFile(P::FileContext *ctx) {
  auto file = std::make_unique<File>();
  file->id = tokens_.file();
  for (P::DefinitionContext *def : ctx->definition())
    file->definitions.push_back(buildDefinition(def));
  return file;
}

std::unique_ptr<Definition> AstBuilder::buildDefinition(P::DefinitionContext *ctx) {
  auto def = std::make_unique<Definition>();
  def->isModel = ctx->kind->getType() == P::MODEL;
  def->name = ctx->name->getText();
  def->nameRange = range(ctx->name);
  def->range = range(ctx);
  if (P::ParamListContext *params = ctx->paramList()) {
    for (P::ParamContext *p : params->param()) {
      DefParam param;
      param.name = p->name->getText();
      param.nameRange = range(p->name);
      param.type = buildType(p->typeExpr());
      if (p->defaultValue)
        param.defaultValue = buildExpr(p->defaultValue);
      def->params.push_back(std::move(param));
    }
  }
  if (ctx->body) {
    def->expr = buildExpr(ctx->body);
  } else {
    def->hasBody = true;
    def->body = buildBlock(ctx->block());
  }
  return def;
}

TypeExpr AstBuilder::buildType(P::TypeExprContext *ctx) {
  TypeExpr type;
  type.range = range(ctx);
  if (auto *shape = dynamic_cast<P::ShapeTypeContext *>(ctx)) {
    type.kind = TypeExpr::Kind::Shape;
    type.name = shape->elem ? shape->elem->getText() : "";
    type.dims = buildExprs(shape->expr());
  } else if (auto *named = dynamic_cast<P::NamedTypeContext *>(ctx)) {
    type.kind = TypeExpr::Kind::Named;
    type.name = named->NAME()->getText();
  } else if (auto *tuple = dynamic_cast<P::TupleTypeContext *>(ctx)) {
    type.kind = TypeExpr::Kind::Tuple;
    for (P::TypeExprContext *element : tuple->typeExpr())
      type.elements.push_back(buildType(element));
  }
  return type;
}

std::vector<StmtPtr> AstBuilder::buildBlock(P::BlockContext *ctx) {
  std::vector<StmtPtr> stmts;
  for (P::StmtContext *stmt : ctx->stmt())
    stmts.push_back(buildStmt(stmt));
  return stmts;
}

StmtPtr AstBuilder::buildStmt(P::StmtContext *ctx) {
  SourceRange r = range(ctx);
  if (auto *assign = dynamic_cast<P::AssignStmtContext *>(ctx))
    return std::make_unique<AssignStmt>(r, assign->target->getText(), range(assign->target),
                                        buildExpr(assign->expr()));
  if (auto *ret = dynamic_cast<P::ReturnStmtContext *>(ctx))
    return std::make_unique<ReturnStmt>(r, buildExpr(ret->expr()));
  if (auto *loop = dynamic_cast<P::ForStmtContext *>(ctx))
    return std::make_unique<ForStmt>(r, loop->var->getText(), range(loop->var),
                                     buildExpr(loop->expr()), buildBlock(loop->block()));
  if (auto *forward = dynamic_cast<P::ForwardStmtContext *>(ctx)) {
    std::vector<Param> params;
    for (antlr4::tree::TerminalNode *name : forward->NAME())
      params.push_back({name->getText(), tokens_.range(name)});
    return std::make_unique<ForwardStmt>(r, std::move(params), buildBlock(forward->block()));
  }
  auto *exprStmt = dynamic_cast<P::ExprStmtContext *>(ctx);
  return std::make_unique<ExprStmt>(r, buildExpr(exprStmt->expr()));
}

static BinaryOp binaryOp(const std::string &text) {
  if (text == "+") return BinaryOp::Add;
  if (text == "-") return BinaryOp::Sub;
  if (text == "*") return BinaryOp::Mul;
  if (text == "/") return BinaryOp::Div;
  if (text == "//") return BinaryOp::FloorDiv;
  if (text == "%") return BinaryOp::Mod;
  return BinaryOp::Pow;
}

ExprPtr AstBuilder::buildExpr(P::ExprContext *ctx) {
  SourceRange r = range(ctx);
  if (auto *atom = dynamic_cast<P::AtomExprContext *>(ctx))
    return buildAtom(atom->atom());
  if (auto *binary = dynamic_cast<P::BinaryExprContext *>(ctx))
    return std::make_unique<BinaryExpr>(r, binaryOp(binary->op->getText()),
                                        buildExpr(binary->expr(0)), buildExpr(binary->expr(1)));
  if (auto *unary = dynamic_cast<P::UnaryExprContext *>(ctx))
    return std::make_unique<UnaryExpr>(r, unary->op->getText()[0], buildExpr(unary->expr()));
  if (auto *call = dynamic_cast<P::CallExprContext *>(ctx))
    return std::make_unique<CallExpr>(r, buildExpr(call->expr()), buildArgs(call->argList()));
  if (auto *attr = dynamic_cast<P::AttrExprContext *>(ctx))
    return std::make_unique<AttributeExpr>(r, buildExpr(attr->expr()), attr->NAME()->getText(),
                                           tokens_.range(attr->NAME()));
  auto *index = dynamic_cast<P::IndexExprContext *>(ctx);
  return std::make_unique<IndexExpr>(r, buildExpr(index->expr()), buildSubscript(index->subscript()));
}

ExprPtr AstBuilder::buildAtom(P::AtomContext *ctx) {
  SourceRange r = range(ctx);
  if (auto *name = dynamic_cast<P::NameAtomContext *>(ctx))
    return std::make_unique<NameExpr>(r, name->getText());
  if (auto *i = dynamic_cast<P::IntAtomContext *>(ctx))
    return intLiteral(i->INT()->getSymbol());
  if (auto *f = dynamic_cast<P::FloatAtomContext *>(ctx))
    return floatLiteral(f->FLOAT()->getSymbol());
  if (auto *s = dynamic_cast<P::StringAtomContext *>(ctx))
    return stringLiteral(s->STRING()->getSymbol());
  if (auto *b = dynamic_cast<P::BoolAtomContext *>(ctx))
    return std::make_unique<BoolExpr>(r, b->TRUE() != nullptr);
  if (dynamic_cast<P::NoneAtomContext *>(ctx))
    return std::make_unique<NoneExpr>(r);
  if (auto *paren = dynamic_cast<P::ParenAtomContext *>(ctx)) {
    ExprPtr inner = buildExpr(paren->expr());
    inner->range = r; // the parentheses belong to what they enclose
    return inner;
  }
  if (auto *tuple = dynamic_cast<P::TupleAtomContext *>(ctx))
    return std::make_unique<TupleExpr>(r, buildExprs(tuple->expr()));
  if (auto *list = dynamic_cast<P::ListAtomContext *>(ctx))
    return std::make_unique<ListExpr>(r, buildExprs(list->expr()));
  if (auto *gen = dynamic_cast<P::GeneratorAtomContext *>(ctx))
    return buildComprehension(r, gen->expr(), gen->compFor());
  auto *comp = dynamic_cast<P::ListCompAtomContext *>(ctx);
  return buildComprehension(r, comp->expr(), comp->compFor());
}

ExprPtr AstBuilder::buildComprehension(SourceRange r, P::ExprContext *element,
                                       P::CompForContext *compFor) {
  return std::make_unique<ComprehensionExpr>(r, buildExpr(element), compFor->var->getText(),
                                             range(compFor->var), buildExpr(compFor->expr()));
}

ExprPtr AstBuilder::buildSubscript(P::SubscriptContext *ctx) {
  if (auto *index = dynamic_cast<P::IndexSubscriptContext *>(ctx))
    return buildExpr(index->expr());
  auto *slice = dynamic_cast<P::SliceSubscriptContext *>(ctx);
  auto optional = [&](P::ExprContext *e) { return e ? buildExpr(e) : nullptr; };
  return std::make_unique<SliceExpr>(range(ctx), optional(slice->lo), optional(slice->hi),
                                     optional(slice->step));
}

std::vector<Arg> AstBuilder::buildArgs(P::ArgListContext *ctx) {
  std::vector<Arg> args;
  if (!ctx)
    return args;
  for (P::ArgContext *a : ctx->arg()) {
    Arg arg;
    arg.range = range(a);
    if (auto *kw = dynamic_cast<P::KeywordArgContext *>(a)) {
      arg.name = kw->NAME()->getText();
      arg.nameRange = tokens_.range(kw->NAME());
      arg.value = buildExpr(kw->expr());
    } else if (auto *gen = dynamic_cast<P::GeneratorArgContext *>(a)) {
      arg.value = buildComprehension(arg.range, gen->expr(), gen->compFor());
    } else {
      arg.value = buildExpr(dynamic_cast<P::PositionalArgContext *>(a)->expr());
    }
    args.push_back(std::move(arg));
  }
  return args;
}

std::vector<ExprPtr> AstBuilder::buildExprs(const std::vector<P::ExprContext *> &ctxs) {
  std::vector<ExprPtr> exprs;
  for (P::ExprContext *e : ctxs)
    exprs.push_back(buildExpr(e));
  return exprs;
}

ExprPtr AstBuilder::intLiteral(antlr4::Token *token) {
  std::string text = token->getText();
  int64_t value = 0;
  bool tooLarge = false;
  for (char c : text) {
    if (__builtin_mul_overflow(value, int64_t(10), &value) ||
        __builtin_add_overflow(value, int64_t(c - '0'), &value)) {
      diags_.error(range(token), fmt::format("integer literal '{}' is too large (the largest is "
                                             "9223372036854775807)",
                                             text.size() > 40 ? text.substr(0, 40) + "..." : text));
      tooLarge = true;
      break;
    }
  }
  return std::make_unique<IntExpr>(range(token), value, tooLarge);
}

ExprPtr AstBuilder::floatLiteral(antlr4::Token *token) {
  std::string text = token->getText();
  double value = std::strtod(text.c_str(), nullptr);
  bool outOfRange = std::isinf(value);
  if (outOfRange)
    diags_.error(range(token), fmt::format("float literal '{}' is out of range",
                                           text.size() > 40 ? text.substr(0, 40) + "..." : text));
  return std::make_unique<FloatExpr>(range(token), value, outOfRange);
}

ExprPtr AstBuilder::stringLiteral(antlr4::Token *token) {
  std::string text = token->getText();
  std::string value;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (c != '\\' || i + 2 >= text.size()) {
      value += c;
      continue;
    }
    char next = text[++i];
    switch (next) {
    case 'n': value += '\n'; break;
    case 't': value += '\t'; break;
    case 'r': value += '\r'; break;
    case '0': value += '\0'; break;
    default: value += next; break;
    }
  }
  return std::make_unique<StringExpr>(range(token), std::move(value));
}

} // namespace seq::parse
