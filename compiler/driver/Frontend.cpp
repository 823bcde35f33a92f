// Frontend: source loading (size, UTF-8 and binary checks), parsing,
// checking, model selection and the final rendering of diagnostics.
#include "driver/Frontend.h"

#include "driver/StageTimer.h"

#include "basic/Limits.h"
#include "parse/Parser.h"
#include "sema/Sema.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>
#include <unistd.h>

namespace seq::driver {

void printError(const std::string &message) {
  std::cerr << "seqc: error: " << message << "\n";
}

Frontend::Frontend(const CommonOptions &options) : options_(options), diags_(sources_) {
  diags_.setErrorLimit(options.errorLimit == 0 ? ~0u : options.errorLimit);
}

Frontend::~Frontend() = default;

int Frontend::load(const std::string &path, bool warnIfNoModel, bool keepTraceNodes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    printError(fmt::format("'{}' is a directory, not a .seq file", path));
    return kUsage;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    printError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    return kUsage;
  }
  // Read no more than the limit allows (the file may be huge, or endless).
  std::string text;
  std::vector<char> chunk(size_t(1) << 16);
  while (text.size() <= limits::kSourceBytes && in.read(chunk.data(), std::streamsize(chunk.size())).gcount() > 0)
    text.append(chunk.data(), size_t(in.gcount()));
  if (in.bad()) {
    printError(fmt::format("cannot read '{}'", path));
    return kUsage;
  }
  text.shrink_to_fit(); // kept for the whole run: not the up to 2x of its growth
  if (text.size() > limits::kSourceBytes) {
    diags_.error(std::nullopt, fmt::format("'{}' is larger than {} MiB, seqc's limit for a source file "
                                           "(checking needs memory in proportion)",
                                           path, limits::kSourceBytes >> 20));
    return kSuccess;
  }
  // Binary or non-UTF-8 input: report the first bad byte at its place. The
  // bad bytes are shown as '?' so that the quoted line stays printable.
  std::optional<size_t> bad = SourceManager::firstInvalidUtf8(text);
  if (bad) {
    unsigned char byte = static_cast<unsigned char>(text[*bad]);
    for (char &c : text)
      if (static_cast<unsigned char>(c) >= 0x80 || (c < 0x20 && c != '\n' && c != '\t' && c != '\r'))
        c = '?';
    FileId id = sources_.addFile(path, std::move(text));
    diags_.error(SourceRange{id, uint32_t(*bad), uint32_t(*bad + 1)},
                 byte == 0 ? "this file contains a NUL byte: it looks like a binary file, not a .seq file"
                           : fmt::format("this file is not valid UTF-8 (byte 0x{:02x})", byte));
    return kSuccess;
  }
  FileId id = sources_.addFile(path, std::move(text));
  ScopedStage parseStage("parse");
  std::unique_ptr<ast::File> file = parse::parseFile(sources_, id, diags_);
  parseStage.stop();
  std::vector<sema::CheckedModel *> loaded;
  if (file) {
    ScopedStage semaStage("sema");
    for (auto &model : sema::check(*file, sources_, diags_, {.keepTraceNodes = keepTraceNodes})) {
      loaded.push_back(model.get());
      models_.push_back(std::move(model));
    }
    if (loaded.empty() && !diags_.hasErrors() && warnIfNoModel)
      diags_.warning(SourceRange{id, 0, 0}, fmt::format("'{}' defines no model", path));
    files_.push_back(std::move(file));
  }
  modelsByFile_.push_back({path, loaded});
  fileIds_[path] = id;
  return kSuccess;
}

sema::CheckedModel *Frontend::selectModel(const std::string &path, const std::string &name) {
  std::vector<sema::CheckedModel *> *models = nullptr;
  for (auto &[file, list] : modelsByFile_)
    if (file == path)
      models = &list;
  if (!models || diags_.hasErrors())
    return nullptr;
  std::string names;
  for (sema::CheckedModel *m : *models)
    names += (names.empty() ? "'" : ", '") + m->name + "'";
  if (name.empty()) {
    if (models->size() == 1)
      return (*models)[0];
    usageError_ = !models->empty(); // the choice was the command line's to make
    diags_.error(models->empty() ? std::optional<SourceRange>(SourceRange{fileOf(path), 0, 0}) : std::nullopt,
                 models->empty()
        ? fmt::format("'{}' defines no model", path)
        : fmt::format("'{}' defines several models ({}); choose one with --model", path, names));
    return nullptr;
  }
  for (sema::CheckedModel *m : *models)
    if (m->name == name)
      return m;
  usageError_ = true;
  diags_.error(std::nullopt, fmt::format("'{}' has no model named '{}'{}", path, name,
                                         names.empty() ? "" : "; it defines " + names));
  return nullptr;
}

sema::CheckedModel *Frontend::loadModel(const std::string &path, const std::string &name,
                                        int &status) {
  status = load(path);
  if (status != kSuccess)
    return nullptr;
  sema::CheckedModel *model = selectModel(path, name);
  if (model && model->valid && !diags_.hasErrors())
    return model;
  status = finish();
  if (status == kSuccess)
    status = kInputErrors; // an invalid model always has an error reported
  return nullptr;
}

FileId Frontend::fileOf(const std::string &path) const {
  auto it = fileIds_.find(path);
  return it == fileIds_.end() ? 0 : it->second;
}

int Frontend::finish() {
  bool color = options_.color == "always" ||
               (options_.color == "auto" && isatty(STDERR_FILENO) && !std::getenv("NO_COLOR") &&
                std::getenv("TERM") && std::string(std::getenv("TERM")) != "dumb");
  std::string text = diags_.render({options_.format, color});
  if (options_.format == DiagFormat::Json || !text.empty())
    std::cerr << text << std::flush;
  if (usageError_ && diags_.errorCount() == 1)
    return kUsage;
  return diags_.hasErrors() ? kInputErrors : kSuccess;
}

} // namespace seq::driver
