// The direct parser against ANTLR's on generated expressions and statements
// and on hand-written tricky cases (precedence, associativity, the lexer's
// corners); see parse_direct_test.cpp for the real files and mutants.
#include "ast/AstDump.h"
#include "fuzz/ParseDiff.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

using namespace seq;

namespace {

std::string inForward(const std::string &body) {
  return "model M(x: [N, 8]) {\n    forward(x) {\n        " + body + "\n        return x\n    }\n}\n";
}

bool antlrAccepts(const std::string &text) {
  return fuzz::parseWith(text, parse::ParserStages::AntlrOnly).accepted;
}

// The AST dump (compiler/ast/AstDump) of the direct parser's AST.
std::string directDump(const std::string &text) {
  SourceManager sources;
  Diagnostics diags(sources);
  FileId id = sources.addFile("t.seq", text);
  std::unique_ptr<ast::File> file = parse::parseFile(sources, id, diags, parse::ParserStages::DirectOnly);
  return file ? ast::dump(*file, sources) : "rejected";
}

// Random expressions and statements over the whole grammar, with random
// spacing, comments and line ends inside brackets.
class Generator {
public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  std::string expr(int depth) {
    if (depth <= 0 || chance(25))
      return atom();
    switch (pick(19)) {
    case 0: return expr(depth - 1) + sp() + oneOf({"+", "-", "*", "/", "//", "%", "**"}) + sp() + expr(depth - 1);
    case 1: return oneOf({"-", "+", "- ", "-"}) + expr(depth - 1);
    case 2: return "not " + expr(depth - 1);
    case 3:
      return expr(depth - 1) + " " +
             oneOf({"<", ">", "==", ">=", "<=", "!=", "is", "is not", "in", "not in"}) + " " +
             expr(depth - 1);
    case 4: return expr(depth - 1) + oneOf({" and ", " or "}) + expr(depth - 1);
    case 5: return expr(depth - 1) + " if " + expr(depth - 1) + " else " + expr(depth - 1);
    case 6: return expr(depth - 1) + "." + oneOf({"shape", "view", "a", "T"});
    case 7: return expr(depth - 1) + "(" + args(depth - 1) + ")";
    case 8: return expr(depth - 1) + "[" + subscripts(depth - 1) + "]";
    case 9: return "(" + open() + expr(depth - 1) + close() + ")";
    case 10: return "(" + list(depth - 1, true) + ")";
    case 11: return "[" + list(depth - 1, false) + "]";
    case 12: return oneOf({"(", "["}) + expr(depth - 1) + " for " + oneOf({"i", "_"}) + " in " +
                    expr(depth - 1) + (last_ == "(" ? ")" : "]");
    case 13: return expr(depth - 1) + " ** " + oneOf({"-", "+", ""}) + expr(depth - 1);
    case 14: return expr(depth - 1) + " < " + expr(depth - 1) + " <= " + expr(depth - 1);
    default: return atom();
    }
  }

  std::string stmt(int depth) {
    switch (pick(12)) {
    case 0: return expr(3) + sp() + oneOf({"=", "+=", "-=", "*=", "/="}) + sp() + expr(3);
    case 1: return expr(2) + ", " + expr(2) + oneOf({"", ","}) + " = " + expr(3);
    case 2: return "return " + expr(3);
    case 3: return ifStmt(depth);
    case 4: return "for " + loopTargets() + " in " + expr(2) + " " + block(depth - 1);
    case 5: return expr(3);
    case 6: return "forward(" + oneOf({"", "x", "x, y", "x,"}) + ") " + block(depth - 1);
    default: return oneOf({"x", "y", "self.a", "z"}) + " = " + expr(4);
    }
  }

  std::string block(int depth) {
    if (depth <= 0)
      return "{ }";
    std::string out = "{" + oneOf({"\n", " ", "\n\n    # c\n", ";"});
    int n = int(pick(3));
    for (int i = 0; i < n; ++i)
      out += stmt(depth - 1) + oneOf({"\n", "; ", "\n  # comment\n\n", ";\n"});
    return out + "}";
  }

  std::string file() {
    std::string out = oneOf({"", "\n", "# head\n", ";"});
    int n = 1 + int(pick(2));
    for (int i = 0; i < n; ++i) {
      out += oneOf({"model", "module", "def"}) + " M" + std::to_string(i) + "(" + params() + ")";
      out += chance(30) ? " = " + expr(3) + (chance(30) ? " " + block(2) : "") : " " + block(3);
      out += oneOf({"\n", "\n\n", " ", ";\n"});
    }
    return out;
  }

private:
  bool chance(int percent) { return int(rng_() % 100) < percent; }
  size_t pick(size_t n) { return rng_() % n; }
  std::string oneOf(std::initializer_list<std::string> options) {
    last_ = *(options.begin() + pick(options.size()));
    return last_;
  }
  std::string sp() { return chance(85) ? " " : oneOf({"", "  ", "\t", " \\\n "}); }
  std::string open() { return chance(85) ? "" : oneOf({"\n", "\n    # c\n    ", " "}); }
  std::string close() { return chance(85) ? "" : oneOf({"\n", ",\n"}) == "\n" ? "\n" : " "; }

