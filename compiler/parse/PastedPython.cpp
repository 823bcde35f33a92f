// PastedPython: see PastedPython.h.
#include "parse/PastedPython.h"

#include <fmt/format.h>

#include <regex>
#include <string>

namespace seq::parse {

namespace {

struct Pattern {
  std::regex line;
  // Builds the message and the .seq form from the match.
  std::string (*message)(const std::smatch &);
  std::string (*help)(const std::smatch &);
};

// The first ',' at or after `from` outside brackets ("x: Tensor[N, 3]"
// is one parameter), or npos.
size_t topLevelComma(const std::string &text, size_t from) {
  int depth = 0;
  for (size_t i = from; i < text.size(); ++i) {
    char c = text[i];
    if (c == '[' || c == '(' || c == '{')
      ++depth;
    else if ((c == ']' || c == ')' || c == '}') && depth > 0)
      --depth;
    else if (c == ',' && depth == 0)
      return i;
  }
  return std::string::npos;
}

std::string trimParams(std::string params) {
  // "self, x: Tensor[N, 3]" -> "x"; "self" -> "".
  std::string out;
  size_t start = 0;
  while (start <= params.size()) {
    size_t comma = topLevelComma(params, start);
    std::string p = params.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t b = p.find_first_not_of(" \t"), e = p.find_first_of(":=");
    p = b == std::string::npos ? "" : p.substr(b, (e == std::string::npos ? p.size() : e) - b);
    while (!p.empty() && (p.back() == ' ' || p.back() == '\t'))
      p.pop_back();
    if (!p.empty() && p != "self")
      out += (out.empty() ? "" : ", ") + p;
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return out;
}

const std::vector<Pattern> &patterns() {
  static const std::vector<Pattern> list = {
      {std::regex(R"(^\s*class\s+(\w+)\s*\(\s*([\w.]*)\s*\)\s*:\s*$)"),
       [](const std::smatch &m) {
         return fmt::format("'class {}({}):' is Python; a .seq file defines modules with 'module'",
                            m[1].str(), m[2].str());
       },
       [](const std::smatch &m) {
         std::string base = m[2].str();
         if (base.find("Sequential") != std::string::npos || base.find("ModuleList") != std::string::npos ||
             base.find("ModuleDict") != std::string::npos)
           return fmt::format("write 'module {}(PARAMS) = {}(...)', with a forward in '{{ }}' after "
                              "it if it has one", m[1].str(), base.substr(base.rfind('.') + 1));
         return fmt::format("write 'module {}(PARAMS) {{ CHILDREN; forward(x) {{ ... }} }}' ('model' "
                            "for the network to compile, with its input shape: 'model {}(x: [N, 3, 224, 224])')",
                            m[1].str(), m[1].str());
       }},
      {std::regex(R"(^\s*def\s+forward\s*\(([^)]*)\)\s*(->\s*[^:]+)?:\s*$)"),
       [](const std::smatch &) { return std::string("'def forward(...):' is Python"); },
       [](const std::smatch &m) {
         return fmt::format("write 'forward({}) {{ ... }}' inside the module's braces", trimParams(m[1].str()));
       }},
      {std::regex(R"(^\s*def\s+__init__\s*\(([^)]*)\)?.*$)"),
       [](const std::smatch &) { return std::string("'def __init__' is Python: a .seq module has no constructor"); },
       [](const std::smatch &) {
         return std::string("put the parameters, typed, on the module line ('module Block(c: int, "
                            "stride: int = 1) {') and the children in its body ('conv = Conv2d(c, c, 3)')");
       }},
      {std::regex(R"(^\s*super\s*\(.*\)\s*\.\s*__init__\s*\(.*\)\s*$)"),
       [](const std::smatch &) { return std::string("'super().__init__()' is Python"); },
       [](const std::smatch &) { return std::string("delete the line: .seq modules need no base-class call"); }},
      {std::regex(R"(^\s*(if|elif|else|for|while)\b(.*):\s*$)"),
       [](const std::smatch &m) { return fmt::format("a '{}' block ending in ':' is Python", m[1].str()); },
       [](const std::smatch &m) {
         std::string head = m[1].str() == "elif" ? "} else if" : m[1].str() == "else" ? "} else" : m[1].str();
         return fmt::format("write '{}{} {{ ... }}': .seq blocks are in braces", head, m[2].str());
       }},
  };
  return list;
}

} // namespace

unsigned reportPastedPython(std::string_view text, FileId file, Diagnostics &diags) {
  unsigned found = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos)
      end = text.size();
    std::string line(text.substr(begin, end - begin));
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    size_t hash = line.find('#');
    if (hash != std::string::npos && line.find_first_of("\"'") == std::string::npos)
      line.resize(hash);
    if (line.size() < 400) {
      for (const Pattern &p : patterns()) {
        std::smatch m;
        if (!std::regex_match(line, m, p.line))
          continue;
        size_t first = line.find_first_not_of(" \t");
        size_t last = line.find_last_not_of(" \t");
        SourceRange range{file, uint32_t(begin + first), uint32_t(begin + last + 1)};
        Diagnostic &d = diags.error(range, p.message(m));
        d.fixes.push_back({p.help(m), std::nullopt, ""});
        ++found;
        break;
      }
    }
    begin = end + 1;
  }
  return found;
}

} // namespace seq::parse
