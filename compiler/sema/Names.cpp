// Names: how the checker names things in messages: source text collapsed
// and abbreviated, callee names without their `nn.` prefixes, "did you
// mean" suggestions, and errors carrying the module instantiations they
// happened in.
#include "sema/Checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace seq::sema {

using namespace seq::ast;

// An error inside nested instantiations notes each of them, innermost
// first; past kBacktraceEnds at each end, the middle of a deep stack is
// one note (as clang's template backtrace limit does): 64 levels of a
// genuinely deep model were 64 notes.
constexpr size_t kBacktraceEnds = 5;

Diagnostic &Checker::error(std::optional<SourceRange> range, std::string message) {
  Diagnostic &d = diags_.error(range, std::move(message));
  const size_t levels = instantiating_.size();
  for (size_t i = 0; i < levels; ++i) {
    const auto &[def, at] = instantiating_[levels - 1 - i];
    if (levels > 2 * kBacktraceEnds + 1 && i == kBacktraceEnds) {
      d.notes.push_back({fmt::format("({} more instantiations not shown)", levels - 2 * kBacktraceEnds),
                         std::nullopt});
      i = levels - kBacktraceEnds - 1;
      continue;
    }
    d.notes.push_back({def->isDef ? fmt::format("in helper '{}' called here", def->name)
                                  : fmt::format("in '{}' instantiated here", def->name),
                       at});
  }
  return d;
}

std::string Checker::text(SourceRange range) const {
  return collapseWhitespace(sources_.text(range));
}

std::string Checker::collapseWhitespace(std::string_view source) {
  std::string out;
  bool space = false;
  for (char c : source) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space && out.back() != '(' && out.back() != '[' && c != ')' && c != ']')
      out += ' ';
    space = false;
    out += c;
  }
  // A trailing comma before ')' is noise in a message.
  for (size_t at; (at = out.find(", )")) != std::string::npos || (at = out.find(",)")) != std::string::npos;)
    out.erase(at, out[at + 1] == ' ' ? 2 : 1);
  return out;
}

std::string Checker::displayOf(const std::string &source) {
  std::string s = collapseWhitespace(source);
  for (const char *prefix : {"torch.nn.", "nn.", "F.", "torch."})
    if (s.rfind(prefix, 0) == 0)
      s = s.substr(std::string(prefix).size());
  constexpr size_t kMax = 40;
  if (s.size() <= kMax)
    return s;
  size_t paren = s.find('(');
  if (paren == std::string::npos || paren > kMax)
    return s.substr(0, kMax) + "...";
  // Keep the leading positional arguments: "Conv2d(32, 64, ...)".
  std::string out = s.substr(0, paren + 1);
  size_t depth = 0, start = paren + 1;
  for (size_t i = paren + 1; i < s.size() && out.size() < kMax; ++i) {
    char c = s[i];
    if (c == '(' || c == '[')
      ++depth;
    else if ((c == ')' || c == ']') && depth > 0)
      --depth;
    else if (c == ',' && depth == 0) {
      std::string arg = s.substr(start, i - start);
      if (arg.find('=') != std::string::npos)
        break;
      out += (out.back() == '(' ? "" : ", ") + std::string(arg.find_first_not_of(' ') == 0 ? arg : arg.substr(1));
      start = i + 1;
    }
  }
  return out + (out.back() == '(' ? "...)" : ", ...)");
}

std::string Checker::shortened(std::string_view name) {
  constexpr size_t kMax = 40;
  return name.size() <= kMax ? std::string(name) : std::string(name.substr(0, kMax)) + "...";
}

std::string Checker::dottedName(const Expr &callee) {
  std::string name;
  for (const Expr *e = &callee; e;) {
    if (auto *n = e->as<NameExpr>()) {
      name = std::string(n->name()) + (name.empty() ? "" : "." + name);
      break;
    }
    if (auto *a = e->as<AttributeExpr>()) {
      name = a->name + (name.empty() ? "" : "." + name);
      e = a->object.get();
      continue;
    }
    return "";
  }
  return name;
}

std::string Checker::calleeName(const Expr &callee) {
  std::string name = dottedName(callee);
  for (const char *prefix : {"torch.nn.functional.", "nn.functional.", "torch.nn.", "mindspore.nn.",
                             "ms.nn.", "nn.", "collections.", "F.", "torchvision.ops.", "ops.", "torch."})
    if (name.rfind(prefix, 0) == 0)
      return name.substr(std::string(prefix).size());
  return name;
}

bool isModuleNamespace(std::string_view object) {
  for (const char *space : {"nn", "torch.nn", "mindspore.nn", "ms.nn", "collections", "torchvision.ops",
                            "ops"})
    if (object == space)
      return true;
  return false;
}

// An unknown callee in a body: a PyTorch layer seqc does not compile yet,
// or a name with a suggestion. Both are quoted as written: `callee` is
// calleeName()'s, without the namespace (`nn.`) that `written` keeps.
Value Checker::unknownLayer(const CallExpr &call, const std::string &callee) {
  std::string written = dottedName(*call.callee);
  if (written.empty())
    written = text(call.callee->range);
  std::string prefix; // "nn.", or ""
  if (written.size() > callee.size() && written.ends_with(callee))
    prefix = written.substr(0, written.size() - callee.size());
  if (isUnsupportedLayer(callee)) {
    error(call.callee->range, fmt::format("'{}' is not supported yet ({})", written,
                                          supportedLayersSummary()));
    return Value::invalid();
  }
  std::vector<std::string> candidates = layerNames();
  for (const auto &[n, d] : definitions_)
    candidates.push_back(n);
  for (const char *c : {"Sequential", "ModuleList", "ModuleDict"})
    candidates.push_back(c);
  Diagnostic &d = error(call.callee->range, fmt::format("unknown layer or module '{}'",
                                                        shortened(written)));
  // A suggestion replaces the name after the namespace: `nn.Conv2dd` -> `nn.Conv2d`.
  auto *attr = call.callee->as<AttributeExpr>();
  if (callee.find('.') == std::string::npos)
    if (auto s = suggest(callee, candidates))
      d.fixes.push_back({fmt::format("did you mean '{}{}'?", prefix, *s),
                         attr ? attr->nameRange : call.callee->range, *s});
  return Value::invalid();
}

// `arch.startswith(...)`, `arch[:14]`: strings are constants to compare,
// without methods, indexing or slicing.
Value Checker::stringOperation(SourceRange range, std::string_view reason) {
  error(range, fmt::format("'{}' is not supported: {}", text(range), reason))
      .fixes.push_back({"compare strings with '==', or test for a substring with 'in'", std::nullopt, ""});
  return Value::invalid();
}

static size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      bool same = std::tolower(a[i - 1]) == std::tolower(b[j - 1]);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::optional<std::string> Checker::suggest(const std::string &name,
                                            const std::vector<std::string> &candidates) {
  std::optional<std::string> best;
  // Allowed edits grow with the name: none for one or two letters.
  size_t bestDistance = name.size() / 3 + 1;
  for (const std::string &c : candidates) {
    if (c == name)
      continue;
    size_t d = editDistance(name, c);
    if (name.size() >= 3 && (c.rfind(name, 0) == 0 || name.rfind(c, 0) == 0))
      d = std::min<size_t>(d, 1);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

} // namespace seq::sema
