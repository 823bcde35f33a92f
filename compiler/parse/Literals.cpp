// Literals: literal tokens -> AST nodes, and their diagnostics.
#include "parse/Literals.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

namespace seq::parse {

using namespace seq::ast;

ExprPtr intLiteral(std::string_view textView, SourceRange r, Diagnostics &diags) {
  std::string text(textView);
  int64_t value = 0;
  bool tooLarge = false;
  for (char c : text) {
    if (__builtin_mul_overflow(value, int64_t(10), &value) ||
        __builtin_add_overflow(value, int64_t(c - '0'), &value)) {
      diags.error(r, fmt::format("integer literal '{}' is too large (the largest is "
                                 "9223372036854775807)",
                                 text.size() > 40 ? text.substr(0, 40) + "..." : text));
      tooLarge = true;
      break;
    }
  }
  return IntExpr::make(r, value, tooLarge);
}

ExprPtr floatLiteral(std::string_view textView, SourceRange r, Diagnostics &diags) {
  std::string text(textView);
  double value = std::strtod(text.c_str(), nullptr);
  bool outOfRange = std::isinf(value);
  if (outOfRange)
    diags.error(r, fmt::format("float literal '{}' is out of range",
                               text.size() > 40 ? text.substr(0, 40) + "..." : text));
  return std::make_unique<FloatExpr>(r, value, outOfRange);
}

ExprPtr stringLiteral(std::string_view text, SourceRange r) {
  std::string value;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (c != '\\' || i + 2 >= text.size()) {
      value += c;
      continue;
    }
    char next = text[++i];
    switch (next) {
    case 'n': value += '\n'; break;
    case 't': value += '\t'; break;
    case 'r': value += '\r'; break;
    case '0': value += '\0'; break;
    default: value += next; break;
    }
  }
  return std::make_unique<StringExpr>(r, std::move(value));
}

// f-string fields are small expressions (names, integers, attributes,
// + - * // % and parentheses), parsed here by recursive descent.
namespace {

class FieldParser {
public:
  FieldParser(std::string_view text, SourceRange at) : text_(text), at_(at) {}

  ExprPtr parse() {
    ExprPtr e = additive();
    skipSpace();
    if (!e || pos_ != text_.size())
      return nullptr;
    return e;
  }

private:
  SourceRange here(size_t begin) const {
    return {at_.file, at_.begin + uint32_t(begin), at_.begin + uint32_t(pos_)};
  }
  void skipSpace() {
    while (pos_ < text_.size() && text_[pos_] == ' ')
      ++pos_;
  }
  bool eat(std::string_view op) {
    skipSpace();
    if (text_.substr(pos_, op.size()) != op)
      return false;
    if (op == "/" && text_.substr(pos_, 2) == "//")
      return false;
    pos_ += op.size();
    return true;
  }
  ExprPtr additive() {
    size_t begin = pos_;
    ExprPtr lhs = multiplicative();
    while (lhs) {
      BinaryOp op;
      if (eat("+")) op = BinaryOp::Add;
      else if (eat("-")) op = BinaryOp::Sub;
      else break;
      ExprPtr rhs = multiplicative();
      if (!rhs)
        return nullptr;
      lhs = std::make_unique<BinaryExpr>(here(begin), op, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }
  ExprPtr multiplicative() {
    size_t begin = pos_;
    ExprPtr lhs = unary();
    while (lhs) {
      BinaryOp op;
      if (eat("//")) op = BinaryOp::FloorDiv;
      else if (eat("*")) op = BinaryOp::Mul;
      else if (eat("%")) op = BinaryOp::Mod;
      else if (eat("/")) op = BinaryOp::Div;
      else break;
      ExprPtr rhs = unary();
      if (!rhs)
        return nullptr;
      lhs = std::make_unique<BinaryExpr>(here(begin), op, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }
  ExprPtr unary() {
    skipSpace();
    size_t begin = pos_;
    if (eat("-")) {
      ExprPtr operand = unary();
      return operand ? std::make_unique<UnaryExpr>(here(begin), '-', std::move(operand)) : nullptr;
    }
    return postfix();
  }
  ExprPtr postfix() {
    skipSpace();
    size_t begin = pos_;
    ExprPtr e;
    if (eat("(")) {
      e = additive();
      if (!e || !eat(")"))
        return nullptr;
    } else if (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
      int64_t v = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])))
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text_[pos_++] - '0', &v))
          return nullptr;
      e = IntExpr::make(here(begin), v);
    } else if (std::string_view name = identifier(); !name.empty()) {
      e = NameExpr::make(here(begin), name);
    } else {
      return nullptr;
    }
    while (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      size_t nameBegin = pos_;
      std::string name(identifier());
      if (name.empty())
        return nullptr;
      e = std::make_unique<AttributeExpr>(here(begin), std::move(e), name, here(nameBegin));
    }
    return e;
  }
  // A view of the field's text (a NameExpr keeps it: the caller passes
  // the file's text).
  std::string_view identifier() {
    size_t begin = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    if (begin == pos_ || std::isdigit(static_cast<unsigned char>(text_[begin]))) {
      pos_ = begin;
      return "";
    }
    return text_.substr(begin, pos_ - begin);
  }

  std::string_view text_;
  SourceRange at_;
  size_t pos_ = 0;
};

} // namespace

ExprPtr fstringLiteral(std::string_view text, SourceRange r, Diagnostics &diags) {
  std::vector<FStringPart> parts;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty())
      parts.push_back({std::move(literal), nullptr});
    literal.clear();
  };
  for (size_t i = 2; i + 1 < text.size(); ++i) {
    char c = text[i];
    if ((c == '{' || c == '}') && i + 2 < text.size() && text[i + 1] == c) {
      literal += c; // {{ and }}
      ++i;
      continue;
    }
    if (c == '}') {
      diags.error(SourceRange{r.file, r.begin + uint32_t(i), r.begin + uint32_t(i + 1)},
                  "single '}' in an f-string (write '}}' for a brace)");
      return std::make_unique<StringExpr>(r, "");
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    size_t close = text.find('}', i);
    SourceRange fieldRange{r.file, r.begin + uint32_t(i + 1),
                           r.begin + uint32_t(close == std::string_view::npos ? text.size() - 1 : close)};
    ExprPtr field;
    if (close != std::string_view::npos && close + 1 < text.size())
      field = FieldParser(text.substr(i + 1, close - i - 1), fieldRange).parse();
    if (!field) {
      diags.error(fieldRange, "an f-string field must be a name or an integer expression such as "
                              "'{i + 1}'");
      return std::make_unique<StringExpr>(r, "");
    }
    flush();
    parts.push_back({"", std::move(field)});
    i = close;
  }
  flush();
  return std::make_unique<FStringExpr>(r, std::move(parts));
}

} // namespace seq::parse
