// AstDump: the AST as text, one node a line, `<line:col-line:col>` each.
#include "ast/AstDump.h"

#include <fmt/format.h>

namespace seq::ast {

const char *spelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add: return "+";
  case BinaryOp::Sub: return "-";
  case BinaryOp::Mul: return "*";
  case BinaryOp::Div: return "/";
  case BinaryOp::FloorDiv: return "//";
  case BinaryOp::Mod: return "%";
  case BinaryOp::Pow: return "**";
  }
  return "?";
}

const char *spelling(CompareOp op) {
  switch (op) {
  case CompareOp::Lt: return "<";
  case CompareOp::Gt: return ">";
  case CompareOp::Eq: return "==";
  case CompareOp::Ge: return ">=";
  case CompareOp::Le: return "<=";
  case CompareOp::Ne: return "!=";
  case CompareOp::Is: return "is";
  case CompareOp::IsNot: return "is not";
  case CompareOp::In: return "in";
  case CompareOp::NotIn: return "not in";
  }
  return "?";
}

namespace {

class Dumper {
public:
  explicit Dumper(const SourceManager &sources) : sources_(sources) {}

  void line(int indent, std::string_view text, SourceRange range) {
    LineColumn b = sources_.lineColumn(range.file, range.begin);
    LineColumn e = sources_.lineColumn(range.file, range.end);
    out_ += fmt::format("{:{}}{} <{}:{}-{}:{}>\n", "", indent * 2, text, b.line, b.column, e.line,
                        e.column);
  }

  void definition(const Definition &def) {
    line(0, fmt::format("{} {}", def.isModel ? "Model" : def.isDef ? "Def" : "Module", def.name),
         def.range);
    for (const DefParam &p : def.params) {
      line(1, fmt::format("Param {}: {}", p.name, typeText(p.type)), p.nameRange);
      if (p.defaultValue)
        expr(2, *p.defaultValue);
    }
    if (def.expr)
      expr(1, *def.expr);
    for (const StmtPtr &s : def.body)
      stmt(1, *s);
  }

  void stmt(int indent, const Stmt &s) {
    if (auto *a = s.as<AssignStmt>()) {
      std::string targets = a->target;
      for (const AssignTarget &t : a->unpack)
        targets += (targets.empty() ? "" : ", ") + t.name;
      if (a->targetExpr)
        targets = std::string(sources_.text(a->targetExpr->range));
      line(indent, fmt::format("Assign{} {}", a->augOp ? std::string(" ") + spelling(*a->augOp) + "=" : "",
                               targets), s.range);
      expr(indent + 1, *a->value);
    } else if (auto *i = s.as<IfStmt>()) {
      line(indent, "If", s.range);
      expr(indent + 1, *i->cond);
      for (const StmtPtr &b : i->then)
        stmt(indent + 1, *b);
      if (!i->orElse.empty())
        line(indent, "Else", s.range);
      for (const StmtPtr &b : i->orElse)
        stmt(indent + 1, *b);
    } else if (auto *e = s.as<ExprStmt>()) {
      line(indent, "ExprStmt", s.range);
      expr(indent + 1, *e->expr);
    } else if (auto *r = s.as<ReturnStmt>()) {
      line(indent, "Return", s.range);
      expr(indent + 1, *r->value);
    } else if (auto *f = s.as<ForStmt>()) {
      line(indent, fmt::format("For {}", f->var), s.range);
      expr(indent + 1, *f->iterable);
      for (const StmtPtr &b : f->body)
        stmt(indent + 1, *b);
    } else if (auto *fw = s.as<ForwardStmt>()) {
      std::string params;
      for (const Param &p : fw->params)
        params += (params.empty() ? "" : ", ") + p.name;
      line(indent, fmt::format("Forward({})", params), s.range);
      for (const StmtPtr &b : fw->body)
        stmt(indent + 1, *b);
    }
  }