  std::string atom() {
    return oneOf({"x", "y", "a_1", "self", "N", "0", "7", "42", "9223372036854775807",
                  "9223372036854775808", "99999999999999999999999", "1.5", "1.", ".5", "1e5",
                  "1E-3", "2.5e+3", "1e999", "0.0", "'s'", "\"a\\n\"", "'it\\'s'", "\"\"",
                  "f\"b{i + 1}\"", "f'{{x}}'", "f\"{a.b}-{j}\"", "f\"{\"", "f\"}\"", "f\"{1 +}\"",
                  "f'{99999999999999999999}'", "True", "false", "None", "\"\xc3\xa9\""});
  }
  std::string args(int depth) {
    std::string out;
    int n = int(pick(4));
    for (int i = 0; i < n; ++i) {
      if (i)
        out += "," + open();
      switch (pick(5)) {
      case 0: out += oneOf({"dim", "k", "inplace"}) + "=" + expr(depth); break;
      case 1: out += "*" + expr(depth); break;
      case 2: out += expr(depth) + " for " + oneOf({"i", "_"}) + " in " + expr(depth); break;
      default: out += expr(depth);
      }
    }
    return out + (n && chance(20) ? "," : "");
  }
  std::string subscripts(int depth) {
    std::string out;
    int n = 1 + int(pick(3));
    for (int i = 0; i < n; ++i) {
      if (i)
        out += ", ";
      switch (pick(6)) {
      case 0: out += "..."; break;
      case 1: out += (chance(50) ? expr(depth) : "") + ":" + (chance(50) ? expr(depth) : ""); break;
      case 2: out += oneOf({"::", "1::2", ":-1:", "::-1", ":"}); break;
      default: out += expr(depth);
      }
    }
    return out + (chance(20) ? "," : "");
  }
  std::string list(int depth, bool tuple) {
    int n = int(pick(4));
    std::string out;
    for (int i = 0; i < n; ++i)
      out += (i ? ", " : "") + expr(depth);
    if (tuple && n == 1)
      return out + ",";
    return out + (n && chance(25) ? "," : "");
  }
  std::string ifStmt(int depth) {
    std::string out = "if " + expr(2) + " " + block(depth - 1);
    while (chance(40))
      out += oneOf({" ", "\n", "\n  # c\n"}) + oneOf({"elif", "else if"}) + " " + expr(2) + " " + block(depth - 1);
    if (chance(50))
      out += oneOf({" ", "\n"}) + "else " + block(depth - 1);
    return out;
  }
  std::string loopTargets() {
    return oneOf({"i", "i, j", "i, (a, b)", "(a, b)", "(a, (b, c),)", "_"});
  }
  std::string params() {
    return oneOf({"", "x: [N, 3, 32, 32]", "c: int, stride: int = 1", "x: f32[N, 8], k: (int, int)",
                  "m: module, n = 2,", "a, b: float = 1e-5", "x: [N, c * 2,]"});
  }

  std::mt19937 rng_;
  std::string last_;
};

} // namespace

TEST(DirectParser, AgreesWithAntlrOnGeneratedExpressions) {
  Generator gen(7);
  size_t accepted = 0;
  for (int i = 0; i < 600; ++i) {
    std::string text = inForward("y = " + gen.expr(4));
    ASSERT_EQ(fuzz::parseDifference(text), "") << text;
    accepted += antlrAccepts(text);
  }
  EXPECT_GT(accepted, 400u);
}

TEST(DirectParser, AgreesWithAntlrOnGeneratedFiles) {
  Generator gen(11);
  size_t accepted = 0;
  for (int i = 0; i < 400; ++i) {
    std::string text = gen.file();
    ASSERT_EQ(fuzz::parseDifference(text), "") << text;
    accepted += antlrAccepts(text);
  }
  EXPECT_GT(accepted, 200u);
}

