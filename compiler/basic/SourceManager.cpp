// SourceManager: file texts, and byte offset -> line:column.
#include "basic/SourceManager.h"

#include <algorithm>

namespace seq {

FileId SourceManager::addFile(std::string name, std::string text) {
  File file{std::move(name), std::move(text), {0}, true};
  // Exactly sized: kept for the whole run (doubling would leave up to half unused).
  file.lineStarts.reserve(size_t(std::count(file.text.begin(), file.text.end(), '\n')) + 1);
  for (uint32_t i = 0; i < file.text.size(); ++i) {
    if (file.text[i] == '\n')
      file.lineStarts.push_back(i + 1);
    file.ascii &= static_cast<unsigned char>(file.text[i]) < 0x80;
  }
  files_.push_back(std::move(file));
  return FileId(files_.size() - 1);
}

std::string_view SourceManager::text(SourceRange range) const {
  std::string_view all = files_[range.file].text;
  if (range.begin > all.size())
    return {};
  return all.substr(range.begin, std::min<size_t>(range.end, all.size()) - range.begin);
}

static bool isContinuationByte(unsigned char c) { return (c & 0xC0) == 0x80; }

LineColumn SourceManager::lineColumn(FileId file, uint32_t offset) const {
  const File &f = files_[file];
  offset = std::min<uint32_t>(offset, uint32_t(f.text.size()));
  auto it = std::upper_bound(f.lineStarts.begin(), f.lineStarts.end(), offset);
  uint32_t line = uint32_t(it - f.lineStarts.begin());
  if (f.ascii)
    return {line, offset - f.lineStarts[line - 1] + 1};
  uint32_t column = 1;
  for (uint32_t i = f.lineStarts[line - 1]; i < offset; ++i)
    if (!isContinuationByte(static_cast<unsigned char>(f.text[i])))
      ++column;
  return {line, column};
}

std::string_view SourceManager::lineText(FileId file, uint32_t line) const {
  const File &f = files_[file];
  if (line == 0 || line > f.lineStarts.size())
    return {};
  uint32_t begin = f.lineStarts[line - 1];
  uint32_t end = line < f.lineStarts.size() ? f.lineStarts[line] : uint32_t(f.text.size());
  std::string_view text = std::string_view(f.text).substr(begin, end - begin);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

std::optional<size_t> SourceManager::firstInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0)
      return i;
    size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size())
      return i;
    for (size_t k = 1; k < length; ++k)
      if (!isContinuationByte(static_cast<unsigned char>(text[i + k])))
        return i;
    // Overlong encodings and surrogates.
    if ((length == 2 && c < 0xC2) ||
        (length == 3 && c == 0xE0 && static_cast<unsigned char>(text[i + 1]) < 0xA0) ||
        (length == 3 && c == 0xED && static_cast<unsigned char>(text[i + 1]) >= 0xA0) ||
        (length == 4 && c == 0xF0 && static_cast<unsigned char>(text[i + 1]) < 0x90) ||
        (length == 4 && c > 0xF4) ||
        (length == 4 && c == 0xF4 && static_cast<unsigned char>(text[i + 1]) >= 0x90))
      return i;
    i += length;
  }
  return std::nullopt;
}

} // namespace seq
