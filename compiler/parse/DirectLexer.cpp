// DirectLexer: grammar/Seq.g4's lexer by hand; see DirectLexer.h. Each
// rule below names the grammar rule it mirrors.
#include "parse/DirectLexer.h"

namespace seq::parse {

namespace {

bool isNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }
bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\f'; } // WS

// A keyword has priority over NAME at the same length (it comes first).
Tok keyword(std::string_view word) {
  struct Entry {
    std::string_view text;
    Tok kind;
  };
  static constexpr Entry kKeywords[] = {
      {"model", Tok::Model}, {"module", Tok::Module}, {"forward", Tok::Forward},
      {"return", Tok::Return}, {"for", Tok::For}, {"in", Tok::In}, {"true", Tok::True},
      {"True", Tok::True}, {"false", Tok::False}, {"False", Tok::False}, {"None", Tok::None},
      {"if", Tok::If}, {"else", Tok::Else}, {"elif", Tok::Elif}, {"and", Tok::And},
      {"or", Tok::Or}, {"not", Tok::Not}, {"is", Tok::Is}, {"def", Tok::Def}};
  if (word.size() > 7)
    return Tok::Name;
  for (const Entry &e : kKeywords)
    if (e.text == word)
      return e.kind;
  return Tok::Name;
}

} // namespace

size_t DirectLexer::digitsFrom(size_t i) const {
  while (digitAt(i))
    ++i;
  return i;
}

// EXPONENT : [eE] [+-]? DIGITS ; taken only whole (the lexer backs off to
// the longest match otherwise: `1e` is INT `1` then NAME `e`).
size_t DirectLexer::exponentFrom(size_t i) const {
  if (!at(i, 'e') && !at(i, 'E'))
    return i;
  size_t j = i + 1;
  if (at(j, '+') || at(j, '-'))
    ++j;
  return digitAt(j) ? digitsFrom(j) : i;
}

// STRING: a quote, then characters other than the quote, a backslash or a
// line end, or a backslash and any character but a line end, then the
// quote. Without the closing quote it is UNTERMINATED_STRING.
size_t DirectLexer::stringEnd(size_t quote) const {
  char q = text_[quote];
  for (size_t i = quote + 1; i < text_.size(); ++i) {
    char c = text_[i];
    if (c == q)
      return i + 1;
    if (c == '\r' || c == '\n')
      return 0;
    if (c == '\\') {
      if (i + 1 >= text_.size() || text_[i + 1] == '\r' || text_[i + 1] == '\n')
        return 0;
      ++i; // an escaped byte; the rest of a multi-byte character follows as text
    }
  }
  return 0;
}

// NAME, the keywords, and FSTRING ([fF] then a string: longer than NAME `f`).
Token DirectLexer::name(size_t begin) {
  char c = text_[begin];
  if ((c == 'f' || c == 'F') && (at(begin + 1, '"') || at(begin + 1, '\''))) {
    size_t end = stringEnd(begin + 1);
    if (end == 0)
      return {Tok::Bad, uint32_t(begin), uint32_t(begin + 1)}; // NAME, UNTERMINATED_STRING
    pos_ = end;
    return make(Tok::FString, begin);
  }
  size_t i = begin + 1;
  while (i < text_.size() && isNameChar(text_[i]))
    ++i;
  pos_ = i;
  return make(keyword(text_.substr(begin, i - begin)), begin);
}

// FLOAT : DIGITS '.' DIGITS? EXPONENT? | '.' DIGITS EXPONENT? | DIGITS EXPONENT ;
// INT : DIGITS ; (`begin` is a digit, or a '.' before a digit).
Token DirectLexer::number(size_t begin) {
  size_t i = begin;
  if (text_[i] == '.') {
    pos_ = exponentFrom(digitsFrom(i + 1));
    return make(Tok::Float, begin);
  }
  i = digitsFrom(i);
  if (at(i, '.')) {
    pos_ = exponentFrom(digitsFrom(i + 1));
    return make(Tok::Float, begin);
  }
  size_t e = exponentFrom(i);
  pos_ = e;
  return make(e == i ? Tok::Int : Tok::Float, begin);
}

