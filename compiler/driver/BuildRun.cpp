// BuildRun: `seqc build` (object + header, optionally with the weights
// compiled in) and `seqc run` (JIT, .npy in and out), and the stages they
// share.
#include "driver/Pipeline.h"

#include "driver/FileOutput.h"
#include "tools/ProfileReport.h"

#include "driver/RunSupport.h"
#include "driver/StageTimer.h"
#include "driver/WeightsLoad.h"

#include "basic/Limits.h"
#include "codegen/Codegen.h"
#include "codegen/JitCache.h"
#include "codegen/SanitizeThread.h"
#include "ir/Verifier.h"
#include "lower/AstToIr.h"
#include "passes/Passes.h"
#include "tools/Npy.h"

#include <seqrt.h>

#include <fmt/format.h>
#include <llvm/Support/Error.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace seq::driver {

namespace fs = std::filesystem;

ir::Graph loweredGraph(const sema::CheckedModel &model) {
  ScopedStage stage("lower");
  return lower::lowerModel(model);
}

ir::Graph optimizedGraph(const sema::CheckedModel &model) {
  ir::Graph graph = loweredGraph(model);
  ScopedStage stage("passes");
  passes::runPipeline(graph);
  std::vector<std::string> problems = ir::verify(graph);
  if (!problems.empty())
    throw std::runtime_error(fmt::format("the optimised graph of '{}' is invalid: {}", model.name,
                                         fmt::join(problems, "; ")));
  return graph;
}

namespace {

codegen::TargetOptions targetOf(const BuildCommand &build) {
  codegen::TargetOptions target;
  target.triple = build.target;
  target.cpu = build.cpu;
  target.optLevel = build.optLevel;
  target.sanitizeThread = build.sanitize == "thread";
  // The kernels the model's parts share, which are not specialised to it,
  // compiled once per target (codegen/ParallelEmit.h).
  if (!build.noCache)
    target.kernelCache = codegen::JitCache::kernelDirectory().value_or("");
  return target;
}

codegen::TargetOptions runTarget(const RunCommand &run) {
  codegen::TargetOptions target;
  target.sanitizeThread = run.sanitize == "thread";
  target.profile = run.profile > 0;
  // a model not in the cache yet may use kernels that are (as `seqc build`)
  if (!run.noCache)
    target.kernelCache = codegen::JitCache::kernelDirectory().value_or("");
  return target;
}

codegen::EmitKind emitKindOf(const std::string &emit) {
  return emit == "asm" ? codegen::EmitKind::Assembly
         : emit == "llvm" ? codegen::EmitKind::LlvmIr : codegen::EmitKind::Object;
}

std::string headerPathFor(const BuildCommand &build) {
  if (!build.header.empty())
    return build.header;
  fs::path p(build.output);
  return p.replace_extension(".h").string();
}

// Reports an error from the code generator: a bad target is bad usage,
// anything else an internal error.
int codegenError(llvm::Error error) {
  std::string message = llvm::toString(std::move(error));
  bool usage = message.find("target") != std::string::npos || message.find("cannot write") != std::string::npos ||
               message.find("cannot open") != std::string::npos || message.find("CPU") != std::string::npos;
  std::cerr << (usage ? "seqc: error: " : "seqc: internal compiler error: ") << message << "\n";
  return usage ? kUsage : kInputErrors;
}

// Where `seqc run` caches the model's code, keyed by the source text and
// the model's name (JitCache adds the target and seqc's identity); none
// with --no-cache or without a cache directory.
std::optional<codegen::JitCacheRequest> jitCacheFor(Frontend &frontend, const sema::CheckedModel &model,
                                                    const RunCommand &run) {
  std::optional<std::string> directory = codegen::JitCache::defaultDirectory();
  if (run.noCache || !directory)
    return std::nullopt;
  std::string_view source = frontend.sources().text(model.definition->nameRange.file);
  return codegen::JitCacheRequest{*directory, fmt::format("run\n{}\n{}", model.name, source)};
}

} // namespace

