// DirectExpr: the DirectParser's expressions (grammar/Seq.g4's `expr` and
// what it uses), as ANTLR's rewriting of the left-recursive rule parses
// them: the alternatives have precedences 13 (the first, '.') down to 1
// (atom). expr[p] parses a primary (an atom, or a prefix '-' '+' with
// expr[9], or NOT with expr[5]: allowed whatever p is), then repeatedly
// takes a suffix or binary operator whose alternative's precedence is at
// least p, its right operand parsed with expr[prec + 1] (left-associative)
// or expr[prec] (right-associative: '**' and the ternary's last operand).
// So `-2**2` is -(2**2), `2**-1` is 2**(-1), and `a < b < c` one chain.
#include "parse/DirectParserImpl.h"

// GCC 12 reports -Wmismatched-new-delete where std::make_unique's cleanup
// inlines ast::Expr's destroying delete against PooledNode's operator new:
// a matched pair (NodePool.cpp), GCC's false positive (its PR 109224 and
// kin; clang has no such warning).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
#include "parse/Literals.h"

#include <cassert>

namespace seq::parse::direct {

// ---- Expressions -------------------------------------------------------------------

// compOp : '<' | '>' | '==' | '>=' | '<=' | '!=' | IS NOT? | NOT? IN ; (at cur_)
std::optional<CompareOp> DirectParser::compareOp() const {
  switch (cur_.kind) {
  case Tok::Lt: return CompareOp::Lt;
  case Tok::Gt: return CompareOp::Gt;
  case Tok::EqEq: return CompareOp::Eq;
  case Tok::Ge: return CompareOp::Ge;
  case Tok::Le: return CompareOp::Le;
  case Tok::Ne: return CompareOp::Ne;
  case Tok::Is: return next_.kind == Tok::Not ? CompareOp::IsNot : CompareOp::Is; // NOT? is greedy
  case Tok::In: return CompareOp::In;
  case Tok::Not: return next_.kind == Tok::In ? std::optional(CompareOp::NotIn) : std::nullopt;
  default: return std::nullopt;
  }
}

ExprPtr DirectParser::expr(int p) {
  Deeper deeper(depth_);
  uint32_t begin = cur_.begin;
  ExprPtr lhs = primary();
  bool chain = false; // lhs is a comparison made by this loop: `a < b < c` is one chain
  for (;;) {
    Tok t = cur_.kind;
    bool wasChain = chain;
    chain = false;
    switch (t) {
    case Tok::Dot: { // expr '.' NAME   # attrExpr (13)
      if (p > 13)
        return lhs;
      advance();
      auto [n, r] = name();
      lhs = std::make_unique<AttributeExpr>(from(begin), std::move(lhs), std::move(n), r);
      break;
    }
    case Tok::LParen: // # callExpr (12)
      if (p > 12)
        return lhs;
      lhs = call(begin, std::move(lhs));
      break;
    case Tok::LBrack: // # indexExpr (11)
      if (p > 11)
        return lhs;
      lhs = index(begin, std::move(lhs));
      break;
    case Tok::Pow: { // <assoc=right> expr op='**' expr (10)
      if (p > 10)
        return lhs;
      advance();
      ExprPtr rhs = expr(10);
      lhs = std::make_unique<BinaryExpr>(from(begin), BinaryOp::Pow, std::move(lhs), std::move(rhs));
      break;
    }
    case Tok::Star: case Tok::Slash: case Tok::FloorDiv: case Tok::Percent:
    case Tok::Plus: case Tok::Minus: { // (8) and (7)
      int prec = t == Tok::Plus || t == Tok::Minus ? 7 : 8;
      if (p > prec)
        return lhs;
      advance();
      ExprPtr rhs = expr(prec + 1);
      lhs = std::make_unique<BinaryExpr>(from(begin), binaryOp(t), std::move(lhs), std::move(rhs));
      break;
    }
    case Tok::And: case Tok::Or: { // expr op=AND expr (4), expr op=OR expr (3)
      int prec = t == Tok::And ? 4 : 3;
      if (p > prec)
        return lhs;
      advance();
      ExprPtr rhs = expr(prec + 1);
      lhs = std::make_unique<BoolOpExpr>(from(begin), t == Tok::And, std::move(lhs), std::move(rhs));
      break;
    }
    case Tok::If: { // <assoc=right> expr IF expr ELSE expr (2)
      if (p > 2)
        return lhs;
      advance();
      ExprPtr cond = expr(0);
      expect(Tok::Else);
      ExprPtr otherwise = expr(2);
      lhs = std::make_unique<TernaryExpr>(from(begin), std::move(lhs), std::move(cond),
                                          std::move(otherwise));
      break;
    }
    default: // expr compOp expr (6), or the end of this expression
      if (!compareOp() || p > 6)
        return lhs;
      lhs = compare(begin, std::move(lhs), wasChain);
      chain = true;
      break;
    }
  }
}

// `lhs compOp expr[7]`; a comparison made just before by the same loop is
// extended, as AstBuilder::buildCompare flattens `a < b < c`.
ExprPtr DirectParser::compare(uint32_t begin, ExprPtr lhs, bool chain) {
  CompareOp op = *compareOp();
  advance();
  if (op == CompareOp::IsNot || op == CompareOp::NotIn)
    advance();
  std::vector<CompareOp> ops;
  std::vector<ExprPtr> operands;
  if (chain) {
    auto *c = static_cast<CompareExpr *>(lhs.get());
    ops = std::move(c->ops);
    operands = std::move(c->operands);
  } else {
    operands.push_back(std::move(lhs));
  }
  ops.push_back(op);
  operands.push_back(expr(7));
  return std::make_unique<CompareExpr>(from(begin), std::move(ops), std::move(operands));
}

// op=('-' | '+') expr   # unaryExpr (9);  NOT expr   # notExpr (5);  atom
ExprPtr DirectParser::primary() {
  uint32_t begin = cur_.begin;
  if (cur_.kind == Tok::Minus || cur_.kind == Tok::Plus) {
    char op = cur_.kind == Tok::Minus ? '-' : '+';
    advance();
    ExprPtr operand = expr(9);
    return std::make_unique<UnaryExpr>(from(begin), op, std::move(operand));
  }
  if (cur_.kind == Tok::Not) {
    advance();
    ExprPtr operand = expr(5);
    return std::make_unique<NotExpr>(from(begin), std::move(operand));
  }
  return atom();
}

ExprPtr DirectParser::atom() {
  Token t = cur_;
  SourceRange r = range(t);
  switch (t.kind) {
  case Tok::Name: advance(); return NameExpr::make(r, text(t));
  case Tok::Int: advance(); return intLiteral(text(t), r, diags_);
  case Tok::Float: advance(); return floatLiteral(text(t), r, diags_);
  case Tok::String: advance(); return stringLiteral(text(t), r);
  case Tok::FString: advance(); return fstringLiteral(text(t), r, diags_);
  case Tok::True: case Tok::False: advance(); return std::make_unique<BoolExpr>(r, t.kind == Tok::True);
  case Tok::None: advance(); return std::make_unique<NoneExpr>(r);
  case Tok::LParen: advance(); return parenAtom(t.begin);
  case Tok::LBrack: advance(); return bracketAtom(t.begin);
  default: throw GiveUp{};
  }
}

// LPAREN expr compFor RPAREN                            # generatorAtom
// LPAREN expr RPAREN                                    # parenAtom
// LPAREN (expr ',' (expr (',' expr)* ','?)?)? RPAREN    # tupleAtom
ExprPtr DirectParser::parenAtom(uint32_t begin) {
  if (cur_.kind == Tok::RParen) {
    advance();
    return std::make_unique<TupleExpr>(from(begin), std::vector<ExprPtr>{});
  }
  ExprPtr first = expr(0);
  if (cur_.kind == Tok::For) {
    ExprPtr gen = comprehension(begin, std::move(first));
    expect(Tok::RParen);
    gen->range = from(begin);
    return gen;
  }
  if (cur_.kind == Tok::RParen) {
    advance();
    first->range = from(begin); // the parentheses belong to what they enclose
    return first;
  }
  expect(Tok::Comma);
  std::vector<ExprPtr> elements;
  elements.push_back(std::move(first));
  while (cur_.kind != Tok::RParen) {
    elements.push_back(expr(0));
    if (cur_.kind != Tok::Comma)
      break;
    advance();
  }
  expect(Tok::RParen);
  elements.shrink_to_fit();
  return std::make_unique<TupleExpr>(from(begin), std::move(elements));
}

// LBRACK expr compFor RBRACK                  # listCompAtom
// LBRACK (expr (',' expr)* ','?)? RBRACK      # listAtom
ExprPtr DirectParser::bracketAtom(uint32_t begin) {
  std::vector<ExprPtr> elements;
  if (cur_.kind != Tok::RBrack) {
    ExprPtr first = expr(0);
    if (cur_.kind == Tok::For) {
      ExprPtr comp = comprehension(begin, std::move(first));
      expect(Tok::RBrack);
      comp->range = from(begin);
      return comp;
    }
    elements.push_back(std::move(first));
    while (cur_.kind == Tok::Comma) {
      advance();
      if (cur_.kind == Tok::RBrack)
        break;
      elements.push_back(expr(0));
    }
  }
  expect(Tok::RBrack);
  elements.shrink_to_fit();
  return std::make_unique<ListExpr>(from(begin), std::move(elements));
}

// compFor : FOR var=NAME IN expr ; after its element. The range is the
// caller's to set when brackets enclose it.
ExprPtr DirectParser::comprehension(uint32_t begin, ExprPtr element) {
  expect(Tok::For);
  auto [var, varRange] = name();
  expect(Tok::In);
  ExprPtr iterable = expr(0);
  return std::make_unique<ComprehensionExpr>(from(begin), std::move(element), std::move(var),
                                             varRange, std::move(iterable));
}

// expr LPAREN argList? RPAREN   # callExpr
// argList : arg (',' arg)* ','? ;
// arg : NAME '=' expr | '*' expr | expr compFor | expr ;
ExprPtr DirectParser::call(uint32_t begin, ExprPtr callee) {
  advance(); // (
  std::vector<Arg> args;
  while (cur_.kind != Tok::RParen) {
    Arg arg;
    uint32_t argBegin = cur_.begin;
    if (cur_.kind == Tok::Name && next_.kind == Tok::Assign) {
      arg.setName(text(cur_), range(cur_));
      advance();
      advance(); // =
      arg.setValue(expr(0));
    } else if (cur_.kind == Tok::Star) {
      advance();
      ExprPtr operand = expr(0);
      arg.setValue(std::make_unique<StarExpr>(from(argBegin), std::move(operand)));
    } else {
      ExprPtr value = expr(0);
      if (cur_.kind == Tok::For)
        value = comprehension(argBegin, std::move(value));
      arg.setValue(std::move(value));
    }
    // ast::Arg keeps no range of its own: it is its value's, from its
    // keyword on.
    assert(arg.range().begin == from(argBegin).begin && arg.range().end == from(argBegin).end);
    args.push_back(std::move(arg));
    if (cur_.kind != Tok::Comma)
      break;
    advance();
  }
  expect(Tok::RParen);
  return std::make_unique<CallExpr>(from(begin), std::move(callee), std::move(args));
}

// expr LBRACK subscript (',' subscript)* ','? RBRACK   # indexExpr
// One subscript without a trailing comma is the index; otherwise a tuple.
ExprPtr DirectParser::index(uint32_t begin, ExprPtr object) {
  advance(); // [
  std::vector<ExprPtr> parts;
  bool trailingComma = false;
  parts.push_back(subscript());
  while (cur_.kind == Tok::Comma) {
    advance();
    if (cur_.kind == Tok::RBrack) {
      trailingComma = true;
      break;
    }
    parts.push_back(subscript());
  }
  expect(Tok::RBrack);
  if (parts.size() == 1 && !trailingComma)
    return std::make_unique<IndexExpr>(from(begin), std::move(object), std::move(parts[0]));
  SourceRange all = SourceRange::cover(parts.front()->range, parts.back()->range);
  parts.shrink_to_fit();
  return std::make_unique<IndexExpr>(from(begin), std::move(object),
                                     std::make_unique<TupleExpr>(all, std::move(parts)));
}

// subscript : expr | ELLIPSIS | lo=expr? ':' hi=expr? (':' step=expr?)? ;
ExprPtr DirectParser::subscript() {
  uint32_t begin = cur_.begin;
  if (cur_.kind == Tok::Ellipsis) {
    SourceRange r = range(cur_);
    advance();
    return std::make_unique<EllipsisExpr>(r);
  }
  ExprPtr lo, hi, step;
  if (cur_.kind != Tok::Colon) {
    lo = expr(0);
    if (cur_.kind != Tok::Colon)
      return lo;
  }
  advance(); // :
  auto ends = [&](Tok t) { return t == Tok::Comma || t == Tok::RBrack; };
  if (!ends(cur_.kind) && cur_.kind != Tok::Colon)
    hi = expr(0);
  if (cur_.kind == Tok::Colon) {
    advance();
    if (!ends(cur_.kind))
      step = expr(0);
  }
  return std::make_unique<SliceExpr>(from(begin), std::move(lo), std::move(hi), std::move(step));
}

} // namespace seq::parse::direct