// Each case is a statement in a forward, or (starting with "model",
// "module" or "def", or marked `file:`) a whole file. Valid and invalid
// cases alike: the direct parser must agree with ANTLR on each.
TEST(DirectParser, AgreesWithAntlrOnTrickyCases) {
  static const char *const kCases[] = {
      // Precedence and associativity.
      "y = -2**2", "y = 2**-1", "y = 2**-1**2", "y = -x.a", "y = -a*b", "y = a*-b", "y = a**b**c",
      "y = not a == b", "y = not a and b", "y = a + not b == c", "y = -x if c else y",
      "y = a if b else c if d else e", "y = a if b if c else d else e", "y = a if b else c or d",
      "y = a or b and c", "y = a and b or c and d", "y = not not a", "y = - - x", "y = +-+x",
      "y = a - b - c", "y = a / b // c % d", "y = a ** -b ** c", "y = -a ** b", "y = (a < b) < c",
      "y = a < b < c", "y = a < b == c != d", "y = not a < b < c", "y = a < b and c < d < e",
      "y = a is not b", "y = a is not not b", "y = a not in b", "y = a is b", "y = a in b in c",
      "y = a not b", "y = a is not in b", "y = a <> b", "y = x.shape[0] * 2 ** -k",
      "y = f(a)(b)[c].d(e)", "y = -f(x)[0]",
      // Calls, arguments, generators.
      "y = f()", "y = f(,)", "y = f(a,)", "y = f(a, b=1, *c)", "y = f(x for i in r)",
      "y = f(x for i in r, 2)", "y = f(a=b=c)", "y = f(a, k=x if c else y)", "y = f(*)",
      "y = f(k=1 for i in r)", "y = Sequential(Block(16) for _ in range(4))",
      // Subscripts and slices.
      "y = x[0]", "y = x[0,]", "y = x[:, 0]", "y = x[...]", "y = x[..., 0]", "y = x[::2]",
      "y = x[1:]", "y = x[:1:]", "y = x[a:b:c]", "y = x[a:b:c:d]", "y = x[]", "y = x[...:]",
      "y = x[-1:, ::-1,]", "y = x[1:2, ...]",
      // Atoms.
      "y = ()", "y = (a)", "y = (a,)", "y = (a, b,)", "y = (a,,)", "y = []", "y = [a,]",
      "y = [a for i in b]", "y = [a, b for i in c]", "y = (a for i in b)", "y = [,]",
      "y = 9223372036854775807", "y = 9223372036854775808", "y = -9223372036854775808",
      "y = 1e999 + 99999999999999999999", "y = 1e400 * 1e400", "y = 1.", "y = .5", "y = 1.e5",
      "y = 1e", "y = 1e+", "y = 1E-3", "y = 1..2", "y = 1...", "y = x.1", "y = 0x10", "y = 007",
      "y = 'a\\'b'", "y = \"a\\\\\"", "y = 'unterminated", "y = \"a\\\n\"", "y = f\"{i}\"",
      "y = f'{i + 1}-{j}'", "y = f\"{{}}\"", "y = f\"}\"", "y = f\"{\"", "y = f\"{a.}\"", "y = F'x'",
      "y = f\"{99999999999999999999}\"", "y = fr\"x\"", "y = f 'x'", "y = True + False + None",
      "y = true", "y = \"caf\xc3\xa9\"", "y = caf\xc3\xa9", "y = '\xe2\x82\xac' + x",
      // Statements.
      "a, b = x.chunk(2, dim=1)", "a, b, = x", "a, = x", "a.b, c = x", "a[0], 1e999 = 1e999",
      "x.y = 1", "x += 1", "x -= 1", "x *= 2", "x /= 2", "x //= 2", "x **= 2", "x = y = 1", "x",
      "f(x)", "return x", "1 = x", "if a { x = 1 } else { x = 2 }", "if a { x = 1 }\nelse { x = 2 }",
      "if a { }\n\n  # c\nelse if b { } elif c { }\nelse { }", "if a { } else if b { }\n y = 1",
      "if a { } ; else { }", "if a { }\n\nelif b { x = 1 }", "if a { if b { } \n else { } }",
      "for i in range(3) { x = i }", "for i, (a, b) in enumerate(cfg) { }", "for (a, b), in c { }",
      "for (a, b,) in c { }", "for i, in c { }", "for i in a, b { }", "x = 1; y = 2;; z = 3",
      "x = 1 y = 2", "if a { } x = 1", "x = 1 \\\n + 2", "x = 1 \\ \n + 2", "x = (1\n + 2)",
      "x = [1,\n # c\n 2]", "x = 1\r\n y = 2", "x = 1\r y = 2", "x = 1\f", "x = 1\v", "x = @",
      "x = $", "x = a ! b", "x = 1 # comment", "x = '#'", "x = {}", "x = (", "x = )",
      "x = ] + 1", "x = f(\n)\n", "forward(x) { }", "forward(x,) { return x }",
      // Whole files.
      "model M(x: [N, 3]) = Sequential(ReLU())", "model M(x: [N, 3]) = Sequential(ReLU()) { forward(x) { return x } }",
      "model M(x: [N, 3]) = Sequential(ReLU())\n{ }", "module B(c: int, stride: int = 1) { }",
      "module B(c: int,) { } model M(x: f32[N, 3]) { }", "def h(a, b: float = 1e-5) = a",
      "module B(k: (int, int), m: module) { }", "module B(k: (int,)) { }", "module B(k: ()) { }",
      "module B(k: [N, c * 2,]) { }", "module B(k: []) { }", "module B(k: int[]) { }",
      "module B(,) { }", "model M() { } ;; \n\n model N() { }", "\n\n# c\nmodel M() { }\n# end",
      "model M() { }\\", "model M() { }\r", "model M() { }\n\r\n  \r\n", "", "\n", "#",
      "model", "model M", "model M(", "model M() = ", "model M() {", "module forward() { }",
      "model M() { } }", "model M() { }\xef\xbb\xbf", "\xef\xbb\xbfmodel M() { }",
  };
  size_t accepted = 0;
  for (const char *c : kCases) {
    std::string s = c;
    bool file = s.empty() || s.rfind("model", 0) == 0 || s.rfind("module", 0) == 0 ||
                s.rfind("def", 0) == 0 || s[0] == '\n' || s[0] == '#' || s[0] == '\xef';
    std::string text = file ? s : inForward(s);
    EXPECT_EQ(fuzz::parseDifference(text), "") << text;
    accepted += antlrAccepts(text);
  }
  EXPECT_GT(accepted, 120u);
}

