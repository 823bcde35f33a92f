// Commands: check, print, summary and dump.
#include "driver/Commands.h"

#include "ast/AstDump.h"
#include "driver/Pipeline.h"
#include "driver/WeightsLoad.h"
#include "ir/Printer.h"
#include "tools/Print.h"
#include "tools/Summary.h"

#include <fmt/format.h>

#include <iostream>

namespace seq::driver {

int runCheck(const CheckCommand &command, const CommonOptions &common) {
  Frontend frontend(common);
  // Every file is checked, even after one that cannot be read.
  int status = kSuccess;
  for (const std::string &file : command.files)
    if (int loaded = frontend.load(file, /*warnIfNoModel=*/true, /*keepTraceNodes=*/false);
        loaded != kSuccess)
      status = loaded;
  if (!command.weights.empty()) {
    if (command.files.size() != 1) {
      printError("--weights checks one file's model; give one file");
      return kUsage;
    }
    if (sema::CheckedModel *model = frontend.selectModel(command.files[0], command.model))
      if (model->valid && checkWeights(frontend, *model, {command.weights, command.stripPrefix}) != kSuccess)
        status = kUsage;
  }
  int diagnostics = frontend.finish();
  return status != kSuccess ? status : diagnostics;
}

int runPrint(const PrintCommand &command, const CommonOptions &common) {
  Frontend frontend(common);
  if (int status = frontend.load(command.file); status != kSuccess)
    return status;
  sema::CheckedModel *model = frontend.selectModel(command.file, command.model);
  if (!model || !model->root || frontend.diagnostics().hasErrors())
    return frontend.finish();
  std::cout << tools::printModel(*model->root, command.style == "mindspore"
                                                   ? tools::PrintStyle::MindSpore
                                                   : tools::PrintStyle::PyTorch);
  return frontend.finish();
}

int runSummary(const SummaryCommand &command, const CommonOptions &common) {
  Frontend frontend(common);
  int status = kSuccess;
  sema::CheckedModel *model = frontend.loadModel(command.file, command.model, status);
  if (!model)
    return status;
  if (command.params) {
    std::cout << tools::paramsJson(*model);
    return frontend.finish();
  }
  if (std::optional<std::string> problem = tools::batchTooLarge(*model, command.batch)) {
    printError(fmt::format("--batch {} is too large: {}", command.batch, *problem));
    frontend.finish();
    return kUsage;
  }
  tools::SummaryOptions options;
  options.batch = command.batch;
  ir::Graph graph = optimizedGraph(*model);
  if (!workspaceWithinLimit(graph, *model, frontend.diagnostics()))
    return frontend.finish();
  options.plannedWorkspace = graph.callWorkspaceFixed() + graph.callWorkspacePerBatch() * command.batch;
  std::cout << tools::summarize(*model, options);
  return frontend.finish();
}

int runDump(const DumpCommand &command, const CommonOptions &common) {
  Frontend frontend(common);
  if (command.what == "ast") {
    // The AST is printed even when the file does not check.
    if (int status = frontend.load(command.file); status != kSuccess)
      return status;
    for (const auto &file : frontend.files())
      std::cout << ast::dump(*file, frontend.sources());
    return frontend.finish();
  }
  int status = kSuccess;
  sema::CheckedModel *model = frontend.loadModel(command.file, command.model, status);
  if (!model)
    return status;
  if (command.what == "ir" || command.what == "ir-opt") {
    ir::Graph graph = command.what == "ir" ? loweredGraph(*model) : optimizedGraph(*model);
    if (command.what == "ir-opt" && !workspaceWithinLimit(graph, *model, frontend.diagnostics()))
      return frontend.finish();
    std::cout << ir::print(graph, &frontend.sources());
    return frontend.finish();
  }
  BuildCommand build;
  build.file = command.file;
  build.target = command.target;
  build.cpu = command.cpu;
  build.optLevel = command.optLevel;
  build.emit = command.what;
  status = emitToStdout(*model, build, frontend.diagnostics());
  int diagnostics = frontend.finish();
  return status != kSuccess ? status : diagnostics;
}

} // namespace seq::driver
