// LeanToken: the token ANTLR's parser keeps for every token of a file, in 40
// bytes instead of the 112 of ANTLR's CommonToken (whose text string, 64-bit
// fields and two source pointers are mostly unused here: the text is read
// back from the input, as CommonToken does when it has none). ANTLR parses
// only a file the direct parser gives up on (one with a syntax error); it
// keeps every token until the AST is built, so this is most of what such a
// file dense in tokens costs (docs/memory.md).
#pragma once

#include <antlr4-runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace seq::parse {

class LeanToken final : public antlr4::WritableToken {
public:
  // What every token of one file shares: its token source and input.
  struct Source {
    antlr4::TokenSource *tokens = nullptr;
    antlr4::CharStream *input = nullptr;
  };

  // A copy of `token`, which must carry no text of its own (no lexer rule
  // of the grammar sets one): the text is the input's.
  LeanToken(const antlr4::Token &token, const Source *source)
      : source_(source), type_(int16_t(token.getType())), channel_(uint16_t(token.getChannel())),
        start_(uint32_t(token.getStartIndex())), stopPlusOne_(uint32_t(token.getStopIndex() + 1)),
        index_(uint32_t(token.getTokenIndex())), line_(uint32_t(token.getLine())),
        column_(uint32_t(token.getCharPositionInLine())) {}

  // The types fit in 16 bits (the grammar has a few dozen; EOF is -1, which
  // converts back to size_t's EOF); indices fit in 32 bits (a file has at
  // most 32 MiB of code points, limits::kSourceBytes).
  size_t getType() const override { return size_t(ptrdiff_t(type_)); }
  size_t getChannel() const override { return channel_; }
  size_t getStartIndex() const override { return widen(start_); }
  size_t getStopIndex() const override { return size_t(stopPlusOne_) - 1; }
  size_t getTokenIndex() const override { return widen(index_); }
  size_t getLine() const override { return line_; }
  size_t getCharPositionInLine() const override { return widen(column_); }
  antlr4::TokenSource *getTokenSource() const override { return source_->tokens; }
  antlr4::CharStream *getInputStream() const override { return source_->input; }

  // As CommonToken::getText for a token without text of its own.
  std::string getText() const override {
    antlr4::CharStream *input = source_->input;
    if (!input)
      return "";
    size_t n = input->size(), start = getStartIndex(), stop = getStopIndex();
    if (start < n && stop < n)
      return input->getText(antlr4::misc::Interval(start, stop));
    return "<EOF>";
  }
  std::string toString() const override {
    return "[@" + std::to_string(getTokenIndex()) + "," + std::to_string(getStartIndex()) + ":" +
           std::to_string(getStopIndex()) + "='" + getText() + "',<" + std::to_string(type_) + ">," +
           std::to_string(line_) + ":" + std::to_string(column_) + "]";
  }

  void setType(size_t type) override { type_ = int16_t(type); }
  void setLine(size_t line) override { line_ = uint32_t(line); }
  void setCharPositionInLine(size_t pos) override { column_ = uint32_t(pos); }
  void setChannel(size_t channel) override { channel_ = uint16_t(channel); }
  void setTokenIndex(size_t index) override { index_ = uint32_t(index); }
  // The parser never rewrites a token's text; a lean token has none to set.
  void setText(const std::string &) override {
    throw std::logic_error("LeanToken::setText: the text of a lean token is its input's");
  }

private:
  // INVALID_INDEX (size_t(-1)) survives the round trip through 32 bits.
  static size_t widen(uint32_t v) { return v == UINT32_MAX ? INVALID_INDEX : v; }

  const Source *source_;
  int16_t type_;
  uint16_t channel_;
  uint32_t start_, stopPlusOne_, index_, line_, column_;
};

static_assert(sizeof(LeanToken) == 40, "a lean token is 40 bytes (a 48-byte heap chunk)");

} // namespace seq::parse