// The parser's literal tokens, the longest first ('**' before '*').
Token DirectLexer::punctuation(size_t begin) {
  char c = text_[begin];
  char d = begin + 1 < text_.size() ? text_[begin + 1] : '\0';
  auto one = [&](Tok kind) {
    pos_ = begin + 1;
    return make(kind, begin);
  };
  auto two = [&](Tok kind) {
    pos_ = begin + 2;
    return make(kind, begin);
  };
  switch (c) {
  case '(': ++bracketDepth_; return one(Tok::LParen);
  case '[': ++bracketDepth_; return one(Tok::LBrack);
  case ')': if (bracketDepth_ > 0) --bracketDepth_; return one(Tok::RParen);
  case ']': if (bracketDepth_ > 0) --bracketDepth_; return one(Tok::RBrack);
  case '{': return one(Tok::LBrace);
  case '}': return one(Tok::RBrace);
  case ';': return one(Tok::Semi);
  case ',': return one(Tok::Comma);
  case ':': return one(Tok::Colon);
  case '%': return one(Tok::Percent);
  case '.':
    if (d == '.' && at(begin + 2, '.')) {
      pos_ = begin + 3;
      return make(Tok::Ellipsis, begin);
    }
    return one(Tok::Dot);
  case '=': return d == '=' ? two(Tok::EqEq) : one(Tok::Assign);
  case '*': return d == '*' ? two(Tok::Pow) : d == '=' ? two(Tok::StarEq) : one(Tok::Star);
  case '/': return d == '/' ? two(Tok::FloorDiv) : d == '=' ? two(Tok::SlashEq) : one(Tok::Slash);
  case '+': return d == '=' ? two(Tok::PlusEq) : one(Tok::Plus);
  case '-': return d == '=' ? two(Tok::MinusEq) : one(Tok::Minus);
  case '<': return d == '=' ? two(Tok::Le) : one(Tok::Lt);
  case '>': return d == '=' ? two(Tok::Ge) : one(Tok::Gt);
  case '!':
    if (d == '=')
      return two(Tok::Ne);
    break;
  default: break;
  }
  return {Tok::Bad, uint32_t(begin), uint32_t(begin + 1)}; // UNKNOWN
}

Token DirectLexer::next() {
  while (pos_ < text_.size()) {
    size_t begin = pos_;
    char c = text_[pos_];
    if (isSpace(c)) { // WS -> skip
      while (pos_ < text_.size() && isSpace(text_[pos_]))
        ++pos_;
      continue;
    }
    if (c == '#') { // COMMENT -> skip
      while (pos_ < text_.size() && text_[pos_] != '\r' && text_[pos_] != '\n')
        ++pos_;
      continue;
    }
    if (c == '\\') { // LINE_CONTINUATION -> skip
      size_t i = pos_ + 1 + (at(pos_ + 1, '\r') ? 1 : 0);
      if (!at(i, '\n'))
        return {Tok::Bad, uint32_t(begin), uint32_t(begin + 1)};
      pos_ = i + 1;
      continue;
    }
    if (c == '\n' || (c == '\r' && at(pos_ + 1, '\n'))) {
      // NEWLINE : ('\r'? '\n' [ \t\f]* ('#' ~[\r\n]*)?)+ ; skipped inside brackets.
      for (;;) {
        size_t i = pos_ + (text_[pos_] == '\r' ? 1 : 0);
        pos_ = i + 1;
        while (pos_ < text_.size() && isSpace(text_[pos_]))
          ++pos_;
        if (at(pos_, '#'))
          while (pos_ < text_.size() && text_[pos_] != '\r' && text_[pos_] != '\n')
            ++pos_;
        if (!(at(pos_, '\n') || (at(pos_, '\r') && at(pos_ + 1, '\n'))))
          break;
      }
      if (bracketDepth_ > 0)
        continue;
      return make(Tok::Newline, begin);
    }
    if (isNameStart(c))
      return name(begin);
    if ((c >= '0' && c <= '9') || (c == '.' && digitAt(pos_ + 1)))
      return number(begin);
    if (c == '"' || c == '\'') {
      size_t end = stringEnd(begin);
      if (end == 0)
        return {Tok::Bad, uint32_t(begin), uint32_t(begin + 1)}; // UNTERMINATED_STRING
      pos_ = end;
      return make(Tok::String, begin);
    }
    return punctuation(begin);
  }
  return {Tok::Eof, uint32_t(text_.size()), uint32_t(text_.size())};
}

} // namespace seq::parse
