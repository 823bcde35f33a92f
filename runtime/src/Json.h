// Json.h: a small, strict JSON parser (RFC 8259) for safetensors headers.
// It accepts nothing the RFC forbids (no comments, trailing commas, NaN,
// leading zeros, invalid UTF-8 or lone surrogates), rejects duplicate keys
// and limits nesting, so that an untrusted header cannot be read two ways.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace seq::rt {

struct JsonMember;

struct JsonValue {
  enum class Kind { Null, Boolean, Number, String, Array, Object };

  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;                // a string's contents, a number as written
  std::vector<JsonValue> items;    // an array's elements
  std::vector<JsonMember> members; // an object's members, in order
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

// A syntax error, `offset` bytes into the text.
class JsonError : public std::runtime_error {
public:
  JsonError(std::size_t offset, const std::string &reason)
      : std::runtime_error(reason), offset_(offset) {}
  std::size_t offset() const { return offset_; }

private:
  std::size_t offset_;
};

// Parses `text` as exactly one JSON value, surrounded by optional
// whitespace. Throws JsonError.
JsonValue parseJson(std::string_view text);

// The value of a number written as a plain non-negative integer (no sign,
// fraction or exponent) that fits in 64 bits; nullopt for anything else.
std::optional<std::uint64_t> jsonUint64(const JsonValue &value);

} // namespace seq::rt