  void expr(int indent, const Expr &e) {
    switch (e.kind) {
    case ExprKind::Name: line(indent, fmt::format("Name {}", e.as<NameExpr>()->name()), e.range); break;
    case ExprKind::Int: line(indent, fmt::format("Int {}", e.as<IntExpr>()->value()), e.range); break;
    case ExprKind::Float: line(indent, fmt::format("Float {}", e.as<FloatExpr>()->value), e.range); break;
    case ExprKind::String: line(indent, fmt::format("String '{}'", e.as<StringExpr>()->value), e.range); break;
    case ExprKind::Bool: line(indent, fmt::format("Bool {}", e.as<BoolExpr>()->value), e.range); break;
    case ExprKind::None: line(indent, "None", e.range); break;
    case ExprKind::Unary: {
      auto *u = e.as<UnaryExpr>();
      line(indent, fmt::format("Unary {}", u->op), e.range);
      expr(indent + 1, *u->operand);
      break;
    }
    case ExprKind::Binary: {
      auto *b = e.as<BinaryExpr>();
      line(indent, fmt::format("Binary {}", spelling(b->op)), e.range);
      expr(indent + 1, *b->lhs);
      expr(indent + 1, *b->rhs);
      break;
    }
    case ExprKind::Call: {
      auto *c = e.as<CallExpr>();
      line(indent, "Call", e.range);
      expr(indent + 1, *c->callee);
      for (const Arg &a : c->args) {
        if (!a.name().empty())
          line(indent + 1, fmt::format("Keyword {}", a.name()), a.range());
        expr(indent + (a.name().empty() ? 1 : 2), *a.value());
      }
      break;
    }
    case ExprKind::Attribute: {
      auto *a = e.as<AttributeExpr>();
      line(indent, fmt::format("Attribute .{}", a->name), e.range);
      expr(indent + 1, *a->object);
      break;
    }
    case ExprKind::Index: {
      auto *i = e.as<IndexExpr>();
      line(indent, "Index", e.range);
      expr(indent + 1, *i->object);
      expr(indent + 1, *i->index);
      break;
    }
    case ExprKind::Slice: {
      auto *s = e.as<SliceExpr>();
      line(indent, "Slice", e.range);
      for (const ExprPtr *part : {&s->lo, &s->hi, &s->step})
        if (*part)
          expr(indent + 1, **part);
      break;
    }
    case ExprKind::Ellipsis: line(indent, "Ellipsis", e.range); break;
    case ExprKind::Tuple:
    case ExprKind::List: {
      bool tuple = e.kind == ExprKind::Tuple;
      line(indent, tuple ? "Tuple" : "List", e.range);
      for (const ExprPtr &el : tuple ? e.as<TupleExpr>()->elements : e.as<ListExpr>()->elements)
        expr(indent + 1, *el);
      break;
    }
    case ExprKind::Compare: {
      auto *c = e.as<CompareExpr>();
      std::string ops;
      for (CompareOp op : c->ops)
        ops += std::string(" ") + spelling(op);
      line(indent, "Compare" + ops, e.range);
      for (const ExprPtr &x : c->operands)
        expr(indent + 1, *x);
      break;
    }
    case ExprKind::Not:
      line(indent, "Not", e.range);
      expr(indent + 1, *e.as<NotExpr>()->operand);
      break;
    case ExprKind::BoolOp: {
      auto *b = e.as<BoolOpExpr>();
      line(indent, b->isAnd ? "And" : "Or", e.range);
      expr(indent + 1, *b->lhs);
      expr(indent + 1, *b->rhs);
      break;
    }
    case ExprKind::Ternary: {
      auto *t = e.as<TernaryExpr>();
      line(indent, "Ternary", e.range);
      expr(indent + 1, *t->then);
      expr(indent + 1, *t->cond);
      expr(indent + 1, *t->otherwise);
      break;
    }
    case ExprKind::FString:
      line(indent, "FString", e.range);
      for (const FStringPart &p : e.as<FStringExpr>()->parts)
        if (p.field)
          expr(indent + 1, *p.field);
      break;
    case ExprKind::Star:
      line(indent, "Star", e.range);
      expr(indent + 1, *e.as<StarExpr>()->operand);
      break;
    case ExprKind::Comprehension: {
      auto *c = e.as<ComprehensionExpr>();
      line(indent, fmt::format("Comprehension for {}", c->var), e.range);
      expr(indent + 1, *c->element);
      expr(indent + 1, *c->iterable);
      break;
    }
    }
  }

  std::string typeText(const TypeExpr &t) const {
    switch (t.kind) {
    case TypeExpr::Kind::Named: return t.name;
    case TypeExpr::Kind::None: return "any";
    case TypeExpr::Kind::Tuple: {
      std::string out;
      for (const TypeExpr &el : t.elements)
        out += (out.empty() ? "" : ", ") + typeText(el);
      return "(" + out + ")";
    }
    case TypeExpr::Kind::Shape: {
      std::string dims;
      for (const ExprPtr &d : t.dims)
        dims += (dims.empty() ? "" : ", ") + std::string(sources_.text(d->range));
      return t.name + "[" + dims + "]";
    }
    }
    return "";
  }

  std::string out_;

private:
  const SourceManager &sources_;
};

} // namespace

std::string dump(const File &file, const SourceManager &sources) {
  Dumper d(sources);
  for (const auto &def : file.definitions)
    d.definition(*def);
  return d.out_;
}

} // namespace seq::ast
