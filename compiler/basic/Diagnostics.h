// Diagnostics: structured errors, warnings and notes, collected while the
// compiler runs and rendered afterwards as Clang-style text or as JSON.
#pragma once

#include "basic/SourceManager.h"

#include <optional>
#include <set>
#include <tuple>
#include <string>
#include <vector>

namespace seq {

enum class Severity { Error, Warning };

struct DiagNote {
  std::string message;
  std::optional<SourceRange> range;
};

// A proposed fix: a message, and where known the range to replace and the
// text to put there.
struct DiagFix {
  std::string message;
  std::optional<SourceRange> range;
  std::string replacement;
};

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string message;
  std::optional<SourceRange> range;
  std::vector<DiagNote> notes;
  std::vector<DiagFix> fixes;
};

enum class DiagFormat { Text, Json };

struct RenderOptions {
  DiagFormat format = DiagFormat::Text;
  bool color = false;
};

class Diagnostics {
public:
  explicit Diagnostics(const SourceManager &sources) : sources_(sources) {}

  // Adds a diagnostic and returns it so notes and fixes can be attached.
  // Past the error limit errors are counted but dropped; a duplicate of an
  // earlier diagnostic (same severity, range and message) is dropped too.
  Diagnostic &error(std::optional<SourceRange> range, std::string message);
  Diagnostic &warning(std::optional<SourceRange> range, std::string message);

  void setErrorLimit(unsigned limit) { errorLimit_ = limit; }
  unsigned errorCount() const { return errorCount_; }
  // Every error reported, duplicates included: what a check compares
  // before and after to learn whether it failed. (errorCount() skips a
  // duplicate: a module instantiated twice with the same bad argument
  // reports it once, and its second instance must still fail.)
  unsigned errorEvents() const { return errorEvents_; }
  unsigned warningCount() const { return warningCount_; }
  bool hasErrors() const { return errorCount_ > 0; }

  // Renders everything collected, in source order, and the closing count.
  std::string render(const RenderOptions &options) const;
  const std::vector<Diagnostic> &all() const { return diagnostics_; }

private:
  Diagnostic &add(Severity severity, std::optional<SourceRange> range, std::string message);
  std::string renderText(bool color) const;
  std::string renderJson() const;

  const SourceManager &sources_;
  std::vector<Diagnostic> diagnostics_;
  std::set<std::tuple<int, std::string, uint32_t, uint32_t, uint32_t>> seen_; // for duplicates
  Diagnostic discarded_;
  unsigned errorLimit_ = 20;
  unsigned errorCount_ = 0;
  unsigned errorEvents_ = 0;
  unsigned warningCount_ = 0;
};

} // namespace seq