bool workspaceWithinLimit(const ir::Graph &graph, const sema::CheckedModel &model, Diagnostics &diags) {
  int64_t worst = std::max(graph.callWorkspaceFixed(), graph.callWorkspacePerBatch());
  if (worst <= limits::kWorkspaceBytes)
    return true;
  diags.error(model.definition->nameRange,
              fmt::format("model '{}' needs {:.1f} GiB of workspace {}; seqc's limit is {} GiB", model.name,
                          double(worst) / (1 << 30),
                          worst == graph.callWorkspacePerBatch() ? "per sample of the batch" : "in all",
                          limits::kWorkspaceBytes >> 30));
  return false;
}

int emitToStdout(const sema::CheckedModel &model, const BuildCommand &build, Diagnostics &diags) {
  ir::Graph graph = optimizedGraph(model);
  if (!workspaceWithinLimit(graph, model, diags))
    return kInputErrors;
  fs::path tmp = fs::temp_directory_path() / fmt::format("seqc-{}-{}.out", getpid(), model.name);
  if (llvm::Error e = codegen::emitFile(graph, targetOf(build), emitKindOf(build.emit), tmp.string(), nullptr))
    return codegenError(std::move(e));
  std::ifstream in(tmp, std::ios::binary);
  std::cout << in.rdbuf();
  std::error_code ec;
  fs::remove(tmp, ec);
  return kSuccess;
}

int runBuild(const BuildCommand &build, const CommonOptions &common) {
  Frontend frontend(common);
  int status = kSuccess;
  sema::CheckedModel *model = frontend.loadModel(build.file, build.model, status);
  if (!model)
    return status;
  ir::Graph graph = optimizedGraph(*model);
  if (!workspaceWithinLimit(graph, *model, frontend.diagnostics()))
    return frontend.finish();
  if (!build.prefix.empty())
    graph.symbolPrefix = build.prefix;

  std::vector<float> packed;
  if (!build.weights.empty()) {
    llvm::Expected<std::unique_ptr<codegen::ModelDesc>> desc = codegen::ModelDesc::create(graph);
    if (!desc)
      return codegenError(desc.takeError());
    seqrt_weights *weights =
        loadWeights(frontend, (*desc)->model(), {build.weights, build.stripPrefix}, *model, status);
    if (!weights) {
      int diagnostics = frontend.finish();
      return status == kUsage ? kUsage : diagnostics;
    }
    const float *data = seqrt_weights_data(weights);
    packed.assign(data, data + graph.packedSize);
    seqrt_weights_free(weights);
  }

  codegen::EmitKind kind = emitKindOf(build.emit);
  if (llvm::Error e = codegen::emitFile(graph, targetOf(build), kind, build.output,
                                        build.weights.empty() ? nullptr : &packed))
    return codegenError(std::move(e));
  if (kind == codegen::EmitKind::Object || !build.header.empty()) {
    std::string header = headerPathFor(build);
    if (!writeFileAtomically(header, codegen::emitHeader(graph, !build.weights.empty()))) {
      std::error_code ec;
      fs::remove(build.output, ec); // no partial output: the pair or nothing
      printError(fmt::format("cannot write '{}'", header));
      return kUsage;
    }
  }
  return frontend.finish();
}

