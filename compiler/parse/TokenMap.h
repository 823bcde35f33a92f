// TokenMap: ANTLR positions count code points; the rest of the compiler
// counts bytes. This maps one to the other for one file.
#pragma once

#include "basic/SourceManager.h"

#include <antlr4-runtime.h>

#include <string_view>
#include <vector>

namespace seq::parse {

class TokenMap {
public:
  // An ASCII file (most are) needs no map: code point i is byte i. Any
  // other keeps 4 bytes per code point.
  TokenMap(FileId file, std::string_view text) : file_(file), size_(uint32_t(text.size())) {
    bool ascii = true;
    for (char c : text)
      ascii &= static_cast<unsigned char>(c) < 0x80;
    if (ascii)
      return;
    size_t codePoints = 0;
    for (char c : text)
      codePoints += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    byteOfCodePoint_.reserve(codePoints + 1);
    for (uint32_t i = 0; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
        byteOfCodePoint_.push_back(i);
    byteOfCodePoint_.push_back(size_);
  }

  // Past the end (EOF, or ANTLR's INVALID_INDEX): the end of the file.
  uint32_t byte(size_t codePoint) const {
    if (byteOfCodePoint_.empty())
      return codePoint < size_ ? uint32_t(codePoint) : size_;
    return codePoint < byteOfCodePoint_.size() ? byteOfCodePoint_[codePoint]
                                               : byteOfCodePoint_.back();
  }

  SourceRange range(const antlr4::Token *token) const {
    if (!token)
      return {file_, 0, 0};
    if (token->getType() == antlr4::Token::EOF)
      return {file_, byte(token->getStartIndex()), byte(token->getStartIndex())};
    return {file_, byte(token->getStartIndex()), byte(token->getStopIndex() + 1)};
  }

  SourceRange range(antlr4::ParserRuleContext *ctx) const {
    SourceRange start = range(ctx->getStart());
    const antlr4::Token *stop = ctx->getStop();
    if (!stop || stop->getTokenIndex() < ctx->getStart()->getTokenIndex())
      return start;
    return SourceRange::cover(start, range(stop));
  }

  SourceRange range(antlr4::tree::TerminalNode *node) const {
    return range(node ? node->getSymbol() : nullptr);
  }

  FileId file() const { return file_; }
  // Every character is one byte.
  bool ascii() const { return byteOfCodePoint_.empty(); }

private:
  FileId file_;
  uint32_t size_;                         // bytes of the file
  std::vector<uint32_t> byteOfCodePoint_; // empty for an ASCII file
};

} // namespace seq::parse
