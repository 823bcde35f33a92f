// Parser: parses a file with the direct parser; when that gives up, runs the
// ANTLR lexer and parser over it without a parse tree and reports its
// syntax errors through Diagnostics. Only a file ANTLR takes gets a parse
// tree, which the AstBuilder turns into the AST.
#include "parse/Parser.h"

#include "basic/Limits.h"
#include "parse/AstBuilder.h"
#include "parse/DirectParser.h"
#include "parse/LeanToken.h"
#include "parse/PastedPython.h"
#include "parse/TokenMap.h"
#include "parse/WindowTokenStream.h"

#include "SeqLexer.h"
#include "SeqParser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace seq::parse {

namespace {

using antlr::SeqLexer;
using antlr::SeqParser;

// Thrown to stop parsing once the error limit is reached.
struct TooManyErrors {};

std::string describeToken(const antlr4::Token *token) {
  switch (token->getType()) {
  case antlr4::Token::EOF: return "end of file";
  case SeqLexer::NEWLINE: return "end of line";
  default: break;
  }
  std::string text = token->getText();
  if (text.size() > 40)
    text = text.substr(0, 40) + "...";
  return fmt::format("'{}'", text);
}

// Reports ANTLR's syntax errors as diagnostics, in the compiler's words.
class ErrorListener : public antlr4::BaseErrorListener {
public:
  ErrorListener(const TokenMap &tokens, Diagnostics &diags) : tokens_(tokens), diags_(diags) {}

  void syntaxError(antlr4::Recognizer *recognizer, antlr4::Token *offending, size_t, size_t,
                   const std::string &, std::exception_ptr) override {
    if (!offending)
      return;
    SourceRange range = tokens_.range(offending);
    // After a first error, the parser's recovery often trips on the closing
    // structural tokens that follow ('}', a line end, the end of the file):
    // those are not new errors.
    size_t type = offending->getType();
    bool closer = type == SeqLexer::NEWLINE || type == antlr4::Token::EOF || offending->getText() == "}";
    if (errors_ > 0 && closer)
      return;
    ++errors_;
    if (type == SeqLexer::UNTERMINATED_STRING) {
      diags_.error(range, "unterminated string literal");
    } else if (type == SeqLexer::UNKNOWN) {
      diags_.error(range, fmt::format("unexpected character '{}'", offending->getText()));
    } else {
      std::string message = fmt::format("unexpected {}", describeToken(offending));
      if (auto *parser = dynamic_cast<antlr4::Parser *>(recognizer)) {
        std::string expected = expectedTokens(*parser);
        if (!expected.empty())
          message += fmt::format(", expected {}", expected);
      }
      diags_.error(range, message);
    }
    if (errors_ >= 50)
      throw TooManyErrors{};
  }

  unsigned errors() const { return errors_; }

private:
  // "')'", "')' or ','": only when the choice is short enough to help.
  static std::string expectedTokens(antlr4::Parser &parser) {
    antlr4::misc::IntervalSet expected;
    try {
      expected = parser.getExpectedTokens();
    } catch (...) {
      return "";
    }
    std::vector<std::string> names;
    for (ssize_t type : expected.toList()) {
      size_t tokenType = size_t(type);
      if (tokenType == SeqLexer::NEWLINE || tokenType == SeqLexer::UNKNOWN)
        continue;
      if (tokenType == antlr4::Token::EOF)
        names.push_back("end of file");
      else if (tokenType == SeqLexer::NAME)
        names.push_back("a name");
      else if (tokenType == SeqLexer::INT || tokenType == SeqLexer::FLOAT || tokenType == SeqLexer::STRING)
        continue;
      else
        names.push_back(parser.getVocabulary().getDisplayName(tokenType));
    }
    if (names.empty() || names.size() > 4)
      return "";
    std::string out;
    for (size_t i = 0; i < names.size(); ++i)
      out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return out;
  }

