// AstBuilder: ANTLR parse tree -> AST.
#include "parse/AstBuilder.h"

// GCC 12 reports -Wmismatched-new-delete where std::make_unique's cleanup
// inlines ast::Expr's destroying delete against PooledNode's operator new:
// a matched pair (NodePool.cpp), GCC's false positive (its PR 109224 and
// kin; clang has no such warning).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "parse/Literals.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace seq::parse {

using namespace seq::ast;

BinaryOp binaryOp(const std::string &text);

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
  def->isDef = ctx->kind->getType() == P::DEF;
  def->name = ctx->name->getText();
  def->nameRange = range(ctx->name);
  def->range = range(ctx);
  if (P::ParamListContext *params = ctx->paramList()) {
    for (P::ParamContext *p : params->param()) {
      DefParam param;
      param.name = p->name->getText();
      param.nameRange = range(p->name);
      if (p->typeExpr()) {
        param.type = buildType(p->typeExpr());
      } else {
        param.type.kind = TypeExpr::Kind::None;
        param.type.range = param.nameRange;
      }
      if (p->defaultValue)
        param.defaultValue = buildExpr(p->defaultValue);
      def->params.push_back(std::move(param));
    }
  }
  if (ctx->body) {
    def->expr = buildExpr(ctx->body);
    if (ctx->block())
      def->body = buildBlock(ctx->block()); // a container subclass's forward
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
    type.name = named->getText();
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

StmtPtr AstBuilder::buildIf(SourceRange r, P::ExprContext *cond, P::BlockContext *then,
                            P::ElseClauseContext *orElse) {
  ExprPtr condition = buildExpr(cond);
  std::vector<StmtPtr> thenBody = buildBlock(then);
  std::vector<StmtPtr> elseBody;
  if (orElse && orElse->expr()) {
    SourceRange er = SourceRange::cover(range(orElse->expr()), range(orElse->block()));
    elseBody.push_back(buildIf(er, orElse->expr(), orElse->block(), orElse->elseClause()));
  } else if (orElse) {
    elseBody = buildBlock(orElse->block());
  }
  return std::make_unique<IfStmt>(r, std::move(condition), std::move(thenBody), std::move(elseBody));
}

// An assignment target: a name, or an expression the checker reports.
static bool targetName(const ExprPtr &e, std::string &name) {
  if (auto *n = e->as<NameExpr>()) {
    name = n->name();
    return true;
  }
  return false;
}

StmtPtr AstBuilder::buildStmt(P::StmtContext *ctx) {
  SourceRange r = range(ctx);
  if (auto *assign = dynamic_cast<P::AssignStmtContext *>(ctx)) {
    ExprPtr target = buildExpr(assign->target);
    ExprPtr value = buildExpr(assign->value);
    std::string name;
    auto stmt = std::make_unique<AssignStmt>(r, "", target->range, std::move(value));
    if (targetName(target, name))
      stmt->target = name;
    else
      stmt->targetExpr = std::move(target);
    return stmt;
  }
  if (auto *aug = dynamic_cast<P::AugAssignStmtContext *>(ctx)) {
    ExprPtr target = buildExpr(aug->target);
    ExprPtr value = buildExpr(aug->value);
    std::string name;
    auto stmt = std::make_unique<AssignStmt>(r, "", target->range, std::move(value));
    stmt->augOp = binaryOp(aug->op->getText().substr(0, aug->op->getText().size() - 1));
    if (targetName(target, name))
      stmt->target = name;
    else
      stmt->targetExpr = std::move(target);
    return stmt;
  }
  if (auto *unpack = dynamic_cast<P::UnpackStmtContext *>(ctx)) {
    std::vector<P::ExprContext *> targets = unpack->expr();
    targets.pop_back(); // the value
    SourceRange all = SourceRange::cover(range(targets.front()), range(targets.back()));
    std::vector<AssignTarget> names;
    for (P::ExprContext *t : targets) {
      ExprPtr e = buildExpr(t);
      std::string name;
      if (!targetName(e, name)) {
        diags_.error(e->range, "only names can be unpacked into: 'a, b = x.chunk(2, dim=1)'");
        name = "";
      }
      names.push_back({name, e->range, {}});
    }
    auto stmt = std::make_unique<AssignStmt>(r, "", all, buildExpr(unpack->value));
    stmt->unpack = std::move(names);
    return stmt;
  }
  if (auto *branch = dynamic_cast<P::IfStmtContext *>(ctx))
    return buildIf(r, branch->expr(), branch->block(), branch->elseClause());
  if (auto *ret = dynamic_cast<P::ReturnStmtContext *>(ctx))
    return std::make_unique<ReturnStmt>(r, buildExpr(ret->expr()));
  if (auto *loop = dynamic_cast<P::ForStmtContext *>(ctx)) {
    std::vector<P::LoopTargetContext *> targets = loop->loopTarget();
    std::vector<AssignTarget> unpack;
    for (P::LoopTargetContext *t : targets)
      unpack.push_back(buildLoopTarget(t));
    const AssignTarget *first = &unpack.front();
    while (!first->nested.empty())
      first = &first->nested.front();
    SourceRange vars = SourceRange::cover(range(targets.front()), range(targets.back()));
    ExprPtr iterable = buildExpr(loop->expr());
    auto stmt = std::make_unique<ForStmt>(r, first->name, vars, std::move(iterable),
                                          buildBlock(loop->block()));
    if (unpack.size() > 1 || !unpack.front().nested.empty())
      stmt->unpack = std::move(unpack);
    return stmt;
  }
  if (auto *forward = dynamic_cast<P::ForwardStmtContext *>(ctx)) {
    std::vector<Param> params;
    for (antlr4::tree::TerminalNode *name : forward->NAME())
      params.push_back({name->getText(), tokens_.range(name)});
    return std::make_unique<ForwardStmt>(r, std::move(params), buildBlock(forward->block()));
  }
  auto *exprStmt = dynamic_cast<P::ExprStmtContext *>(ctx);
  return std::make_unique<ExprStmt>(r, buildExpr(exprStmt->expr()));
}

BinaryOp binaryOp(const std::string &text) {
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
  if (auto *binary = dynamic_cast<P::BinaryExprContext *>(ctx)) {
    ExprPtr lhs = buildExpr(binary->expr(0));
    return std::make_unique<BinaryExpr>(r, binaryOp(binary->op->getText()), std::move(lhs),
                                        buildExpr(binary->expr(1)));
  }
  if (auto *unary = dynamic_cast<P::UnaryExprContext *>(ctx))
    return std::make_unique<UnaryExpr>(r, unary->op->getText()[0], buildExpr(unary->expr()));
  if (auto *call = dynamic_cast<P::CallExprContext *>(ctx)) {
    ExprPtr callee = buildExpr(call->expr());
    return std::make_unique<CallExpr>(r, std::move(callee), buildArgs(call->argList()));
  }
  if (auto *cmp = dynamic_cast<P::CompareExprContext *>(ctx))
    return buildCompare(cmp);
  if (auto *n = dynamic_cast<P::NotExprContext *>(ctx))
    return std::make_unique<NotExpr>(r, buildExpr(n->expr()));
  if (auto *b = dynamic_cast<P::BoolExprContext *>(ctx)) {
    ExprPtr lhs = buildExpr(b->expr(0));
    return std::make_unique<BoolOpExpr>(r, b->op->getType() == P::AND, std::move(lhs),
                                        buildExpr(b->expr(1)));
  }
  if (auto *t = dynamic_cast<P::TernaryExprContext *>(ctx)) {
    ExprPtr then = buildExpr(t->expr(0));
    ExprPtr cond = buildExpr(t->expr(1));
    return std::make_unique<TernaryExpr>(r, std::move(then), std::move(cond), buildExpr(t->expr(2)));
  }
  if (auto *attr = dynamic_cast<P::AttrExprContext *>(ctx))
    return std::make_unique<AttributeExpr>(r, buildExpr(attr->expr()), attr->NAME()->getText(),
                                           tokens_.range(attr->NAME()));
  auto *index = dynamic_cast<P::IndexExprContext *>(ctx);
  std::vector<P::SubscriptContext *> subs = index->subscript();
  ExprPtr object = buildExpr(index->expr());
  if (subs.size() == 1 && index->children.size() == 4) // x[i], no trailing comma
    return std::make_unique<IndexExpr>(r, std::move(object), buildSubscript(subs[0]));
  std::vector<ExprPtr> parts;
  for (P::SubscriptContext *sub : subs)
    parts.push_back(buildSubscript(sub));
  SourceRange all = SourceRange::cover(range(subs.front()), range(subs.back()));
  return std::make_unique<IndexExpr>(r, std::move(object),
                                     std::make_unique<TupleExpr>(all, std::move(parts)));
}

ExprPtr AstBuilder::buildAtom(P::AtomContext *ctx) {
  SourceRange r = range(ctx);
  if (dynamic_cast<P::NameAtomContext *>(ctx))
    return NameExpr::make(r, text_.substr(r.begin, r.end - r.begin));
  if (auto *i = dynamic_cast<P::IntAtomContext *>(ctx))
    return intLiteral(i->getText(), r, diags_);
  if (auto *f = dynamic_cast<P::FloatAtomContext *>(ctx))
    return floatLiteral(f->getText(), r, diags_);
  if (auto *s = dynamic_cast<P::StringAtomContext *>(ctx))
    return stringLiteral(s->getText(), r);
  if (dynamic_cast<P::FstringAtomContext *>(ctx))
    return fstringLiteral(text_.substr(r.begin, r.end - r.begin), r, diags_);
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
  ExprPtr elementExpr = buildExpr(element);
  return std::make_unique<ComprehensionExpr>(r, std::move(elementExpr), compFor->var->getText(),
                                             range(compFor->var), buildExpr(compFor->expr()));
}

AssignTarget AstBuilder::buildLoopTarget(P::LoopTargetContext *ctx) {
  if (auto *name = dynamic_cast<P::NameTargetContext *>(ctx))
    return {name->NAME()->getText(), range(ctx), {}};
  AssignTarget group{"", range(ctx), {}};
  for (P::LoopTargetContext *t : dynamic_cast<P::GroupTargetContext *>(ctx)->loopTarget())
    group.nested.push_back(buildLoopTarget(t));
  return group;
}

ExprPtr AstBuilder::buildSubscript(P::SubscriptContext *ctx) {
  if (auto *index = dynamic_cast<P::IndexSubscriptContext *>(ctx))
    return buildExpr(index->expr());
  if (dynamic_cast<P::EllipsisSubscriptContext *>(ctx))
    return std::make_unique<EllipsisExpr>(range(ctx));
  auto *slice = dynamic_cast<P::SliceSubscriptContext *>(ctx);
  auto optional = [&](P::ExprContext *e) { return e ? buildExpr(e) : nullptr; };
  ExprPtr lo = optional(slice->lo);
  ExprPtr hi = optional(slice->hi);
  return std::make_unique<SliceExpr>(range(ctx), std::move(lo), std::move(hi), optional(slice->step));
}

std::vector<Arg> AstBuilder::buildArgs(P::ArgListContext *ctx) {
  std::vector<Arg> args;
  if (!ctx)
    return args;
  std::vector<P::ArgContext *> ctxs = ctx->arg();
  args.reserve(ctxs.size()); // exactly: a Sequential may have 100,000 children
  for (P::ArgContext *a : ctxs) {
    Arg arg;
    SourceRange whole = range(a);
    if (auto *kw = dynamic_cast<P::KeywordArgContext *>(a)) {
      SourceRange keyword = tokens_.range(kw->NAME());
      arg.setName(text_.substr(keyword.begin, keyword.end - keyword.begin), keyword);
      arg.setValue(buildExpr(kw->expr()));
    } else if (auto *star = dynamic_cast<P::StarArgContext *>(a)) {
      arg.setValue(std::make_unique<StarExpr>(whole, buildExpr(star->expr())));
    } else if (auto *gen = dynamic_cast<P::GeneratorArgContext *>(a)) {
      arg.setValue(buildComprehension(whole, gen->expr(), gen->compFor()));
    } else {
      arg.setValue(buildExpr(dynamic_cast<P::PositionalArgContext *>(a)->expr()));
    }
    args.push_back(std::move(arg));
  }
  return args;
}

std::vector<ExprPtr> AstBuilder::buildExprs(const std::vector<P::ExprContext *> &ctxs) {
  std::vector<ExprPtr> exprs;
  exprs.reserve(ctxs.size());
  for (P::ExprContext *e : ctxs)
    exprs.push_back(buildExpr(e));
  return exprs;
}

} // namespace seq::parse

