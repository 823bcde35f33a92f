// DirectLexer: the tokens of grammar/Seq.g4's lexer, made one at a time on
// demand (no token vector), with byte offsets. It classifies a token only
// where it is sure to agree with ANTLR's lexer (longest match, keywords
// before NAME, NEWLINE runs with comment lines, newlines skipped inside
// '(' ')' and '[' ']', line continuations); anything else (an unknown
// character, an unterminated string, a non-ASCII character outside strings
// and comments) is a `Bad` token, on which the DirectParser gives up and
// ANTLR reports the error.
#pragma once

#include <cstdint>
#include <string_view>

namespace seq::parse {

enum class Tok : uint8_t {
  Eof, Bad, Newline, Name, Int, Float, String, FString,
  // Keywords, in the grammar's order.
  Model, Module, Forward, Return, For, In, True, False, None, If, Else, Elif, And, Or, Not, Is,
  Def, Ellipsis,
  // Punctuation and operators.
  LParen, RParen, LBrack, RBrack, LBrace, RBrace, Semi, Comma, Colon, Assign, Dot,
  Pow, Star, Slash, FloorDiv, Percent, Plus, Minus,
  Lt, Gt, EqEq, Ge, Le, Ne, PlusEq, MinusEq, StarEq, SlashEq,
};

struct Token {
  Tok kind = Tok::Eof;
  uint32_t begin = 0, end = 0; // bytes [begin, end) of the file
};

class DirectLexer {
public:
  explicit DirectLexer(std::string_view text) : text_(text) {}

  // The next token that ANTLR's lexer would hand the parser (skipped
  // tokens are skipped). At the end, Eof (again and again).
  Token next();

  // Tokens made so far, Eof not counted: ANTLR's count for the token limit.
  uint64_t count() const { return count_; }

private:
  Token make(Tok kind, size_t begin) {
    ++count_;
    return {kind, uint32_t(begin), uint32_t(pos_)};
  }
  bool at(size_t i, char c) const { return i < text_.size() && text_[i] == c; }
  bool digitAt(size_t i) const { return i < text_.size() && text_[i] >= '0' && text_[i] <= '9'; }
  size_t digitsFrom(size_t i) const;
  size_t exponentFrom(size_t i) const; // the end of EXPONENT at i, or i
  size_t stringEnd(size_t quote) const; // past the closing quote, or 0 if unterminated
  Token name(size_t begin);
  Token number(size_t begin);
  Token punctuation(size_t begin);

  std::string_view text_;
  size_t pos_ = 0;
  int bracketDepth_ = 0; // as the grammar's lexer counts it
  uint64_t count_ = 0;
};

} // namespace seq::parse