  const TokenMap &tokens_;
  Diagnostics &diags_;
  unsigned errors_ = 0;
};

// Recursive descent has a depth; this finds input that would exceed it
// before the lexer and parser run (so that even 10 MB of nesting is
// rejected at once). A bracket opens a level; a run of operators at one
// level deepens the tree as much as that many brackets would. Strings,
// comments, names and numbers (1e-5) are skipped.
std::optional<uint32_t> findTooDeep(std::string_view text) {
  std::vector<unsigned> operatorRuns{0};
  unsigned depth = 0;
  auto isNameChar = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n')
        ++i;
      --i;
    } else if (c == '"' || c == '\'') {
      for (++i; i < text.size() && text[i] != c && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
    } else if (isNameChar(c)) {
      bool number = std::isdigit(static_cast<unsigned char>(c));
      while (i + 1 < text.size() &&
             (isNameChar(text[i + 1]) || (number && (text[i + 1] == '.' ||
              ((text[i + 1] == '-' || text[i + 1] == '+') && (text[i] == 'e' || text[i] == 'E'))))))
        ++i;
    } else if (c == '(' || c == '[' || c == '{') {
      operatorRuns.push_back(0);
      ++depth;
    } else if ((c == ')' || c == ']' || c == '}') && operatorRuns.size() > 1) {
      depth -= operatorRuns.back() + 1;
      operatorRuns.pop_back();
    } else if (c == '+' || c == '-' || c == '*' || c == '/' || c == '%' || c == '.') {
      if (i + 1 < text.size() && (text[i + 1] == c) && (c == '*' || c == '/'))
        ++i; // ** and // are one operator
      ++operatorRuns.back();
      ++depth;
    } else if (c == ',' || c == '=' || c == ';' || c == '\n') {
      depth -= operatorRuns.back();
      operatorRuns.back() = 0;
    }
    if (depth > kMaxNestingDepth)
      return uint32_t(i);
  }
  return std::nullopt;
}

// The lexer's input: the file's code points, decoded once into exactly as
// many 32-bit units. ANTLR's own conversion (std::wstring_convert) needs
// about 20 bytes per byte of source on the way. The text is valid UTF-8
// (the driver checks); should it not be, each byte that is not a
// continuation byte still starts one code point (U+FFFD when malformed), as
// TokenMap counts them.
class Utf32Input : public antlr4::ANTLRInputStream {
public:
  explicit Utf32Input(std::string_view text) {
    auto byteAt = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
    auto continuation = [&](size_t i) { return i < text.size() && (byteAt(i) & 0xC0) == 0x80; };
    size_t codePoints = 0;
    for (size_t i = 0; i < text.size(); ++i)
      codePoints += (byteAt(i) & 0xC0) != 0x80;
    _data.reserve(codePoints);
    for (size_t i = 0; i < text.size();) {
      unsigned char lead = byteAt(i);
      if ((lead & 0xC0) == 0x80) { // a stray continuation byte
        ++i;
        continue;
      }
      size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      char32_t value = length == 1 ? lead : lead & (0x7F >> length);
      size_t taken = 1;
      for (; taken < length && continuation(i + taken); ++taken)
        value = (value << 6) | (byteAt(i + taken) & 0x3F);
      bool malformed = taken < length || lead >= 0xF8 || (lead >= 0x80 && lead < 0xC0);
      _data.push_back(malformed ? char32_t(0xFFFD) : value);
      i += taken;
      while (continuation(i)) // only in malformed text
        ++i;
    }
  }
};

// The lexer's input for an ASCII file (most are): its bytes are its code
// points, read in place, as ANTLRInputStream reads its own copy of them
// (which Utf32Input makes for any other file, 4 bytes per character).
class AsciiInput : public antlr4::CharStream {
public:
  explicit AsciiInput(std::string_view text) : text_(text) {}

