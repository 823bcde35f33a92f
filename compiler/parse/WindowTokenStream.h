// WindowTokenStream: a token stream for ANTLR's parser that keeps only the
// tokens the parser can still read, not the whole file's. It is used for a
// file with a syntax error, whose tokens are parsed only to be reported
// (parse/Parser.cpp): its memory is the longest lookahead of one prediction
// plus a few tokens behind, however long the file.
//
// It behaves as CommonTokenStream over a grammar with no hidden channel
// (Seq.g4 has none): the same LT, LA, index, mark and seek, while the
// parser's prediction holds a mark (it seeks back only to where it marked).
// ANTLR 4.9's own UnbufferedTokenStream is not used: its consume() frees
// the token that LT(-1) then returns, and it has no get() within its window.
// Tokens left behind are freed; what still points at them (a rule
// context's start and stop, an exception's tokens) is never read when no
// parse tree is built. Texts of freed tokens read as "" (getText is used
// only for ANTLR's own messages, which the compiler does not print).
#pragma once

#include <antlr4-runtime.h>

#include <deque>
#include <memory>
#include <string>

namespace seq::parse {

class WindowTokenStream final : public antlr4::TokenStream {
public:
  explicit WindowTokenStream(antlr4::TokenSource *source) : source_(source) {}

  antlr4::Token *LT(ssize_t k) override {
    if (k == 0)
      return nullptr;
    if (k < 0) {
      size_t back = size_t(-k);
      return back > p_ || p_ - back < base_ ? nullptr : tokens_[p_ - back - base_].get();
    }
    return at(p_ + size_t(k) - 1);
  }
  size_t LA(ssize_t i) override {
    antlr4::Token *token = LT(i);
    return token ? token->getType() : size_t(antlr4::Token::INVALID_TYPE);
  }
  void consume() override {
    if (LA(1) == size_t(antlr4::Token::EOF))
      throw antlr4::IllegalStateException("cannot consume EOF");
    ++p_;
    trim();
  }
  ssize_t mark() override { return ssize_t(++markers_); }
  void release(ssize_t) override {
    if (markers_ > 0)
      --markers_;
    trim();
  }
  size_t index() override { return p_; }
  void seek(size_t index) override {
    if (index < base_)
      throw antlr4::IllegalStateException("seek before the token window");
    at(index); // fetches up to it; stops at EOF
    p_ = std::min(index, base_ + tokens_.size() - 1);
  }
  size_t size() override { return base_ + tokens_.size(); }
  std::string getSourceName() const override { return source_->getSourceName(); }

  antlr4::Token *get(size_t index) const override {
    if (index < base_ || index - base_ >= tokens_.size())
      throw antlr4::IndexOutOfBoundsException("token " + std::to_string(index) + " is outside the window");
    return tokens_[index - base_].get();
  }
  antlr4::TokenSource *getTokenSource() const override { return source_; }

  std::string getText(const antlr4::misc::Interval &interval) override {
    if (interval.a < 0 || interval.b < 0)
      return "";
    std::string text;
    for (size_t i = std::max(size_t(interval.a), base_); i <= size_t(interval.b) && i - base_ < tokens_.size(); ++i) {
      antlr4::Token *token = tokens_[i - base_].get();
      if (token->getType() == antlr4::Token::EOF)
        break;
      text += token->getText();
    }
    return text;
  }
  std::string getText() override { return ""; }
  std::string getText(antlr4::RuleContext *) override { return ""; }
  std::string getText(antlr4::Token *start, antlr4::Token *stop) override {
    if (!start || !stop)
      return "";
    return getText(antlr4::misc::Interval(start->getTokenIndex(), stop->getTokenIndex()));
  }

  // The most tokens held at once (for tests).
  size_t peak() const { return peak_; }

private:
  // Tokens kept behind the current one for LT(-1) and the token a rule
  // just matched (which the generated code receives after consuming it).
  static constexpr size_t kBehind = 16;

  // Token `index`, fetched from the source if need be; past the end of
  // the file, the EOF token.
  antlr4::Token *at(size_t index) {
    if (index < base_)
      throw antlr4::IllegalStateException("token before the window");
    while (index - base_ >= tokens_.size() && !sawEof_) {
      std::unique_ptr<antlr4::Token> token = source_->nextToken();
      if (auto *writable = dynamic_cast<antlr4::WritableToken *>(token.get()))
        writable->setTokenIndex(base_ + tokens_.size());
      sawEof_ = token->getType() == antlr4::Token::EOF;
      tokens_.push_back(std::move(token));
      peak_ = std::max(peak_, tokens_.size());
    }
    return tokens_[std::min(index - base_, tokens_.size() - 1)].get();
  }
  void trim() {
    if (markers_ > 0)
      return;
    while (base_ + kBehind < p_ && !tokens_.empty()) {
      tokens_.pop_front();
      ++base_;
    }
  }

  antlr4::TokenSource *source_;
  std::deque<std::unique_ptr<antlr4::Token>> tokens_;
  size_t base_ = 0; // the index of tokens_.front()
  size_t p_ = 0;    // the index of the current token
  size_t markers_ = 0;
  size_t peak_ = 0;
  bool sawEof_ = false;
};

} // namespace seq::parse
