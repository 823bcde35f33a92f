// Json.cpp: the strict recursive-descent JSON parser behind Json.h.
#include "Json.h"

#include <string>
#include <unordered_set>

namespace seq::rt {
namespace {

// Deep enough for any safetensors header (which needs 3 levels).
constexpr int kMaxDepth = 64;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

class Parser {
public:
  explicit Parser(std::string_view text) : text_(text) {}

  JsonValue parseDocument() {
    JsonValue value = parseValue(0);
    skipWhitespace();
    if (pos_ != text_.size())
      fail("unexpected text after the JSON value");
    return value;
  }

private:
  [[noreturn]] void fail(const std::string &reason) const {
    throw JsonError(pos_, reason);
  }

  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }
  unsigned char peekByte() const { return static_cast<unsigned char>(peek()); }

  void skipWhitespace() {
    while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' ||
                        peek() == '\r'))
      ++pos_;
  }

  void expect(char c) {
    if (atEnd() || peek() != c)
      fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  JsonValue parseValue(int depth) {
    if (depth > kMaxDepth)
      fail("nesting deeper than " + std::to_string(kMaxDepth));
    skipWhitespace();
    JsonValue value;
    switch (peek()) {
    case '{':
      return parseObject(depth);
    case '[':
      return parseArray(depth);
    case '"':
      value.kind = JsonValue::Kind::String;
      value.text = parseString();
      return value;
    case 't':
      parseWord("true");
      value.kind = JsonValue::Kind::Boolean;
      value.boolean = true;
      return value;
    case 'f':
      parseWord("false");
      value.kind = JsonValue::Kind::Boolean;
      return value;
    case 'n':
      parseWord("null");
      return value;
    default:
      if (peek() == '-' || isDigit(peek()))
        return parseNumber();
      fail(atEnd() ? "unexpected end of the header" : "expected a value");
    }
  }

  JsonValue parseObject(int depth) {
    JsonValue object;
    object.kind = JsonValue::Kind::Object;
    expect('{');
    skipWhitespace();
    if (peek() == '}') {
      ++pos_;
      return object;
    }
    std::unordered_set<std::string> keys;
    for (;;) {
      skipWhitespace();
      std::size_t keyOffset = pos_;
      std::string key = parseString();
      if (!keys.insert(key).second)
        throw JsonError(keyOffset, "duplicate key '" + key + "'");
      skipWhitespace();
      expect(':');
      object.members.push_back({std::move(key), parseValue(depth + 1)});
      skipWhitespace();
      if (peek() == '}') {
        ++pos_;
        return object;
      }
      expect(',');
    }
  }

  JsonValue parseArray(int depth) {
    JsonValue array;
    array.kind = JsonValue::Kind::Array;
    expect('[');
    skipWhitespace();
    if (peek() == ']') {
      ++pos_;
      return array;
    }
    for (;;) {
      array.items.push_back(parseValue(depth + 1));
      skipWhitespace();
      if (peek() == ']') {
        ++pos_;
        return array;
      }
      expect(',');
    }
  }

  void parseWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word)
      fail("expected a value");
    pos_ += word.size();
  }

  // number = [ "-" ] ( "0" / 1-9 *DIGIT ) [ "." 1*DIGIT ] [ e [sign] 1*DIGIT ]
  JsonValue parseNumber() {
    std::size_t start = pos_;
    if (peek() == '-')
      ++pos_;
    if (peek() == '0')
      ++pos_;
    else
      skipDigits();
    if (peek() == '.') {
      ++pos_;
      skipDigits();
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-')
        ++pos_;
      skipDigits();
    }
    JsonValue number;
    number.kind = JsonValue::Kind::Number;
    number.text = std::string(text_.substr(start, pos_ - start));
    return number;
  }

  // One or more digits.
  void skipDigits() {
    if (!isDigit(peek()))
      fail("expected a digit");
    while (isDigit(peek()))
      ++pos_;
  }

  std::string parseString() {
    expect('"');
    std::string out;
    for (;;) {
      if (atEnd())
        fail("unterminated string");
      unsigned char byte = peekByte();
      if (byte == '"') {
        ++pos_;
        return out;
      }
      if (byte == '\\')
        appendEscape(out);
      else if (byte < 0x20)
        fail("control character in a string");
      else if (byte < 0x80)
        out += text_[pos_++];
      else
        appendUtf8Sequence(out);
    }
  }

  void appendEscape(std::string &out) {
    ++pos_; // the backslash
    char c = peek();
    ++pos_;
    switch (c) {
    case '"': out += '"'; return;
    case '\\': out += '\\'; return;
    case '/': out += '/'; return;
    case 'b': out += '\b'; return;
    case 'f': out += '\f'; return;
    case 'n': out += '\n'; return;
    case 'r': out += '\r'; return;
    case 't': out += '\t'; return;
    case 'u': appendCodePoint(out, parseUnicodeEscape()); return;
    default:
      --pos_;
      fail("invalid escape in a string");
    }
  }

  // The code point of "XXXX" (after "\u"), joining a surrogate pair.
  std::uint32_t parseUnicodeEscape() {
    std::uint32_t unit = parseHex4();
    if (unit >= 0xDC00 && unit <= 0xDFFF)
      fail("lone low surrogate in a string");
    if (unit < 0xD800 || unit > 0xDBFF)
      return unit;
    if (text_.substr(pos_, 2) != "\\u")
      fail("lone high surrogate in a string");
    pos_ += 2;
    std::uint32_t low = parseHex4();
    if (low < 0xDC00 || low > 0xDFFF)
      fail("invalid surrogate pair in a string");
    return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
  }

  std::uint32_t parseHex4() {
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      char c = peek();
      int digit = isDigit(c)               ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
      if (digit < 0)
        fail("invalid \\u escape in a string");
      value = value * 16 + static_cast<std::uint32_t>(digit);
    }
    return value;
  }

  static void appendCodePoint(std::string &out, std::uint32_t cp) {
    auto put = [&](std::uint32_t byte) { out += static_cast<char>(byte); };
    if (cp < 0x80) {
      put(cp);
    } else if (cp < 0x800) {
      put(0xC0 | (cp >> 6));
      put(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      put(0xE0 | (cp >> 12));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    } else {
      put(0xF0 | (cp >> 18));
      put(0x80 | ((cp >> 12) & 0x3F));
      put(0x80 | ((cp >> 6) & 0x3F));
      put(0x80 | (cp & 0x3F));
    }
  }

  // Copies one multi-byte UTF-8 sequence, rejecting overlong forms,
  // surrogates and code points past U+10FFFF (RFC 3629, section 4).
  void appendUtf8Sequence(std::string &out) {
    unsigned char lead = peekByte();
    int continuations = 0;
    unsigned char low = 0x80, high = 0xBF; // the range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      continuations = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      continuations = 2;
      low = lead == 0xE0 ? 0xA0 : 0x80;
      high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      continuations = 3;
      low = lead == 0xF0 ? 0x90 : 0x80;
      high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
      fail("invalid UTF-8 in a string");
    }
    std::size_t start = pos_++;
    for (int i = 0; i < continuations; ++i, ++pos_) {
      unsigned char byte = peekByte();
      if (atEnd() || byte < low || byte > high)
        fail("invalid UTF-8 in a string");
      low = 0x80;
      high = 0xBF;
    }
    out.append(text_.substr(start, pos_ - start));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

} // namespace

JsonValue parseJson(std::string_view text) {
  return Parser(text).parseDocument();
}

std::optional<std::uint64_t> jsonUint64(const JsonValue &value) {
  if (value.kind != JsonValue::Kind::Number || value.text.empty())
    return std::nullopt;
  std::uint64_t result = 0;
  for (char c : value.text) {
    if (!isDigit(c) ||
        __builtin_mul_overflow(result, 10u, &result) ||
        __builtin_add_overflow(result, static_cast<unsigned>(c - '0'), &result))
      return std::nullopt;
  }
  return result;
}

} // namespace seq::rt