  void consume() override {
    if (p_ >= text_.size())
      throw antlr4::IllegalStateException("cannot consume EOF");
    ++p_;
  }
  size_t LA(ssize_t i) override {
    if (i == 0)
      return 0; // undefined, as in ANTLRInputStream
    ssize_t at = ssize_t(p_) + (i < 0 ? i : i - 1);
    if (at < 0 || size_t(at) >= text_.size())
      return size_t(antlr4::IntStream::EOF);
    return static_cast<unsigned char>(text_[size_t(at)]);
  }
  ssize_t mark() override { return -1; }
  void release(ssize_t) override {}
  size_t index() override { return p_; }
  void seek(size_t index) override { p_ = std::min(index, text_.size()); }
  size_t size() override { return text_.size(); }
  std::string getSourceName() const override { return antlr4::IntStream::UNKNOWN_SOURCE_NAME; }
  std::string getText(const antlr4::misc::Interval &interval) override {
    if (interval.a < 0 || interval.b < 0)
      return "";
    size_t start = size_t(interval.a), stop = std::min(size_t(interval.b), text_.size() - 1);
    if (start >= text_.size())
      return "";
    return std::string(text_.substr(start, stop - start + 1)); // as ANTLRInputStream counts
  }
  std::string toString() const override { return std::string(text_); }

private:
  std::string_view text_;
  size_t p_ = 0;
};

// ANTLR's parse with a tree keeps every token and a tree over them: memory
// grows with the number of tokens (a few hundred bytes each), not with the
// bytes of the file. The lexer runs through this counter: past the limit it
// ends the stream, and the error is the limit's, not the parse's. Each
// token is a LeanToken (40 bytes, not CommonToken's 112).
class CountingTokenSource : public antlr4::TokenSource {
public:
  CountingTokenSource(SeqLexer &lexer, const TokenMap &map)
      : lexer_(lexer), map_(map), source_{this, lexer.getInputStream()} {}

  std::unique_ptr<antlr4::Token> nextToken() override {
    if (past_)
      return std::make_unique<antlr4::CommonToken>(antlr4::Token::EOF);
    std::unique_ptr<antlr4::Token> token = lexer_.nextToken();
    if (token->getType() != antlr4::Token::EOF && ++count_ > limits::kSourceTokens) {
      past_ = map_.range(token.get());
      return std::make_unique<antlr4::CommonToken>(antlr4::Token::EOF);
    }
    return std::make_unique<LeanToken>(*token, &source_);
  }
  size_t getLine() const override { return lexer_.getLine(); }
  size_t getCharPositionInLine() override { return lexer_.getCharPositionInLine(); }
  antlr4::CharStream *getInputStream() override { return lexer_.getInputStream(); }
  std::string getSourceName() override { return lexer_.getSourceName(); }
  antlr4::TokenFactory<antlr4::CommonToken> *getTokenFactory() override {
    return lexer_.getTokenFactory();
  }

  // The first token past the limit, if the file has one.
  const std::optional<SourceRange> &past() const { return past_; }

private:
  SeqLexer &lexer_;
  const TokenMap &map_;
  LeanToken::Source source_;
  size_t count_ = 0;
  std::optional<SourceRange> past_;
};

// ANTLR 4.9's parser keeps every rule context it makes (in its
// ParseTreeTracker) until it is reset, parse tree or not: hundreds of bytes
// per token. The list is private; an explicit instantiation may name a
// private member, which is how this reaches it.
using TrackedTrees = std::vector<antlr4::tree::ParseTree *>;
TrackedTrees &trackedTrees(antlr4::tree::ParseTreeTracker &tracker);
template <TrackedTrees antlr4::tree::ParseTreeTracker::*List>
struct TrackerAccess {
  friend TrackedTrees &trackedTrees(antlr4::tree::ParseTreeTracker &tracker) { return tracker.*List; }
};
template struct TrackerAccess<&antlr4::tree::ParseTreeTracker::_allocated>;

