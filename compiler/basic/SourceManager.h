// SourceManager: owns the text of every source file and turns byte offsets
// into 1-based lines and columns (columns count characters, not bytes).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seq {

using FileId = uint32_t;

// A half-open byte range [begin, end) in one file.
struct SourceRange {
  FileId file = 0;
  uint32_t begin = 0;
  uint32_t end = 0;

  bool valid() const { return end >= begin && (begin != 0 || end != 0 || file != 0); }
  static SourceRange cover(const SourceRange &a, const SourceRange &b) {
    return {a.file, a.begin < b.begin ? a.begin : b.begin, a.end > b.end ? a.end : b.end};
  }
};

struct LineColumn {
  uint32_t line = 1;   // 1-based
  uint32_t column = 1; // 1-based, in characters
};

class SourceManager {
public:
  // Adds a file's text; the text must already be valid UTF-8 (see
  // firstInvalidUtf8).
  FileId addFile(std::string name, std::string text);

  const std::string &name(FileId file) const { return files_[file].name; }
  std::string_view text(FileId file) const { return files_[file].text; }
  std::string_view text(SourceRange range) const;

  LineColumn lineColumn(FileId file, uint32_t offset) const;
  // The text of a 1-based line, without its line break.
  std::string_view lineText(FileId file, uint32_t line) const;
  uint32_t lineCount(FileId file) const { return uint32_t(files_[file].lineStarts.size()); }

  // The byte offset of the first byte that is not valid UTF-8 (or a NUL),
  // if any.
  static std::optional<size_t> firstInvalidUtf8(std::string_view text);

private:
  struct File {
    std::string name;
    std::string text;
    std::vector<uint32_t> lineStarts;
    bool ascii = true; // columns are byte offsets: no scan per query
  };
  // A deque: a file's text stays at one address (the AST points into it).
  std::deque<File> files_;
};

} // namespace seq
