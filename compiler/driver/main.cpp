// seqc's driver: the command line (INTERFACE.md), exit codes, and a large
// stack for the compiler's recursive stages.
#include "codegen/StageTiming.h"
#include "driver/Commands.h"
#include "driver/StageTimer.h"
#include "driver/WeightsLoad.h"
#include "driver/ToolCommands.h"

#include <CLI/CLI.hpp>
#include <llvm/Config/llvm-config.h>

#include <fmt/format.h>

#include <cctype>
#include <functional>
#include <iostream>
#include <pthread.h>

using namespace seq::driver;

namespace {

const char *kVersion = "seqc 0.1.0 (LLVM " LLVM_VERSION_STRING ")";

// --sanitize thread, a developer option (docs/robustness.md): the generated
// code instrumented for ThreadSanitizer. SEQC_SANITIZE=thread sets it for
// every build and run (scripts/sanitize.sh tsan does).
void addSanitize(CLI::App &command, std::string &sanitize) {
  command.add_option("--sanitize", sanitize,
                     "Instrument the generated code: thread (ThreadSanitizer; link into a -fsanitize=thread "
                     "program, or run in a ThreadSanitizer build of seqc)")
      ->check(CLI::IsMember({"thread"}))
      ->envname("SEQC_SANITIZE")
      ->group("Developer options");
}

// --prefix: a C identifier that cannot collide with the runtime's and the
// kernels' symbols (seqrt_*, seqk_*) or with names reserved to C.
CLI::Validator prefixValidator() {
  return CLI::Validator(
      [](std::string &prefix) -> std::string {
        bool identifier = !prefix.empty() && prefix.size() <= 64 &&
                          (std::isalpha(static_cast<unsigned char>(prefix[0])) || prefix[0] == '_');
        for (char c : prefix)
          identifier = identifier && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
        if (!identifier)
          return "'" + prefix + "' is not a C identifier of at most 64 characters";
        if (prefix[0] == '_' || prefix.rfind("seqrt", 0) == 0 || prefix.rfind("seqk", 0) == 0)
          return "'" + prefix + "' is reserved (it starts with '_', 'seqrt' or 'seqk')";
        return {};
      },
      "C identifier");
}

void addCommon(CLI::App &app, CommonOptions &common) {
  app.add_option("--diagnostics", common.format, "Diagnostics as text or json")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, seq::DiagFormat>{{"text", seq::DiagFormat::Text},
                                                 {"json", seq::DiagFormat::Json}}))
      ->option_text("text|json");
  app.add_option("--color", common.color, "Colour diagnostics: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--error-limit", common.errorLimit, "Stop after N errors (0: no limit; default 20)");
  app.add_flag("-v,--time-passes", common.timePasses, "Print each stage's time on standard error");
}

// Runs `body` on a thread with a 512 MiB stack (touched only as deep as it
// goes), so deep but legal input cannot overflow the compiler's stack.
int withLargeStack(std::function<int()> body) {
  struct Call {
    std::function<int()> body;
    int result = 1;
  } call{std::move(body)};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t(512) << 20);
  pthread_t thread;
  auto run = [](void *arg) -> void * {
    auto *c = static_cast<Call *>(arg);
    c->result = c->body();
    return nullptr;
  };
  if (pthread_create(&thread, &attr, run, &call) != 0)
    return call.body();
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  return call.result;
}