// ANTLR's parser for a file with a syntax error, only to report it: no
// parse tree, and the contexts of rules it has left are freed as it goes.
// Without a tree nothing points at a finished context but the generated
// code's own variables, which it only writes (the grammar has no actions):
// the contexts still in use are exactly the chain from the current one to
// the root. The sweep runs as a rule is entered (when no frame is between
// making a context and entering it), and when the tracker has doubled
// since the last sweep, so it costs a constant per context.
class TreelessParser : public SeqParser {
public:
  explicit TreelessParser(antlr4::TokenStream *input) : SeqParser(input) {
    setBuildParseTree(false);
  }
  void enterRule(antlr4::ParserRuleContext *localctx, size_t state, size_t ruleIndex) override {
    SeqParser::enterRule(localctx, state, ruleIndex);
    sweep();
  }
  void enterRecursionRule(antlr4::ParserRuleContext *localctx, size_t state, size_t ruleIndex,
                          int precedence) override {
    SeqParser::enterRecursionRule(localctx, state, ruleIndex, precedence);
    sweep();
  }

private:
  void sweep() {
    TrackedTrees &all = trackedTrees(getTreeTracker());
    if (all.size() < nextSweep_)
      return;
    live_.clear();
    for (antlr4::tree::ParseTree *ctx = getContext(); ctx; ctx = ctx->parent)
      live_.push_back(ctx);
    std::sort(live_.begin(), live_.end());
    size_t kept = 0;
    for (antlr4::tree::ParseTree *tree : all) {
      if (std::binary_search(live_.begin(), live_.end(), tree))
        all[kept++] = tree;
      else
        delete tree;
    }
    all.resize(kept);
    nextSweep_ = 2 * kept + kSweepMin;
  }

  std::vector<antlr4::tree::ParseTree *> live_;
  // Small enough that the tests' files of a few hundred tokens sweep.
  static constexpr size_t kSweepMin = 256;
  size_t nextSweep_ = kSweepMin;
};

// The lexer's input for `text`, decoded as TokenMap counts it.
antlr4::CharStream *makeInput(const TokenMap &map, std::string_view text, std::optional<AsciiInput> &ascii,
                              std::optional<Utf32Input> &utf32) {
  if (map.ascii())
    return &ascii.emplace(text);
  return &utf32.emplace(text);
}

void reportTooManyTokens(const SourceRange &past, Diagnostics &diags) {
  diags.error(past, fmt::format("this file has more than {} tokens, seqc's limit (parsing needs "
                                "memory in proportion)", limits::kSourceTokens));
}

// ANTLR's two stages, as ANTLR recommends: the fast SLL prediction with
// errors bailing out, which parses every valid file; only a file it rejects
// is parsed again with full LL prediction and error recovery, so that its
// errors are reported exactly and all of them. Every token and the parse
// tree are kept: the reference parse (ParserStages::AntlrOnly), and the AST
// of the rare file that ANTLR takes and the direct parser does not.
std::unique_ptr<ast::File> parseWithTree(std::string_view text, const TokenMap &map, FileId file,
                                         Diagnostics &diags) {
  std::optional<AsciiInput> ascii;
  std::optional<Utf32Input> utf32;
  SeqLexer lexer(makeInput(map, text, ascii, utf32));
  lexer.removeErrorListeners();
  CountingTokenSource counted(lexer, map);
  antlr4::CommonTokenStream stream(&counted);
  stream.fill();
  if (const std::optional<SourceRange> &past = counted.past()) {
    reportTooManyTokens(*past, diags);
    return nullptr;
  }

  SeqParser parser(&stream);
  parser.removeErrorListeners();
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
      antlr4::atn::PredictionMode::SLL);
  parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  SeqParser::FileContext *tree = nullptr;
  try {
    tree = parser.file();
  } catch (const antlr4::ParseCancellationException &) {
    tree = nullptr;
  }
  ErrorListener listener(map, diags);
  // Lines pasted from PyTorch are reported with their .seq form rather
  // than as the parser's unexpected tokens.
  if (!tree && reportPastedPython(text, file, diags) > 0)
    return nullptr;
  if (!tree) {
    stream.seek(0);
    parser.reset();
    parser.addErrorListener(&listener);
    parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::LL);
    try {
      tree = parser.file();
    } catch (const TooManyErrors &) {
      return nullptr;
    }
  }
  if (listener.errors() > 0)
    return nullptr;
  // Literal errors (an integer too large) are reported by the builder; the
  // AST is still checked, the bad literal an invalid value.
  AstBuilder builder(map, text, diags);
  return builder.buildFile(tree);
}