int runRun(const RunCommand &run, const CommonOptions &common) {
  // Instrumented code calls __tsan_*, which only a ThreadSanitizer seqc has.
  if (run.sanitize == "thread" && !codegen::processHasThreadSanitizer()) {
    printError("'--sanitize thread' runs only in a ThreadSanitizer build of seqc (scripts/sanitize.sh tsan); "
               "'seqc build --sanitize thread' works in any build");
    return kUsage;
  }
  Frontend frontend(common);
  int status = kSuccess;
  sema::CheckedModel *model = frontend.loadModel(run.file, run.model, status);
  if (!model)
    return status;
  // Inputs first: they fix the batch, and a bad one needs no compilation.
  RunInputs inputs;
  if (!prepareInputs(frontend, *model, run, inputs, status))
    return status;
  const int64_t batch = inputs.batch;

  ir::Graph graph = optimizedGraph(*model);
  if (!workspaceWithinLimit(graph, *model, frontend.diagnostics()))
    return frontend.finish();
  const auto compileStart = std::chrono::steady_clock::now();
  std::optional<codegen::JitCacheRequest> cache = jitCacheFor(frontend, *model, run);
  llvm::Expected<std::unique_ptr<codegen::JitModel>> jit =
      codegen::JitModel::create(graph, runTarget(run), cache ? &*cache : nullptr);
  if (!jit)
    return codegenError(jit.takeError());
  const double compileSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - compileStart).count();
  seqrt_weights *weights = nullptr;
  if (run.weights.empty()) {
    std::cerr << fmt::format("seqc: note: no --weights: random weights as PyTorch initialises them "
                             "(seed {})\n", run.seed);
    ScopedStage stage("random weights");
    if (seqrt_weights_random(&(*jit)->model(), run.seed, &weights) != SEQRT_OK) {
      frontend.diagnostics().error(std::nullopt, fmt::format("random weights: {}", seqrt_last_error()));
      return frontend.finish();
    }
  } else {
    weights = loadWeights(frontend, (*jit)->model(), {run.weights, run.stripPrefix}, *model, status);
    if (!weights) {
      int diagnostics = frontend.finish();
      return status == kUsage ? kUsage : diagnostics;
    }
  }

  const ir::Shape &outShape = graph.value(graph.output).shape;
  std::vector<int64_t> shape = outShape.dims;
  if (outShape.batched())
    shape[0] = batch;
  std::vector<float> output(size_t(outShape.elements(batch)));
  std::vector<const float *> pointers;
  for (const tools::NpyArray &in : inputs.arrays)
    pointers.push_back(in.data.data());
  seqrt_context *ctx = nullptr;
  int64_t workspace = seqrt_workspace_size(&(*jit)->model(), batch);
  seqrt_status s = workspace < 0 ? SEQRT_ERR_BATCH : seqrt_context_new(run.threads, size_t(workspace), &ctx);
  ScopedStage runStage("run");
  if (s == SEQRT_OK)
    s = (*jit)->forward(weights, pointers.data(), output.data(), batch, ctx);
  const double forwardSeconds = runStage.stop();
  const int threads = ctx ? seqrt_context_threads(ctx) : 0;
  tools::ProfileRun profile{model->name, batch, threads, {}};
  if (s == SEQRT_OK && run.profile > 0) {
    // calls to warm the caches (at least 3, and 0.2 s: 20 calls of
    // MobileNetV2 after only 2 took 11% longer than after a second), then
    // the profiled ones
    const auto warmStart = std::chrono::steady_clock::now();
    for (int call = 0; s == SEQRT_OK && (call < 3 || std::chrono::steady_clock::now() - warmStart <
                                                         std::chrono::milliseconds(200));
         ++call)
      s = (*jit)->forward(weights, pointers.data(), output.data(), batch, ctx);
    (void)codegen::takeProfileMarks();
    for (int call = 0; call < run.profile && s == SEQRT_OK; ++call) {
      s = (*jit)->forward(weights, pointers.data(), output.data(), batch, ctx);
      profile.calls.push_back(codegen::takeProfileMarks());
    }
  }
  seqrt_context_free(ctx);
  seqrt_weights_free(weights);
  if (s != SEQRT_OK) {
    frontend.diagnostics().error(std::nullopt, fmt::format("running '{}' failed: {}{}", model->name,
                                                           seqrt_status_string(s),
                                                           *seqrt_last_error() ? fmt::format(" ({})", seqrt_last_error()) : ""));
    return frontend.finish();
  }
  if (run.output.empty()) {
    printRunSummary(std::cout, {model->name, shape, &output, forwardSeconds, compileSeconds, threads});
    if (run.profile > 0)
      tools::printProfile(std::cout, graph, profile, frontend.sources());
    return frontend.finish();
  }
  if (run.profile > 0)
    tools::printProfile(std::cout, graph, profile, frontend.sources());
  std::string error;
  if (!tools::writeNpy(run.output, shape, output.data(), error)) {
    printError(error);
    return kUsage;
  }
  return frontend.finish();
}

} // namespace seq::driver
