// BuildRun: `seqc build` (object + header, optionally with the weights
// compiled in) and `seqc run` (JIT, .npy in and out), and the stages they
// share.
#include "driver/Pipeline.h"

#include "codegen/Codegen.h"
#include "ir/Verifier.h"
#include "lower/AstToIr.h"
#include "passes/Passes.h"
#include "tools/Npy.h"

#include <seqrt.h>

#include <fmt/format.h>
#include <llvm/Support/Error.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace seq::driver {

namespace fs = std::filesystem;

ir::Graph loweredGraph(const sema::CheckedModel &model) { return lower::lowerModel(model); }

ir::Graph optimizedGraph(const sema::CheckedModel &model) {
  ir::Graph graph = lower::lowerModel(model);
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
  return target;
}

codegen::EmitKind emitKindOf(const std::string &emit) {
  return emit == "asm" ? codegen::EmitKind::Assembly
         : emit == "llvm" ? codegen::EmitKind::LlvmIr : codegen::EmitKind::Object;
}

// Writes `text` to `path` through a temporary file renamed into place.
bool writeAtomically(const std::string &path, const std::string &text) {
  std::string tmp = path + ".tmp-seqc";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    fs::remove(tmp, ec);
  return !ec;
}

// Loads weights for `desc`; on failure reports and returns null with the
// exit code in `status`.
seqrt_weights *loadWeights(Frontend &frontend, const seqrt_model &desc, const std::string &path,
                           const sema::CheckedModel &model, int &status) {
  std::error_code ec;
  if (!fs::exists(path, ec) || fs::is_directory(path, ec)) {
    printError(fmt::format("cannot open weights '{}': {}", path,
                           fs::is_directory(path, ec) ? "it is a directory" : "no such file"));
    status = kUsage;
    return nullptr;
  }
  // Every problem first, errors and warnings (an unexpected tensor), each as
  // its own diagnostic; then the load itself.
  struct Report {
    Diagnostics &diags;
    SourceRange where;
    const std::string &path;
  } report{frontend.diagnostics(), model.definition->nameRange, path};
  seqrt_status s = seqrt_weights_check(&desc, path.c_str(),
      [](void *user, seqrt_problem_kind kind, const char *, const char *message) {
        auto *r = static_cast<Report *>(user);
        std::string text = fmt::format("weights '{}': {}", r->path, message);
        if (kind == SEQRT_PROBLEM_UNEXPECTED)
          r->diags.warning(r->where, text);
        else
          r->diags.error(r->where, text);
      },
      &report);
  seqrt_weights *weights = nullptr;
  if (s == SEQRT_OK)
    s = seqrt_weights_load(&desc, path.c_str(), &weights);
  if (s == SEQRT_OK)
    return weights;
  status = s == SEQRT_ERR_IO ? kUsage : kInputErrors;
  if (!frontend.diagnostics().hasErrors())
    frontend.diagnostics().error(model.definition->nameRange,
                                 fmt::format("weights '{}': {}", path, seqrt_last_error()));
  return nullptr;
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

int emitToStdout(const sema::CheckedModel &model, const BuildCommand &build) {
  ir::Graph graph = optimizedGraph(model);
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

  std::vector<float> packed;
  if (!build.weights.empty()) {
    llvm::Expected<std::unique_ptr<codegen::ModelDesc>> desc = codegen::ModelDesc::create(graph);
    if (!desc)
      return codegenError(desc.takeError());
    seqrt_weights *weights = loadWeights(frontend, (*desc)->model(), build.weights, *model, status);
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
    if (!writeAtomically(header, codegen::emitHeader(graph, !build.weights.empty()))) {
      std::error_code ec;
      fs::remove(build.output, ec); // no partial output: the pair or nothing
      printError(fmt::format("cannot write '{}'", header));
      return kUsage;
    }
  }
  return frontend.finish();
}

int runRun(const RunCommand &run, const CommonOptions &common) {
  Frontend frontend(common);
  int status = kSuccess;
  sema::CheckedModel *model = frontend.loadModel(run.file, run.model, status);
  if (!model)
    return status;
  if (run.inputs.size() != model->inputs.size()) {
    std::string names;
    for (const sema::ModelInput &in : model->inputs)
      names += (names.empty() ? "" : ", ") + in.name;
    printError(fmt::format("model '{}' takes {} input{} ({}), but {} --input {} given", model->name,
                           model->inputs.size(), model->inputs.size() == 1 ? "" : "s", names,
                           run.inputs.size(), run.inputs.size() == 1 ? "was" : "were"));
    return kUsage;
  }

  // Inputs first: they fix the batch, and a bad one needs no compilation.
  std::vector<tools::NpyArray> inputs;
  int64_t batch = -1;
  for (size_t i = 0; i < run.inputs.size(); ++i) {
    std::error_code ec;
    if (!fs::is_regular_file(run.inputs[i], ec)) {
      printError(fmt::format("cannot open input '{}'", run.inputs[i]));
      return kUsage;
    }
    std::string error;
    std::optional<tools::NpyArray> array = tools::readNpy(run.inputs[i], error);
    if (!array) {
      frontend.diagnostics().error(std::nullopt, error);
      return frontend.finish();
    }
    const sema::ModelInput &declared = model->inputs[i];
    bool ok = array->shape.size() == declared.shape.size();
    for (size_t d = 0; ok && d < declared.shape.size(); ++d)
      ok = declared.shape[d].isConstant() ? array->shape[d] == declared.shape[d].constant
                                          : (batch < 0 || array->shape[d] == batch);
    if (ok && !declared.shape[0].isConstant())
      batch = array->shape[0];
    if (ok && declared.shape[0].isConstant())
      batch = declared.shape[0].constant;
    if (!ok) {
      frontend.diagnostics().error(declared.range, fmt::format(
          "input '{}' must have shape {}{}, but '{}' has shape [{}]", declared.name,
          sema::shapeStr(declared.shape, declared.batchName.empty() ? "N" : declared.batchName),
          batch >= 0 && !declared.shape[0].isConstant() ? fmt::format(" with batch {}", batch) : "",
          run.inputs[i], fmt::join(array->shape, ", ")));
      return frontend.finish();
    }
    inputs.push_back(std::move(*array));
  }

  ir::Graph graph = optimizedGraph(*model);
  std::optional<codegen::JitCacheRequest> cache = jitCacheFor(frontend, *model, run);
  llvm::Expected<std::unique_ptr<codegen::JitModel>> jit =
      codegen::JitModel::create(graph, {}, cache ? &*cache : nullptr);
  if (!jit)
    return codegenError(jit.takeError());
  seqrt_weights *weights = loadWeights(frontend, (*jit)->model(), run.weights, *model, status);
  if (!weights) {
    int diagnostics = frontend.finish();
    return status == kUsage ? kUsage : diagnostics;
  }

  const ir::Shape &outShape = graph.value(graph.output).shape;
  std::vector<int64_t> shape = outShape.dims;
  if (outShape.batched())
    shape[0] = batch;
  std::vector<float> output(size_t(outShape.elements(batch)));
  std::vector<const float *> pointers;
  for (const tools::NpyArray &in : inputs)
    pointers.push_back(in.data.data());
  seqrt_context *ctx = nullptr;
  int64_t workspace = seqrt_workspace_size(&(*jit)->model(), batch);
  seqrt_status s = workspace < 0 ? SEQRT_ERR_BATCH : seqrt_context_new(run.threads, size_t(workspace), &ctx);
  if (s == SEQRT_OK)
    s = (*jit)->forward(seqrt_weights_data(weights), pointers.data(), output.data(), batch, ctx);
  seqrt_context_free(ctx);
  seqrt_weights_free(weights);
  if (s != SEQRT_OK) {
    frontend.diagnostics().error(std::nullopt, fmt::format("running '{}' failed: {}{}", model->name,
                                                           seqrt_status_string(s),
                                                           *seqrt_last_error() ? fmt::format(" ({})", seqrt_last_error()) : ""));
    return frontend.finish();
  }
  std::string error;
  if (!tools::writeNpy(run.output, shape, output.data(), error)) {
    printError(error);
    return kUsage;
  }
  return frontend.finish();
}

} // namespace seq::driver