// The precedences themselves, read from the AST (so that a bug shared by
// both parsers, or by the comparison, would still show).
TEST(DirectParser, PrecedenceAsPython) {
  auto valueOf = [](const std::string &e) {
    std::string d = directDump(inForward("y = " + e));
    size_t at = d.find("Assign y");
    if (at == std::string::npos)
      return d;
    std::string out;
    std::istringstream lines(d.substr(at));
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line) && line.rfind("      ", 0) == 0)
      out += line.substr(line.find_first_not_of(' '), line.rfind(" <") - line.find_first_not_of(' ')) + ";";
    return out;
  };
  EXPECT_EQ(valueOf("-2**2"), "Unary -;Binary **;Int 2;Int 2;");
  EXPECT_EQ(valueOf("2**-1"), "Binary **;Int 2;Unary -;Int 1;");
  EXPECT_EQ(valueOf("a**b**c"), "Binary **;Name a;Binary **;Name b;Name c;");
  EXPECT_EQ(valueOf("a-b-c"), "Binary -;Binary -;Name a;Name b;Name c;");
  EXPECT_EQ(valueOf("-a*b"), "Binary *;Unary -;Name a;Name b;");
  EXPECT_EQ(valueOf("not a == b"), "Not;Compare ==;Name a;Name b;");
  EXPECT_EQ(valueOf("a < b < c"), "Compare < <;Name a;Name b;Name c;");
  EXPECT_EQ(valueOf("(a < b) < c"), "Compare <;Compare <;Name a;Name b;Name c;");
  EXPECT_EQ(valueOf("a is not not b"), "Compare is not;Name a;Not;Name b;");
  EXPECT_EQ(valueOf("a or b and c"), "Or;Name a;And;Name b;Name c;");
  EXPECT_EQ(valueOf("a if b else c if d else e"),
            "Ternary;Name a;Name b;Ternary;Name c;Name d;Name e;");
}

// The comparison sees a wrong precedence: the two trees of `-2**2` differ.
TEST(DirectParser, ExactDumpTellsPrecedencesApart) {
  auto exact = [](const std::string &text) {
    return fuzz::parseWith(text, parse::ParserStages::AntlrOnly).ast;
  };
  std::string right = exact(inForward("y = -2**2 "));
  std::string wrong = exact(inForward("y = (-2)**2"));
  ASSERT_FALSE(right.empty());
  EXPECT_NE(right, wrong);
}

// Deeper than the direct parser goes: ANTLR decides, and says the same.
TEST(DirectParser, DeepNestingIsLeftToAntlr) {
  std::string nots;
  for (int i = 0; i < 1200; ++i)
    nots += "not ";
  EXPECT_EQ(fuzz::parseDifference(inForward("y = " + nots + "x"), false), "");
  std::string ternary = "a";
  for (int i = 0; i < 1200; ++i)
    ternary += " if c else a";
  EXPECT_EQ(fuzz::parseDifference(inForward("y = " + ternary), false), "");
}
