// ParseDiff: the direct parser against ANTLR's, on one text. Used by the
// differential unit test (tests/unit/parse_direct_test.cpp) and the `parse`
// fuzz target. The AST is compared through an exact dump that prints every
// field of every node with its byte range (AstDump leaves some out), and
// the diagnostics one by one, in the order they were reported.
#pragma once

#include "ast/Ast.h"
#include "basic/Diagnostics.h"
#include "basic/SourceManager.h"
#include "parse/Parser.h"

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace seq::fuzz {

// Every byte visible: a string value may hold anything.
inline std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s)
    out += c >= 0x20 && c < 0x7F && c != '"' && c != '\\' ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
  return out + "\"";
}

class ExactDump {
public:
  std::string out;

  void range(const SourceRange &r) { out += fmt::format("<{}:{}-{}>", r.file, r.begin, r.end); }
  void open(std::string_view what, const SourceRange &r) {
    out += fmt::format("({} ", what);
    range(r);
  }

  void file(const ast::File &f) {
    out += fmt::format("(File {}", f.id);
    for (const auto &d : f.definitions)
      definition(*d);
    out += ")";
  }
  void definition(const ast::Definition &d) {
    open("Def", d.range);
    out += fmt::format(" model={} def={} body={} {} ", d.isModel, d.isDef, d.hasBody, d.name);
    range(d.nameRange);
    for (const ast::DefParam &p : d.params) {
      out += fmt::format(" (Param {} ", p.name);
      range(p.nameRange);
      type(p.type);
      optional(p.defaultValue.get());
      out += ")";
    }
    optional(d.expr.get());
    stmts(d.body);
    out += ")";
  }
  void type(const ast::TypeExpr &t) {
    open("Type", t.range);
    out += fmt::format(" {} '{}'", int(t.kind), t.name);
    for (const ast::TypeExpr &e : t.elements)
      type(e);
    for (const ast::ExprPtr &e : t.dims)
      expr(*e);
    out += ")";
  }
  void stmts(const std::vector<ast::StmtPtr> &body) {
    out += " [";
    for (const ast::StmtPtr &s : body)
      stmt(*s);
    out += "]";
  }
  void target(const ast::AssignTarget &t) {
    out += fmt::format(" (Target '{}' ", t.name);
    range(t.range);
    for (const ast::AssignTarget &n : t.nested)
      target(n);
    out += ")";
  }
  void stmt(const ast::Stmt &s) {
    using namespace ast;
    if (auto *a = s.as<AssignStmt>()) {
      open("Assign", s.range);
      out += fmt::format(" '{}' aug={} ", a->target, a->augOp ? int(*a->augOp) : -1);
      range(a->targetRange);
      for (const AssignTarget &t : a->unpack)
        target(t);
      optional(a->targetExpr.get());
      expr(*a->value);
    } else if (auto *i = s.as<IfStmt>()) {
      open("If", s.range);
      expr(*i->cond);
      stmts(i->then);
      stmts(i->orElse);
    } else if (auto *e = s.as<ExprStmt>()) {
      open("ExprStmt", s.range);
      expr(*e->expr);
    } else if (auto *r = s.as<ReturnStmt>()) {
      open("Return", s.range);
      expr(*r->value);
    } else if (auto *f = s.as<ForStmt>()) {
      open("For", s.range);
      out += fmt::format(" {} ", f->var);
      range(f->varRange);
      for (const AssignTarget &t : f->unpack)
        target(t);
      expr(*f->iterable);
      stmts(f->body);
    } else if (auto *fw = s.as<ForwardStmt>()) {
      open("Forward", s.range);
      for (const Param &p : fw->params) {
        out += " " + p.name;
        range(p.range);
      }
      stmts(fw->body);
    } else {
      out += "(?";
    }
    out += ")";
  }
  void optional(const ast::Expr *e) {
    if (e)
      expr(*e);
    else
      out += " -";
  }
  void expr(const ast::Expr &e) {
    using namespace ast;
    out += fmt::format(" ({} ", int(e.kind));
    range(e.range);
    switch (e.kind) {
    case ExprKind::Name: out += " " + std::string(e.as<NameExpr>()->name()); break;
    case ExprKind::Int:
      out += fmt::format(" {} {}", e.as<IntExpr>()->value(), e.as<IntExpr>()->tooLarge());
      break;
    case ExprKind::Float: {
      auto *f = e.as<FloatExpr>();
      out += fmt::format(" {:a} {}", f->value, f->outOfRange());
      break;
    }
    case ExprKind::String: out += " " + quoted(e.as<StringExpr>()->value); break;
    case ExprKind::Bool: out += fmt::format(" {}", e.as<BoolExpr>()->value); break;
    case ExprKind::None: case ExprKind::Ellipsis: break;
    case ExprKind::Unary: out += fmt::format(" {}", e.as<UnaryExpr>()->op); expr(*e.as<UnaryExpr>()->operand); break;
    case ExprKind::Binary: {
      auto *b = e.as<BinaryExpr>();
      out += fmt::format(" {}", int(b->op));
      expr(*b->lhs);
      expr(*b->rhs);
      break;
    }
    case ExprKind::Call: {
      auto *c = e.as<CallExpr>();
      expr(*c->callee);
      for (const Arg &a : c->args) {
        out += fmt::format(" (Arg '{}' ", a.name());
        range(a.range());
        range(a.nameRange());
        expr(*a.value());
        out += ")";
      }
      break;
    }
    case ExprKind::Attribute: {
      auto *a = e.as<AttributeExpr>();
      out += " ." + a->name;
      range(a->nameRange);
      expr(*a->object);
      break;
    }
    case ExprKind::Index: expr(*e.as<IndexExpr>()->object); expr(*e.as<IndexExpr>()->index); break;
    case ExprKind::Slice: {
      auto *s = e.as<SliceExpr>();
      optional(s->lo.get());
      optional(s->hi.get());
      optional(s->step.get());
      break;
    }
    case ExprKind::Tuple: for (const ExprPtr &x : e.as<TupleExpr>()->elements) expr(*x); break;
    case ExprKind::List: for (const ExprPtr &x : e.as<ListExpr>()->elements) expr(*x); break;
    case ExprKind::Comprehension: {
      auto *c = e.as<ComprehensionExpr>();
      out += " " + c->var;
      range(c->varRange);
      expr(*c->element);
      expr(*c->iterable);
      break;
    }
    case ExprKind::Compare: {
      auto *c = e.as<CompareExpr>();
      for (CompareOp op : c->ops)
        out += fmt::format(" {}", int(op));
      for (const ExprPtr &x : c->operands)
        expr(*x);
      break;
    }
    case ExprKind::Not: expr(*e.as<NotExpr>()->operand); break;
    case ExprKind::BoolOp: {
      auto *b = e.as<BoolOpExpr>();
      out += fmt::format(" and={}", b->isAnd);
      expr(*b->lhs);
      expr(*b->rhs);
      break;
    }
    case ExprKind::Ternary: {
      auto *t = e.as<TernaryExpr>();
      expr(*t->then);
      expr(*t->cond);
      expr(*t->otherwise);
      break;
    }
    case ExprKind::FString:
      for (const FStringPart &p : e.as<FStringExpr>()->parts) {
        out += " " + quoted(p.text);
        optional(p.field.get());
      }
      break;
    case ExprKind::Star: expr(*e.as<StarExpr>()->operand); break;
    }
    out += ")";
  }
};

