// The direct parser (parse/DirectParser.h) against ANTLR's, the reference:
// on every .seq file of examples/ and tests/, the front end's fuzz corpus,
// mutants of them, generated expressions and statements, and hand-written
// tricky cases, the direct parser must accept exactly the files ANTLR
// accepts and build the same AST (every field, every byte range) with the
// same diagnostics; and the default parse must say what ANTLR says.
#include "fuzz/ParseDiff.h"

#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace seq;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> corpusFiles(bool seqOnly) {
  std::vector<std::string> paths;
  std::string root = SEQ_SOURCE_DIR;
  for (const char *dir : {"/examples", "/tests"})
    for (const fs::directory_entry &e : fs::recursive_directory_iterator(root + dir)) {
      if (!e.is_regular_file())
        continue;
      std::string p = e.path().string();
      bool seq = e.path().extension() == ".seq";
      bool fuzzInput = p.find("/tests/fuzz/corpus/frontend/") != std::string::npos ||
                       p.find("/tests/fuzz/corpus/parse/") != std::string::npos;
      if (seq || (!seqOnly && fuzzInput))
        paths.push_back(p);
    }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool antlrAccepts(const std::string &text) {
  return fuzz::parseWith(text, parse::ParserStages::AntlrOnly).accepted;
}

} // namespace

TEST(DirectParser, AgreesWithAntlrOnEveryFileOfTheRepository) {
  std::vector<std::string> paths = corpusFiles(false);
  ASSERT_GT(paths.size(), 500u);
  size_t accepted = 0;
  for (const std::string &path : paths) {
    std::string text = readFile(path);
    if (SourceManager::firstInvalidUtf8(text))
      continue; // the driver rejects it before parsing
    EXPECT_EQ(fuzz::parseDifference(text), "") << path;
    accepted += antlrAccepts(text);
  }
  EXPECT_GT(accepted, 300u); // valid files, not only errors
}

// Small edits of real files: most no longer parse, some still do with
// another tree. Deterministic (a fixed seed).
TEST(DirectParser, AgreesWithAntlrOnMutants) {
  std::vector<std::string> files;
  for (const std::string &path : corpusFiles(true))
    if (std::string text = readFile(path); text.size() < 20000 && !SourceManager::firstInvalidUtf8(text))
      files.push_back(text);
  ASSERT_FALSE(files.empty());
  static const char *const kInserts[] = {
      "\n", "\r\n", "\r", " ", "\t", "#", "# c\n", "\\\n", "\\", ";", ",", ":", "(", ")", "[", "]",
      "{", "}", "=", "==", "!=", "!", "**", "*", "-", "+", "//", "/", "%", ".", "...", "..", "1.",
      ".5", "1e5", "1e", "1e+", "0x1", "99999999999999999999", "'", "\"", "'s'", "f'", "f\"{i}\"",
      "f'{'", "not ", " not in ", " is not ", " is ", " in ", " if ", " else ", "elif ", " and ",
      " or ", "for ", "return ", "forward", "model", "True", "None", "\xc3\xa9", "\"\xc3\xa9\"",
      "x", "_", "\f", "\v", "\x01", "@", "$", "?"};
  std::mt19937 rng(20261202);
  auto pick = [&](size_t n) { return size_t(rng() % n); };
  size_t accepted = 0, n = 0;
  for (; n < 1500; ++n) {
    std::string text = files[pick(files.size())];
    int edits = 1 + int(pick(3));
    for (int e = 0; e < edits && !text.empty(); ++e) {
      size_t at = pick(text.size() + 1);
      switch (pick(5)) {
      case 0: text.insert(at, kInserts[pick(std::size(kInserts))]); break;
      case 1: text.erase(std::min(at, text.size() - 1), 1 + pick(4)); break;
      case 2: { // move a short span elsewhere
        size_t from = pick(text.size()), len = std::min<size_t>(1 + pick(12), text.size() - from);
        std::string span = text.substr(from, len);
        text.insert(std::min(at, text.size()), span);
        break;
      }
      case 3: text.resize(at); break;
      default: // swap two bytes
        std::swap(text[std::min(at, text.size() - 1)], text[pick(text.size())]);
      }
    }
    if (SourceManager::firstInvalidUtf8(text))
      continue;
    std::string diff = fuzz::parseDifference(text);
    ASSERT_EQ(diff, "") << "mutant " << n << ":\n" << text;
    accepted += antlrAccepts(text);
  }
  EXPECT_GT(accepted, 100u) << "of " << n;
}

// An ast::Arg keeps no range of its own (24 bytes: a Sequential of 100,000
// layers has as many): its range is its value's, from its keyword on. Both
// parsers must make every argument so, the whole argument as written.
TEST(DirectParser, AnArgumentsRangeIsItsValuesFromItsKeyword) {
  const std::string text = "model M(x: [N, 8]) = f(a, (b), c[1](2), -d, e.g, *xs, k = (1 + 2),\n"
                           "    z = [i for i in ys], q=y if t else w, i * 2 for i in ys)\n";
  for (parse::ParserStages stages : {parse::ParserStages::DirectOnly, parse::ParserStages::AntlrOnly}) {
    SourceManager sources;
    Diagnostics diags(sources);
    FileId id = sources.addFile("m.seq", text);
    std::unique_ptr<ast::File> file = parse::parseFile(sources, id, diags, stages);
    ASSERT_TRUE(file) << diags.render({});
    const auto *call = file->definitions[0]->expr->as<ast::CallExpr>();
    ASSERT_TRUE(call);
    std::vector<std::string> args;
    for (const ast::Arg &a : call->args) {
      SourceRange r = a.range(), n = a.nameRange();
      args.push_back(text.substr(r.begin, r.end - r.begin) +
                     (a.name().empty() ? "" : "|" + text.substr(n.begin, n.end - n.begin)));
    }
    EXPECT_EQ(fmt::format("{}", fmt::join(args, "; ")),
              "a; (b); c[1](2); -d; e.g; *xs; k = (1 + 2)|k; z = [i for i in ys]|z; "
              "q=y if t else w|q; i * 2 for i in ys");
  }
}
