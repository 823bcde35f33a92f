// Fuzz target: raw bytes as a .seq file, parsed by ANTLR's stages alone and
// by the direct parser alone; any disagreement (ParseDiff.h: a different
// AST or diagnostics, a file one accepts and the other rejects, a direct
// parser that gives up with a word) aborts with both sides printed, as
// does any crash or sanitizer report. Built from the parse stage's sources
// alone (no LLVM, no checker), so that it runs fast.
#include "ParseDiff.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  if (seq::SourceManager::firstInvalidUtf8(text))
    return 0; // rejected by the driver before parsing
  // The default parse (the two composed) is the unit tests' to check.
  std::string difference = seq::fuzz::parseDifference(text, true, false);
  if (!difference.empty()) {
    std::fprintf(stderr, "parsers disagree on:\n%.*s\n----\n%s\n", int(text.size()), text.data(),
                 difference.c_str());
    std::abort();
  }
  return 0;
}
