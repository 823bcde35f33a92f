// Diagnostics: collection, and rendering as Clang-style text or JSON.
#include "basic/Diagnostics.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace seq {

Diagnostic &Diagnostics::error(std::optional<SourceRange> range, std::string message) {
  return add(Severity::Error, range, std::move(message));
}

Diagnostic &Diagnostics::warning(std::optional<SourceRange> range, std::string message) {
  return add(Severity::Warning, range, std::move(message));
}

Diagnostic &Diagnostics::add(Severity severity, std::optional<SourceRange> range,
                             std::string message) {
  if (severity == Severity::Error)
    ++errorEvents_;
  auto key = std::make_tuple(int(severity), message, range ? range->file : ~0u,
                             range ? range->begin : 0u, range ? range->end : 0u);
  if (!seen_.insert(std::move(key)).second) {
    discarded_ = {};
    return discarded_;
  }
  if (severity == Severity::Error && ++errorCount_ > errorLimit_) {
    discarded_ = {};
    return discarded_;
  }
  if (severity == Severity::Warning)
    ++warningCount_;
  diagnostics_.push_back({severity, std::move(message), range, {}, {}});
  return diagnostics_.back();
}

namespace {

// ANSI styles, empty when colour is off.
struct Style {
  bool on;
  std::string_view bold() const { return on ? "\x1b[1m" : ""; }
  std::string_view red() const { return on ? "\x1b[1;31m" : ""; }
  std::string_view magenta() const { return on ? "\x1b[1;35m" : ""; }
  std::string_view cyan() const { return on ? "\x1b[1;36m" : ""; }
  std::string_view green() const { return on ? "\x1b[1;32m" : ""; }
  std::string_view reset() const { return on ? "\x1b[0m" : ""; }
};

size_t charCount(std::string_view text) {
  return size_t(std::count_if(text.begin(), text.end(),
                              [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Byte offset of the `chars`-th character of `text`.
size_t byteOfChar(std::string_view text, size_t chars) {
  size_t i = 0;
  for (size_t seen = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && seen++ == chars)
      return i;
  }
  return text.size();
}

class TextRenderer {
public:
  TextRenderer(const SourceManager &sources, bool color) : sources_(sources), style_{color} {}

  void location(std::string &out, const std::optional<SourceRange> &range) const {
    if (!range) {
      out += fmt::format("{}seqc:{} ", style_.bold(), style_.reset());
      return;
    }
    LineColumn lc = sources_.lineColumn(range->file, range->begin);
    out += fmt::format("{}{}:{}:{}:{} ", style_.bold(), sources_.name(range->file), lc.line,
                       lc.column, style_.reset());
  }

  void header(std::string &out, const std::optional<SourceRange> &range, std::string_view kind,
              std::string_view kindStyle, std::string_view message) const {
    location(out, range);
    out += fmt::format("{}{}:{} {}{}{}\n", kindStyle, kind, style_.reset(), style_.bold(),
                       message, style_.reset());
  }

  // The quoted source line with the range underlined. Very long lines are
  // cut to a window around the range.
  void snippet(std::string &out, const SourceRange &range) const {
    if (range.begin == 0 && range.end == 0)
      return; // about the whole file: no line to quote
    LineColumn begin = sources_.lineColumn(range.file, range.begin);
    LineColumn end = sources_.lineColumn(range.file, range.end);
    std::string_view line = sources_.lineText(range.file, begin.line);
    size_t lineChars = charCount(line);
    size_t first = begin.column - 1;
    size_t last = end.line == begin.line ? std::max<size_t>(end.column - 1, first + 1) : lineChars;
    last = std::max(last, first + 1);

    constexpr size_t kWindow = 120;
    size_t windowBegin = 0;
    std::string prefix, suffix;
    if (lineChars > kWindow) {
      windowBegin = first > 40 ? first - 40 : 0;
      size_t windowEnd = std::min(lineChars, windowBegin + kWindow);
      // A range at the end of the line (or past it) keeps its one caret.
      last = std::max(std::min(last, windowEnd), first + 1);
      if (windowBegin > 0)
        prefix = "...";
      if (windowEnd < lineChars)
        suffix = "...";
      line = line.substr(byteOfChar(line, windowBegin),
                         byteOfChar(line, windowEnd) - byteOfChar(line, windowBegin));
    }
    std::string number = std::to_string(begin.line);
    size_t width = std::max<size_t>(5, number.size() + 1);
    out += fmt::format("{:>{}} | {}{}{}\n", number, width, prefix, line, suffix);

    std::string marks(prefix.size(), ' ');
    std::string_view shown = line;
    for (size_t i = windowBegin, k = 0; i < first; ++i, ++k) {
      size_t at = byteOfChar(shown, k);
      marks += at < shown.size() && shown[at] == '\t' ? '\t' : ' ';
    }
    std::string underline = "^" + std::string(last - first - 1, '~');
    out += fmt::format("{:>{}} | {}{}{}{}\n", "", width, marks, style_.green(), underline,
                       style_.reset());
  }

private:
  const SourceManager &sources_;
  Style style_;

public:
  const Style &style() const { return style_; }
};

} // namespace

std::string Diagnostics::render(const RenderOptions &options) const {
  return options.format == DiagFormat::Json ? renderJson() : renderText(options.color);
}

static std::vector<const Diagnostic *> inSourceOrder(const std::vector<Diagnostic> &all) {
  std::vector<const Diagnostic *> sorted;
  for (const Diagnostic &d : all)
    sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic *a, const Diagnostic *b) {
    if (!a->range || !b->range)
      return a->range.has_value() && !b->range.has_value();
    if (a->range->file != b->range->file)
      return a->range->file < b->range->file;
    return a->range->begin < b->range->begin;
  });
  return sorted;
}

std::string Diagnostics::renderText(bool color) const {
  TextRenderer r(sources_, color);
  const Style &s = r.style();
  std::string out;
  for (const Diagnostic *d : inSourceOrder(diagnostics_)) {
    bool isError = d->severity == Severity::Error;
    r.header(out, d->range, isError ? "error" : "warning", isError ? s.red() : s.magenta(),
             d->message);
    if (d->range)
      r.snippet(out, *d->range);
    for (const DiagNote &note : d->notes) {
      r.header(out, note.range, "note", s.cyan(), note.message);
      if (note.range)
        r.snippet(out, *note.range);
    }
    for (const DiagFix &fix : d->fixes)
      r.header(out, d->range ? d->range : fix.range, "help", s.cyan(), fix.message);
  }
  if (errorCount_ > errorLimit_)
    out += fmt::format("{}error:{} too many errors; the rest are not shown (--error-limit={})\n",
                       s.red(), s.reset(), errorLimit_);
  std::vector<std::string> counts;
  if (warningCount_)
    counts.push_back(fmt::format("{} warning{}", warningCount_, warningCount_ == 1 ? "" : "s"));
  if (errorCount_)
    counts.push_back(fmt::format("{} error{}", errorCount_, errorCount_ == 1 ? "" : "s"));
  if (!counts.empty())
    out += fmt::format("{} generated{}.\n", fmt::join(counts, " and "),
                       errorCount_ > errorLimit_ ? fmt::format(" ({} shown)", errorLimit_) : "");
  return out;
}

std::string Diagnostics::renderJson() const {
  auto located = [&](nlohmann::json &j, const std::optional<SourceRange> &range) {
    if (!range) {
      j["file"] = nullptr;
      return;
    }
    LineColumn b = sources_.lineColumn(range->file, range->begin);
    LineColumn e = sources_.lineColumn(range->file, range->end);
    j["file"] = sources_.name(range->file);
    j["line"] = b.line;
    j["column"] = b.column;
    j["end_line"] = e.line;
    j["end_column"] = e.column;
  };
  nlohmann::json all = nlohmann::json::array();
  for (const Diagnostic *d : inSourceOrder(diagnostics_)) {
    nlohmann::json j;
    j["severity"] = d->severity == Severity::Error ? "error" : "warning";
    j["message"] = d->message;
    located(j, d->range);
    j["notes"] = nlohmann::json::array();
    for (const DiagNote &note : d->notes) {
      nlohmann::json n{{"message", note.message}};
      located(n, note.range);
      j["notes"].push_back(n);
    }
    j["fixes"] = nlohmann::json::array();
    for (const DiagFix &fix : d->fixes) {
      nlohmann::json f{{"message", fix.message}};
      if (fix.range) {
        located(f, fix.range);
        f["replacement"] = fix.replacement;
      }
      j["fixes"].push_back(f);
    }
    all.push_back(j);
  }
  if (errorCount_ > errorLimit_)
    all.push_back({{"severity", "error"},
                   {"message", fmt::format("too many errors; the rest are not shown "
                                           "(--error-limit={})", errorLimit_)},
                   {"file", nullptr}, {"notes", nlohmann::json::array()},
                   {"fixes", nlohmann::json::array()}});
  return all.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

} // namespace seq