int guarded(const std::function<int()> &command) {
  try {
    return command();
  } catch (const std::exception &e) {
    std::cerr << "seqc: internal compiler error: " << e.what() << "\n"
              << "please report this with the input that caused it\n";
  } catch (...) {
    std::cerr << "seqc: internal compiler error: unknown exception\n";
  }
  return kInputErrors;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"seqc: compiles .seq model definitions to native forward functions"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(0, 1);
  CommonOptions common;
  addCommon(app, common);

  DumpCommand emitTop;
  app.add_option("--emit", emitTop.what, "Print a stage of FILE: ast, ir, ir-opt, llvm or asm")
      ->check(CLI::IsMember({"ast", "ir", "ir-opt", "llvm", "asm"}));
  app.add_option("file", emitTop.file, "With --emit: the .seq file");
  app.add_option("--model", emitTop.model, "With --emit: the model");

  CheckCommand check;
  CLI::App *checkApp = app.add_subcommand("check", "Parse and check files; diagnostics only");
  checkApp->add_option("files", check.files, "The .seq files")->required();
  checkApp->add_option("--model", check.model, "With --weights: the model to check them against");
  checkApp->add_option("--weights", check.weights,
                       "A safetensors or torch.save file to check against the model");
  checkApp->add_option("--strip-prefix", check.stripPrefix,
                       "Remove this prefix from the weights' names (e.g. module.)");
  addCommon(*checkApp, common);

  PrintCommand print;
  CLI::App *printApp = app.add_subcommand("print", "Print a model as PyTorch's print(model) does");
  printApp->add_option("file", print.file, "The .seq file")->required();
  printApp->add_option("--model", print.model, "The model (when the file has several)");
  printApp->add_option("--style", print.style, "pytorch or mindspore")
      ->check(CLI::IsMember({"pytorch", "mindspore"}));
  addCommon(*printApp, common);

  SummaryCommand summary;
  CLI::App *summaryApp = app.add_subcommand("summary", "Per-layer shapes, parameters, MACs, memory");
  summaryApp->add_option("file", summary.file, "The .seq file")->required();
  summaryApp->add_option("--model", summary.model, "The model (when the file has several)");
  summaryApp->add_option("--batch", summary.batch, "The batch size to show (default 1)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  summaryApp->add_flag("--params", summary.params, "Print the parameter table as JSON instead");
  addCommon(*summaryApp, common);

  BuildCommand build;
  CLI::App *buildApp = app.add_subcommand("build", "Compile a model to an object file and a C header");
  buildApp->add_option("file", build.file, "The .seq file")->required();
  buildApp->add_option("--model", build.model, "The model (when the file has several)");
  buildApp->add_option("-o", build.output, "The output file")->required();
  buildApp->add_option("--header", build.header, "The C header (default: OUT with .h)");
  buildApp->add_option("--weights", build.weights,
                       "Compile these weights (safetensors or torch.save) into the object");
  buildApp->add_option("--strip-prefix", build.stripPrefix,
                       "Remove this prefix from the weights' names (e.g. module.)");
  buildApp->add_option("--prefix", build.prefix, "The symbols' prefix (default: the model's name in lower case)")
      ->check(prefixValidator());
  buildApp->add_option("--target", build.target, "Target triple (default: the host)");
  buildApp->add_option("--cpu", build.cpu, "Target CPU (default: the host's)");
  buildApp->add_option("--emit", build.emit, "obj, asm or llvm")
      ->check(CLI::IsMember({"obj", "asm", "llvm"}));
  buildApp->add_option("-O", build.optLevel, "Optimisation level: -O0, -O1, -O2 (default) or -O3")
      ->check(CLI::Range(0, 3));
  buildApp->add_flag("--no-cache", build.noCache,
                     "Compile the kernel library afresh; neither read nor write the cache of compiled kernels "
                     "($XDG_CACHE_HOME/seqc/kernels or ~/.cache/seqc/kernels)");
  addSanitize(*buildApp, build.sanitize);
  addCommon(*buildApp, common);

  RunCommand run;
  CLI::App *runApp = app.add_subcommand("run", "Compile in memory and run once on .npy inputs");
  runApp->add_option("file", run.file, "The .seq file")->required();
  runApp->add_option("--model", run.model, "The model (when the file has several)");
  runApp->add_option("--weights", run.weights,
                     "The weights, safetensors or torch.save (default: random, from --seed)");
  runApp->add_option("--strip-prefix", run.stripPrefix,
                     "Remove this prefix from the weights' names (e.g. module.)");
  runApp->add_option("--input", run.inputs,
                     "An input .npy, one per model input (default: random, batch 1, from --seed)");
  runApp->add_option("--output", run.output,
                     "Where to write the output .npy (default: print its shape, values and time)");
  runApp->add_option("--seed", run.seed, "Seed of the random weights and inputs (default 0)");
  runApp->add_option("--threads", run.threads, "Threads (default: one per core)")
      ->check(CLI::Range(0, 4096));
  runApp->add_flag("--no-cache", run.noCache,
                   "Compile afresh; neither read nor write the cache ($XDG_CACHE_HOME/seqc or ~/.cache/seqc)");
  runApp->add_option("--profile", run.profile,
                     "After the run, N more calls: each layer's median time, its share and GFLOP/s")
      ->check(CLI::Range(1, 100000));
  addSanitize(*runApp, run.sanitize);
  addCommon(*runApp, common);

  ConvertCommand convert;
  CLI::App *convertApp =
      app.add_subcommand("convert", "Convert weights (torch.save .pth/.pt) to safetensors");
  convertApp->add_option("weights", convert.input, "The weights file (torch.save zip or safetensors)")
      ->required();
  convertApp->add_option("-o", convert.output, "The safetensors file to write")->required();
  convertApp->add_option("--strip-prefix", convert.stripPrefix,
                         "Remove this prefix from every name (e.g. module.)");
  addCommon(*convertApp, common);

  DumpCommand dump;
  CLI::App *dumpApp = app.add_subcommand("dump", "Print a stage: ast, ir, ir-opt, llvm or asm");
  dumpApp->add_option("what", dump.what, "ast, ir, ir-opt, llvm or asm")
      ->required()
      ->check(CLI::IsMember({"ast", "ir", "ir-opt", "llvm", "asm"}));
  dumpApp->add_option("file", dump.file, "The .seq file")->required();
  dumpApp->add_option("--model", dump.model, "The model (when the file has several)");
  dumpApp->add_option("--target", dump.target, "Target triple for llvm/asm");
  dumpApp->add_option("--cpu", dump.cpu, "Target CPU for llvm/asm");
  addCommon(*dumpApp, common);

  GraphCommand graph;
  CLI::App *graphApp = app.add_subcommand("graph", "Draw a model as a Graphviz graph (DOT, or SVG through dot)");
  graphApp->add_option("file", graph.file, "The .seq file")->required();
  graphApp->add_option("--model", graph.model, "The model (when the file has several)");
  graphApp->add_option("--stage", graph.stage, "layers (the traced layers, default) or ir (after fusion)")
      ->check(CLI::IsMember({"layers", "ir"}));
  graphApp->add_option("-o", graph.output, "OUT.dot, OUT.gv, OUT.svg, or - for DOT on standard output")
      ->required();
  addCommon(*graphApp, common);

  ExportCommand exportTorch;
  CLI::App *exportApp = app.add_subcommand("export", "Export models to another framework's source");
  exportApp->add_option("format", exportTorch.format, "torch: a Python file of nn.Module classes")
      ->required()
      ->check(CLI::IsMember({"torch"}));
  exportApp->add_option("file", exportTorch.file, "The .seq file")->required();
  exportApp->add_option("--model", exportTorch.model, "One model (default: every model of the file)");
  exportApp->add_option("-o", exportTorch.output, "OUT.py, or - for standard output")->required();
  addCommon(*exportApp, common);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp &e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    app.exit(e);
    return kUsage;
  }

  if (common.timePasses) {
    StageTimes::instance().enable();
    seq::codegen::stageObserver() = [](const char *stage, double seconds) {
      StageTimes::instance().add(stage, seconds);
    };
  }
  int result = withLargeStack([&]() -> int {
    return guarded([&]() -> int {
      if (*checkApp) return runCheck(check, common);
      if (*printApp) return runPrint(print, common);
      if (*summaryApp) return runSummary(summary, common);
      if (*buildApp) return runBuild(build, common);
      if (*runApp) return runRun(run, common);
      if (*dumpApp) return runDump(dump, common);
      if (*convertApp) return runConvert(convert, common);
      if (*graphApp) return runGraph(graph, common);
      if (*exportApp) return runExport(exportTorch, common);
      if (!emitTop.what.empty() && !emitTop.file.empty())
        return runDump(emitTop, common);
      std::cerr << app.help();
      return kUsage;
    });
  });
  StageTimes::instance().print(std::cerr);
  return result;
}
