// DirectParserImpl: the DirectParser's class, shared by its two source
// files (DirectParser.cpp: definitions and statements; DirectExpr.cpp:
// expressions). Internal to parse/.
#pragma once

#include "ast/Ast.h"
#include "basic/Diagnostics.h"
#include "basic/Limits.h"
#include "parse/DirectLexer.h"

#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace seq::parse::direct {

using namespace seq::ast;

// Thrown to give up; caught in parseDirect.
struct GiveUp {};

// Deeper recursion than this gives up (ANTLR then decides): findTooDeep
// stops bracket and operator nesting long before, but not `not not ...`.
constexpr unsigned kMaxDepth = 1000;

inline BinaryOp binaryOp(Tok t) {
  switch (t) {
  case Tok::Plus: case Tok::PlusEq: return BinaryOp::Add;
  case Tok::Minus: case Tok::MinusEq: return BinaryOp::Sub;
  case Tok::Star: case Tok::StarEq: return BinaryOp::Mul;
  case Tok::Slash: case Tok::SlashEq: return BinaryOp::Div;
  case Tok::FloorDiv: return BinaryOp::FloorDiv;
  case Tok::Percent: return BinaryOp::Mod;
  default: return BinaryOp::Pow;
  }
}

inline bool isSep(Tok t) { return t == Tok::Newline || t == Tok::Semi; }

class DirectParser {
public:
  DirectParser(std::string_view text, FileId file, Diagnostics &diags)
      : text_(text), file_(file), diags_(diags), lexer_(text) {
    cur_ = lex();
    next_ = lex();
  }

  // file : sep? (definition sep?)* EOF ;
  std::unique_ptr<File> file() {
    auto out = std::make_unique<File>();
    out->id = file_;
    skipSeps();
    while (cur_.kind != Tok::Eof) {
      out->definitions.push_back(definition());
      skipSeps();
    }
    return out;
  }

private:
  // ---- Tokens ---------------------------------------------------------------

  Token lex() {
    Token t = lexer_.next();
    if (t.kind == Tok::Bad || lexer_.count() > limits::kSourceTokens)
      throw GiveUp{};
    return t;
  }
  void advance() {
    prevEnd_ = cur_.end;
    cur_ = next_;
    if (cur_.kind != Tok::Eof)
      next_ = lex();
  }
  void expect(Tok kind) {
    if (cur_.kind != kind)
      throw GiveUp{};
    advance();
  }
  std::string_view text(const Token &t) const { return text_.substr(t.begin, t.end - t.begin); }
  SourceRange range(const Token &t) const { return {file_, t.begin, t.end}; }
  // From `begin` to the end of the last token taken: ANTLR's rule range.
  SourceRange from(uint32_t begin) const { return {file_, begin, prevEnd_}; }
  // A NAME token: its text and range.
  std::pair<std::string, SourceRange> name() {
    if (cur_.kind != Tok::Name)
      throw GiveUp{};
    std::pair<std::string, SourceRange> out{std::string(text(cur_)), range(cur_)};
    advance();
    return out;
  }
  void skipSeps() {
    while (isSep(cur_.kind))
      advance();
  }

  struct Deeper {
    explicit Deeper(unsigned &depth) : depth_(depth) {
      if (++depth_ > kMaxDepth)
        throw GiveUp{};
    }
    ~Deeper() { --depth_; }
    unsigned &depth_;
  };

  // ---- Definitions ----------------------------------------------------------

  std::unique_ptr<Definition> definition();
  DefParam param();
  TypeExpr typeExpr();

  // ---- Statements -------------------------------------------------------------

  std::vector<StmtPtr> block();
  StmtPtr stmt();
  StmtPtr forwardStmt(uint32_t begin);
  StmtPtr forStmt(uint32_t begin);
  StmtPtr ifChain(uint32_t begin, bool elseIf);
  StmtPtr simpleStmt(uint32_t begin);
  AssignTarget loopTarget();

  // ---- Expressions ------------------------------------------------------------

  ExprPtr expr(int p);
  ExprPtr primary();
  ExprPtr atom();
  ExprPtr parenAtom(uint32_t begin);
  ExprPtr bracketAtom(uint32_t begin);
  ExprPtr comprehension(uint32_t begin, ExprPtr element);
  ExprPtr call(uint32_t begin, ExprPtr callee);
  ExprPtr index(uint32_t begin, ExprPtr object);
  ExprPtr subscript();
  ExprPtr compare(uint32_t begin, ExprPtr lhs, bool chain);
  std::optional<CompareOp> compareOp() const;

  std::string_view text_;
  FileId file_;
  Diagnostics &diags_;
  DirectLexer lexer_;
  Token cur_, next_;
  uint32_t prevEnd_ = 0;
  unsigned depth_ = 0;
};

} // namespace seq::parse::direct
