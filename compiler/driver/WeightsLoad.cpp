// WeightsLoad: checking and loading weights through libseqrt's C API (so
// that seqc reads a file exactly as a user's program would), reporting
// each problem as a diagnostic at the model's name, and `seqc convert`,
// which uses the runtime's reader directly.
#include "driver/WeightsLoad.h"

#include "driver/FileOutput.h"

#include "driver/StageTimer.h"
#include "sema/Module.h"

// The runtime's internal reader (runtime/src), for convert.
#include "MappedFile.h"
#include "Status.h"
#include "WeightsFile.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace seq::driver {

namespace fs = std::filesystem;

namespace {

struct ProblemSink {
  Diagnostics &diags;
  SourceRange where;
};

// A problem of the runtime as a diagnostic. Its message starts with the
// quoted file name; the prefix problem gets the --strip-prefix fix.
void reportProblem(void *user, seqrt_problem_kind kind, const char *tensor, const char *message) {
  auto *sink = static_cast<ProblemSink *>(user);
  std::string text = fmt::format("weights {}", message);
  if (kind == SEQRT_PROBLEM_UNEXPECTED) {
    sink->diags.warning(sink->where, text);
    return;
  }
  Diagnostic &error = sink->diags.error(sink->where, text);
  if (kind == SEQRT_PROBLEM_PREFIX)
    error.fixes.push_back({fmt::format("strip it: add --strip-prefix {}", tensor), std::nullopt, ""});
}

const char *prefixOrNull(const WeightsSource &source) {
  return source.stripPrefix.empty() ? nullptr : source.stripPrefix.c_str();
}

// Reports a weights file that cannot be opened; true when it can.
bool readable(const std::string &path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    printError(fmt::format("cannot open weights '{}': it is a directory", path));
    return false;
  }
  if (!fs::exists(path, ec)) {
    printError(fmt::format("cannot open weights '{}': no such file", path));
    return false;
  }
  return true;
}

} // namespace

int checkWeights(Frontend &frontend, const sema::CheckedModel &model, const WeightsSource &source) {
  if (!readable(source.path))
    return kUsage;
  std::vector<sema::ParamEntry> params = sema::stateDict(*model.root);
  std::vector<seqrt_tensor_desc> descs;
  for (const sema::ParamEntry &p : params) {
    seqrt_tensor_desc d{};
    d.name = p.name.c_str();
    d.rank = int32_t(p.shape.size());
    for (size_t i = 0; i < p.shape.size() && i < SEQRT_MAX_RANK; ++i)
      d.dims[i] = p.shape[i];
    descs.push_back(d);
  }
  seqrt_model desc{};
  desc.abi_version = SEQRT_ABI_VERSION;
  desc.name = model.name.c_str();
  desc.num_params = int32_t(descs.size());
  desc.params = descs.data();
  ProblemSink sink{frontend.diagnostics(), model.definition->nameRange};
  ScopedStage stage("check weights");
  seqrt_status s = seqrt_weights_check_strip(&desc, source.path.c_str(), prefixOrNull(source),
                                             reportProblem, &sink);
  if (s == SEQRT_ERR_IO) {
    printError(seqrt_last_error());
    return kUsage;
  }
  return kSuccess;
}

seqrt_weights *loadWeights(Frontend &frontend, const seqrt_model &desc, const WeightsSource &source,
                           const sema::CheckedModel &model, int &status) {
  if (!readable(source.path)) {
    status = kUsage;
    return nullptr;
  }
  ScopedStage stage("load weights");
  // Every problem first, errors and warnings (an unexpected tensor), each
  // as its own diagnostic; then the load itself.
  ProblemSink sink{frontend.diagnostics(), model.definition->nameRange};
  seqrt_status s = seqrt_weights_check_strip(&desc, source.path.c_str(), prefixOrNull(source),
                                             reportProblem, &sink);
  seqrt_weights *weights = nullptr;
  if (s == SEQRT_OK)
    s = seqrt_weights_load_strip(&desc, source.path.c_str(), prefixOrNull(source), &weights);
  if (s == SEQRT_OK)
    return weights;
  status = s == SEQRT_ERR_IO ? kUsage : kInputErrors;
  if (s == SEQRT_ERR_IO)
    printError(seqrt_last_error());
  else if (!frontend.diagnostics().hasErrors())
    frontend.diagnostics().error(model.definition->nameRange,
                                 fmt::format("weights {}", seqrt_last_error()));
  return nullptr;
}

int runConvert(const ConvertCommand &command, const CommonOptions &common) {
  if (!readable(command.input))
    return kUsage;
  Frontend frontend(common);
  std::string image;
  try {
    ScopedStage stage("read weights");
    rt::MappedFile file(command.input.c_str());
    rt::WeightsFile weights = rt::WeightsFile::parse(file.bytes(), command.input);
    if (!command.stripPrefix.empty() && weights.stripPrefix(command.stripPrefix) == 0)
      frontend.diagnostics().warning(
          std::nullopt, fmt::format("weights '{}': no key has the prefix '{}'; nothing was stripped",
                                    command.input, command.stripPrefix));
    image = rt::encodeSafetensors(weights);
  } catch (const rt::Error &error) {
    if (error.status() == SEQRT_ERR_IO) {
      printError(error.message());
      return kUsage;
    }
    frontend.diagnostics().error(std::nullopt, fmt::format("weights {}", error.message()));
    return frontend.finish();
  }
  ScopedStage stage("write");
  if (!writeFileAtomically(command.output, image)) {
    printError(fmt::format("cannot write '{}'", command.output));
    return kUsage;
  }
  return frontend.finish();
}

} // namespace seq::driver
