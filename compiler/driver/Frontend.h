// Frontend: loads source files, parses and checks them, and selects the
// model a command works on. Shared by every subcommand.
#pragma once

#include "ast/Ast.h"
#include "basic/Diagnostics.h"
#include "sema/Module.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace seq::driver {

// Exit codes (INTERFACE.md).
enum ExitCode { kSuccess = 0, kInputErrors = 1, kUsage = 2 };

struct CommonOptions {
  DiagFormat format = DiagFormat::Text;
  std::string color = "auto";
  unsigned errorLimit = 20;
  bool timePasses = false; // -v / --time-passes
};

class Frontend {
public:
  explicit Frontend(const CommonOptions &options);
  ~Frontend();

  // Reads, parses and checks `path`. Returns kUsage when the file cannot be
  // read (the message is printed at once), kSuccess otherwise; errors in the
  // file are collected in diagnostics().
  // `check` warns about a file with no model; the other commands need one
  // and say so in selectModel instead. `check` also keeps no trace nodes
  // (sema::CheckOptions): it reads no more than the diagnostics.
  int load(const std::string &path, bool warnIfNoModel = false, bool keepTraceNodes = true);

  // The model named `name`, or the only model when `name` is empty; reports
  // an error (and returns null) when there is none or the choice is unclear.
  sema::CheckedModel *selectModel(const std::string &path, const std::string &name);

  // load + selectModel for the commands that work on one valid model: the
  // model, or null with the exit code in `status` (diagnostics printed).
  sema::CheckedModel *loadModel(const std::string &path, const std::string &name, int &status);

  const std::vector<std::unique_ptr<sema::CheckedModel>> &models() const { return models_; }
  // The files that parsed, for `dump ast`.
  const std::vector<std::unique_ptr<ast::File>> &files() const { return files_; }
  SourceManager &sources() { return sources_; }
  Diagnostics &diagnostics() { return diags_; }

  // Prints the collected diagnostics to stderr; returns kInputErrors if any
  // was an error, else kSuccess.
  int finish();

private:
  CommonOptions options_;
  SourceManager sources_;
  Diagnostics diags_;
  std::vector<std::unique_ptr<ast::File>> files_;
  std::vector<std::unique_ptr<sema::CheckedModel>> models_;
  std::vector<std::pair<std::string, std::vector<sema::CheckedModel *>>> modelsByFile_;
  std::map<std::string, FileId> fileIds_;
  bool usageError_ = false; // --model missing or naming no model
  FileId fileOf(const std::string &path) const;
};

// "seqc: error: ..." for problems outside any source file.
void printError(const std::string &message);

} // namespace seq::driver