inline std::string exactDump(const ast::File &file) {
  ExactDump d;
  d.file(file);
  return d.out;
}

inline std::string diagnosticsText(const Diagnostics &diags) {
  std::string out;
  auto where = [](const std::optional<SourceRange> &r) {
    return r ? fmt::format("<{}:{}-{}>", r->file, r->begin, r->end) : std::string("<->");
  };
  for (const Diagnostic &d : diags.all()) {
    out += fmt::format("{} {} {}\n", int(d.severity), where(d.range), d.message);
    for (const DiagNote &n : d.notes)
      out += fmt::format("  note {} {}\n", where(n.range), n.message);
    for (const DiagFix &f : d.fixes)
      out += fmt::format("  fix {} {} {}\n", where(f.range), f.message, quoted(f.replacement));
  }
  return out + fmt::format("errors={}\n", diags.errorCount());
}

struct ParseOutcome {
  bool accepted = false;
  std::string ast;   // exactDump, when accepted
  std::string diags; // every diagnostic, in order
};

inline ParseOutcome parseWith(std::string_view text, parse::ParserStages stages) {
  SourceManager sources;
  Diagnostics diags(sources);
  FileId id = sources.addFile("diff.seq", std::string(text));
  std::unique_ptr<ast::File> file = parse::parseFile(sources, id, diags, stages);
  ParseOutcome out;
  out.accepted = file != nullptr;
  if (file)
    out.ast = exactDump(*file);
  out.diags = diagnosticsText(diags);
  return out;
}

// "" when the parsers agree on `text`; otherwise what differs. They agree
// when: the default parse (direct, then ANTLR) says exactly what ANTLR
// alone says; the direct parser, when it accepts, builds ANTLR's AST with
// ANTLR's diagnostics, and when it gives up says nothing; and it accepts
// every file ANTLR accepts (`requireAccept`; a file nested deeper than the
// direct parser goes is the exception, left to ANTLR). `checkDefault` off
// skips the default parse (the fuzz target: it is the other two composed,
// and a third parse costs a third of the time).
inline std::string parseDifference(std::string_view text, bool requireAccept = true,
                                   bool checkDefault = true) {
  ParseOutcome antlr = parseWith(text, parse::ParserStages::AntlrOnly);
  ParseOutcome direct = parseWith(text, parse::ParserStages::DirectOnly);
  auto show = [](const char *name, const ParseOutcome &o) {
    return fmt::format("{}: {}\n{}{}\n", name, o.accepted ? "accepted" : "rejected", o.diags, o.ast);
  };
  if (checkDefault) {
    ParseOutcome both = parseWith(text, parse::ParserStages::Default);
    if (both.accepted != antlr.accepted || both.ast != antlr.ast || both.diags != antlr.diags)
      return "the default parse differs from ANTLR's\n" + show("ANTLR", antlr) + show("default", both);
  }
  if (direct.accepted && (!antlr.accepted || direct.ast != antlr.ast || direct.diags != antlr.diags))
    return "the direct parser differs from ANTLR\n" + show("ANTLR", antlr) + show("direct", direct);
  // (A file nested too deeply is rejected before either parser runs.)
  if (!direct.accepted && direct.diags != "errors=0\n" && direct.diags != antlr.diags)
    return "the direct parser gave up with diagnostics\n" + show("direct", direct);
  if (requireAccept && antlr.accepted && !direct.accepted)
    return "the direct parser gave up on a file ANTLR accepts\n" + show("ANTLR", antlr);
  return "";
}

} // namespace seq::fuzz
