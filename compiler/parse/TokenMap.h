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
  TokenMap(FileId file, std::string_view text) : file_(file) {
    byteOfCodePoint_.reserve(text.size() + 1);
    for (uint32_t i = 0; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
        byteOfCodePoint_.push_back(i);
    byteOfCodePoint_.push_back(uint32_t(text.size()));
  }

  uint32_t byte(size_t codePoint) const {
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

private:
  FileId file_;
  std::vector<uint32_t> byteOfCodePoint_;
};

} // namespace seq::parse
