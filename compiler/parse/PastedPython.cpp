// PastedPython: see PastedPython.h.
#include "parse/PastedPython.h"

#include "parse/DirectLexer.h"

#include <fmt/format.h>

#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

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

// Python forms found in tokens rather than lines (they span lines or share
// one with .seq): dict and set literals, `*args` and `**kwargs`
// parameters, `**` unpacking in a call. One error each, and none for what
// follows from one: the tokens inside a literal, a call that passes a
// reported `**kwargs` parameter on.

// Whether a '{' after `t` starts an operand (a literal), not a block.
bool startsOperand(Tok t) {
  switch (t) {
  case Tok::Assign: case Tok::PlusEq: case Tok::MinusEq: case Tok::StarEq: case Tok::SlashEq:
  case Tok::LParen: case Tok::LBrack: case Tok::Comma: case Tok::Colon: case Tok::Return:
  case Tok::In: case Tok::And: case Tok::Or: case Tok::Not: case Tok::Plus: case Tok::Minus:
  case Tok::Star: case Tok::Slash: case Tok::FloorDiv: case Tok::Percent: case Tok::Pow:
  case Tok::Lt: case Tok::Gt: case Tok::EqEq: case Tok::Ge: case Tok::Le: case Tok::Ne:
    return true;
  default:
    return false;
  }
}

struct Bracket {
  Tok kind;              // LParen, LBrack or LBrace
  uint32_t begin = 0;
  bool params = false;   // LParen: a definition's parameters
  bool literal = false;  // LBrace: a dict or set literal
  bool quiet = false;    // a literal inside one, or after '**': not reported
  bool dict = false;     // a ':' at the literal's own level
};

class TokenForms {
public:
  TokenForms(std::string_view text, FileId file, Diagnostics &diags,
             const std::vector<SourceRange> &skip)
      : text_(text), file_(file), diags_(diags), skip_(skip) {}

  unsigned run() {
    DirectLexer lexer(text_);
    Tok before = Tok::Newline, prev = Tok::Newline;
    // A Bad token is not consumed: the scan ends there.
    for (Token t = lexer.next(), next; t.kind != Tok::Eof && t.kind != Tok::Bad; t = next) {
      next = lexer.next();
      token(t, next, before, prev);
      before = prev;
      prev = t.kind;
    }
    for (const Bracket &b : open_) // unclosed: the '{' alone
      if (b.literal && !b.quiet)
        literal(b, b.begin + 1);
    return found_;
  }

private:
  void token(const Token &t, const Token &next, Tok before, Tok prev) {
    switch (t.kind) {
    case Tok::LParen: {
      bool header = (prev == Tok::Name && (before == Tok::Module || before == Tok::Model ||
                                           before == Tok::Def)) ||
                    (prev == Tok::Forward && before != Tok::Dot);
      open_.push_back({Tok::LParen, t.begin, header});
      break;
    }
    case Tok::LBrack: open_.push_back({Tok::LBrack, t.begin}); break;
    case Tok::LBrace: {
      Bracket b{Tok::LBrace, t.begin};
      b.literal = startsOperand(prev);
      b.quiet = b.literal && (literals_ > 0 || prev == Tok::Pow);
      literals_ += b.literal;
      open_.push_back(b);
      break;
    }
    case Tok::RParen:
    case Tok::RBrack:
    case Tok::RBrace: {
      Tok opener = t.kind == Tok::RParen ? Tok::LParen : t.kind == Tok::RBrack ? Tok::LBrack : Tok::LBrace;
      if (open_.empty() || open_.back().kind != opener)
        break;
      Bracket b = open_.back();
      open_.pop_back();
      if (b.literal) {
        --literals_;
        if (!b.quiet)
          literal(b, t.end);
      }
      break;
    }
    case Tok::Colon:
      if (!open_.empty() && open_.back().literal)
        open_.back().dict = true;
      break;
    case Tok::Star:
    case Tok::Pow:
      if (!open_.empty() && open_.back().kind == Tok::LParen &&
          (prev == Tok::LParen || prev == Tok::Comma))
        star(t, next, open_.back().params);
      break;
    default: break;
    }
  }

  // `*args`, `**kwargs` or a bare `*` in parameters; `**x` in a call (a
  // call's `*x` is parsed, and reported by the checker).
  void star(const Token &t, const Token &next, bool params) {
    bool pow = t.kind == Tok::Pow;
    bool named = next.kind == Tok::Name;
    std::string name = named ? std::string(text_.substr(next.begin, next.end - next.begin)) : "";
    uint32_t end = named ? next.end : t.end;
    if (!params) {
      if (pow && literals_ == 0 && !kwargs_.count(name))
        report(t.begin, end, "'**' unpacking is Python syntax that .seq does not have",
               "pass each keyword argument by name, as in 'stride=stride'");
      return;
    }
    if (pow) {
      kwargs_.insert(name);
      report(t.begin, end,
             fmt::format("'**{}' parameters are Python syntax that .seq does not have", name),
             "declare each keyword parameter with its type and default, as in 'stride: int = 1', "
             "and pass them on by name");
    } else if (!name.empty()) {
      report(t.begin, end,
             fmt::format("'*{}' parameters are Python syntax that .seq does not have", name),
             "declare each parameter with its type, as in 'c: int'");
    } else {
      report(t.begin, end, "a bare '*' among parameters is Python syntax that .seq does not have",
             "delete it: any parameter may be given by name");
    }
  }

  void literal(const Bracket &b, uint32_t end) {
    if (b.dict || end == b.begin + 1) {
      report(b.begin, end, "dict literals are Python syntax that .seq does not have",
             "give each value a name of its own ('cfg_a = [...]'), or pick one with a condition "
             "('[...] if key == \"a\" else [...]')");
      return;
    }
    std::string items(text_.substr(b.begin + 1, end - b.begin - 2)), shown;
    for (char c : items) // on one line, for the message
      if (!((c == ' ' || c == '\n' || c == '\r' || c == '\t') &&
            (shown.empty() || shown.back() == ' ' || shown.back() == '[')))
        shown += c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
    while (!shown.empty() && shown.back() == ' ')
      shown.pop_back();
    report(b.begin, end, "set literals are Python syntax that .seq does not have",
           fmt::format("write a list: '[{}]'", shown), "[" + items + "]");
  }

  void report(uint32_t begin, uint32_t end, std::string message, std::string help,
              std::optional<std::string> replacement = std::nullopt) {
    for (const SourceRange &r : skip_)
      if (begin >= r.begin && begin < r.end)
        return; // on a pasted line reported as a whole
    SourceRange range{file_, begin, end};
    Diagnostic &d = diags_.error(range, std::move(message));
    d.fixes.push_back({std::move(help), replacement ? std::optional(range) : std::nullopt,
                       replacement.value_or("")});
    ++found_;
  }

  std::string_view text_;
  FileId file_;
  Diagnostics &diags_;
  const std::vector<SourceRange> &skip_;
  std::vector<Bracket> open_;
  unsigned literals_ = 0;          // literals open
  std::set<std::string> kwargs_;   // `**NAME` parameters reported
  unsigned found_ = 0;
};

} // namespace

unsigned reportPastedPython(std::string_view text, FileId file, Diagnostics &diags) {
  unsigned found = 0;
  std::vector<SourceRange> lines; // reported
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
        lines.push_back(range);
        ++found;
        break;
      }
    }
    begin = end + 1;
  }
  return found + TokenForms(text, file, diags, lines).run();
}

} // namespace seq::parse