// The same two stages for a file the direct parser gave up on, which has a
// syntax error (or, rarely, is one ANTLR takes): the same diagnostics in
// memory that does not grow with the file. Neither stage keeps a tree or
// more tokens than a window (WindowTokenStream); the second lexes again.
// One treeless ANTLR pass over the file: the lexer (counting its tokens),
// the token window and the parser, their error listeners removed, in the
// given prediction mode.
struct TreelessPass {
  SeqLexer lexer;
  CountingTokenSource counted;
  WindowTokenStream stream;
  TreelessParser parser;

  TreelessPass(antlr4::CharStream *input, const TokenMap &map, antlr4::atn::PredictionMode mode)
      : lexer(input), counted(lexer, map), stream(&counted), parser(&stream) {
    lexer.removeErrorListeners();
    parser.removeErrorListeners();
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(mode);
  }
};

// Returns false when ANTLR takes the file after all: then parseWithTree
// must parse it, and nothing has been reported.
bool reportSyntaxErrors(std::string_view text, const TokenMap &map, FileId file, Diagnostics &diags) {
  std::optional<AsciiInput> ascii;
  std::optional<Utf32Input> utf32;
  antlr4::CharStream *input = makeInput(map, text, ascii, utf32);
  bool accepted = true;
  {
    TreelessPass sll(input, map, antlr4::atn::PredictionMode::SLL);
    sll.parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
    try {
      sll.parser.file();
    } catch (const antlr4::ParseCancellationException &) {
      accepted = false;
    }
    // The token limit comes first, as when the stream is filled before
    // the parse: count the tokens the parse did not reach.
    while (!sll.counted.past() && sll.counted.nextToken()->getType() != antlr4::Token::EOF) {
    }
    if (const std::optional<SourceRange> &past = sll.counted.past()) {
      reportTooManyTokens(*past, diags);
      return true;
    }
  }
  if (accepted)
    return false;
  if (reportPastedPython(text, file, diags) > 0)
    return true;
  input->seek(0);
  TreelessPass ll(input, map, antlr4::atn::PredictionMode::LL);
  ErrorListener listener(map, diags);
  ll.parser.addErrorListener(&listener);
  try {
    ll.parser.file();
  } catch (const TooManyErrors &) {
    return true;
  }
  return listener.errors() > 0;
}

} // namespace

std::unique_ptr<ast::File> parseFile(const SourceManager &sources, FileId file,
                                     Diagnostics &diags, ParserStages stages) {
  std::string_view text = sources.text(file);
  if (std::optional<uint32_t> deep = findTooDeep(text)) {
    diags.error(SourceRange{file, *deep, *deep + 1},
                fmt::format("expression is nested too deeply (more than {} levels)", kMaxNestingDepth));
    return nullptr;
  }
  // Stage 0: the direct parser, no tokens kept and no tree. It takes every
  // valid file, and gives up silently on anything else.
  if (stages == ParserStages::AntlrOnly)
    return parseWithTree(text, TokenMap(file, text), file, diags);
  if (std::optional<std::unique_ptr<ast::File>> direct = parseDirect(sources, file, diags))
    return std::move(*direct);
  if (stages == ParserStages::DirectOnly)
    return nullptr;
  TokenMap map(file, text);
  if (reportSyntaxErrors(text, map, file, diags))
    return nullptr;
  return parseWithTree(text, map, file, diags);
}

} // namespace seq::parse
