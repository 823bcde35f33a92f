// ToolCommands: graph (DOT, or SVG through Graphviz's dot) and export torch.
// Usage problems are found before the model is compiled; outputs are
// written to a temporary file and renamed, so nothing partial is left.
#include "driver/ToolCommands.h"

#include "driver/FileOutput.h"

#include "driver/Pipeline.h"
#include "tools/ExportTorch.h"
#include "tools/Graph.h"

#include <fmt/format.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Program.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <unistd.h>

namespace seq::driver {

namespace fs = std::filesystem;

namespace {

std::string extensionOf(const std::string &path) {
  std::string ext = fs::path(path).extension().string();
  for (char &c : ext)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// A temporary name beside `path`, so that the rename stays on one file system.
std::string temporaryBeside(const std::string &path) {
  return fmt::format("{}.tmp-seqc-{}", path, getpid());
}

bool writeFile(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  return bool(out);
}

// Writes `text` to `path` through a temporary file; prints why on failure.
bool writeAtomically(const std::string &path, const std::string &text) {
  if (writeFileAtomically(path, text))
    return true;
  printError(fmt::format("cannot write '{}'", path));
  return false;
}

// Renders DOT text to SVG at `path` with Graphviz's `dot`.
bool renderSvg(const std::string &dotProgram, const std::string &path, const std::string &dot) {
  std::string input = temporaryBeside(path) + ".dot", output = temporaryBeside(path);
  std::error_code ec;
  if (!writeFile(input, dot)) {
    fs::remove(input, ec);
    printError(fmt::format("cannot write '{}'", path));
    return false;
  }
  std::string message;
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, std::nullopt, std::nullopt};
  int result = llvm::sys::ExecuteAndWait(dotProgram, {dotProgram, "-Tsvg", input, "-o", output},
                                         std::nullopt, redirects, 60, 0, &message);
  fs::remove(input, ec);
  if (result != 0) {
    fs::remove(output, ec);
    printError(fmt::format("Graphviz's dot failed on the graph of '{}'{}", path,
                           message.empty() ? "" : ": " + message));
    return false;
  }
  fs::rename(output, path, ec);
  if (ec) {
    fs::remove(output, ec);
    printError(fmt::format("cannot write '{}': {}", path, ec.message()));
    return false;
  }
  return true;
}

} // namespace

int runGraph(const GraphCommand &command, const CommonOptions &common) {
  std::string ext = extensionOf(command.output);
  bool svg = ext == ".svg";
  if (command.output != "-" && !svg && ext != ".dot" && ext != ".gv") {
    printError(fmt::format("-o '{}': the graph is written as .dot, .gv or .svg (or - for DOT on "
                           "standard output)", command.output));
    return kUsage;
  }
  std::string dotProgram;
  if (svg) {
    llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName("dot");
    if (!found) {
      printError("SVG output needs Graphviz's 'dot' on PATH (Debian: apt-get install graphviz); "
                 "-o OUT.dot writes DOT without it");
      return kUsage;
    }
    dotProgram = *found;
  }

  Frontend frontend(common);
  int status = kSuccess;
  sema::CheckedModel *model = frontend.loadModel(command.file, command.model, status);
  if (!model)
    return status;
  std::string dot = command.stage == "ir" ? tools::irGraphDot(optimizedGraph(*model))
                                          : tools::layerGraphDot(*model, frontend.sources());
  if (command.output == "-")
    std::cout << dot << std::flush;
  else if (!(svg ? renderSvg(dotProgram, command.output, dot) : writeAtomically(command.output, dot)))
    status = kUsage;
  int diagnostics = frontend.finish();
  return status != kSuccess ? status : diagnostics;
}

int runExport(const ExportCommand &command, const CommonOptions &common) {
  if (command.output != "-" && extensionOf(command.output) != ".py") {
    printError(fmt::format("-o '{}': export torch writes a Python file (.py, or - for standard output)",
                           command.output));
    return kUsage;
  }
  Frontend frontend(common);
  std::vector<const sema::CheckedModel *> models;
  int status = kSuccess;
  if (command.model.empty()) {
    // Every model of the file, each as its own class.
    if ((status = frontend.load(command.file)) != kSuccess)
      return status;
    for (const auto &m : frontend.models())
      models.push_back(m.get());
    if (models.size() <= 1) {
      models.clear();
      if (const sema::CheckedModel *m = frontend.selectModel(command.file, ""))
        models.push_back(m);
    }
    for (const sema::CheckedModel *m : models)
      if (!m->valid)
        models.clear();
    if (models.empty() || frontend.diagnostics().hasErrors()) {
      status = frontend.finish();
      return status == kSuccess ? kInputErrors : status;
    }
  } else if (sema::CheckedModel *model = frontend.loadModel(command.file, command.model, status)) {
    models.push_back(model);
  } else {
    return status;
  }
  tools::ExportResult result =
      tools::exportTorch(models, fs::path(command.file).filename().string(), frontend.sources());
  if (!result.unsupported.empty()) {
    for (const std::string &what : result.unsupported)
      printError(fmt::format("export torch does not support {} yet", what));
    frontend.finish();
    return kInputErrors;
  }
  if (command.output == "-")
    std::cout << result.python << std::flush;
  else if (!writeAtomically(command.output, result.python))
    status = kUsage;
  int diagnostics = frontend.finish();
  return status != kSuccess ? status : diagnostics;
}

} // namespace seq::driver