namespace seq::parse {

static CompareOp compareOp(antlr::SeqParser::CompOpContext *ctx) {
  std::string t = ctx->getText();
  if (t == "<") return CompareOp::Lt;
  if (t == ">") return CompareOp::Gt;
  if (t == "==") return CompareOp::Eq;
  if (t == ">=") return CompareOp::Ge;
  if (t == "<=") return CompareOp::Le;
  if (t == "!=") return CompareOp::Ne;
  if (t == "is") return CompareOp::Is;
  if (t == "isnot") return CompareOp::IsNot;
  if (t == "in") return CompareOp::In;
  return CompareOp::NotIn;
}

// `a < b < c` is one chain, as in Python; a parenthesised comparison on the
// left is an operand.
ExprPtr AstBuilder::buildCompare(P::CompareExprContext *ctx) {
  std::vector<CompareOp> ops;
  std::vector<ExprPtr> operands;
  P::CompareExprContext *lhs = dynamic_cast<P::CompareExprContext *>(ctx->expr(0));
  if (lhs) {
    ExprPtr inner = buildCompare(lhs);
    auto *chain = static_cast<CompareExpr *>(inner.get());
    ops = std::move(chain->ops);
    operands = std::move(chain->operands);
  } else {
    operands.push_back(buildExpr(ctx->expr(0)));
  }
  ops.push_back(compareOp(ctx->compOp()));
  operands.push_back(buildExpr(ctx->expr(1)));
  return std::make_unique<CompareExpr>(range(ctx), std::move(ops), std::move(operands));
}

} // namespace seq::parse
