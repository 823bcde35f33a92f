// Text.h: formatting shared by the runtime's messages.
#pragma once

#include <string>
#include <string_view>

namespace seq::rt {

// "[20, 1, 5, 5]"; "[]" for a scalar.
template <class Dims> std::string formatShape(const Dims &dims) {
  std::string text = "[";
  for (const auto &dim : dims) {
    if (text.size() > 1)
      text += ", ";
    text += std::to_string(dim);
  }
  return text + "]";
}

// "'name'", as names appear in messages.
inline std::string quoted(std::string_view name) {
  return "'" + std::string(name) + "'";
}

} // namespace seq::rt
