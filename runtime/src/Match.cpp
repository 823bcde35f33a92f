// Match.cpp: finds every missing, misshapen, mistyped and unexpected tensor
// of a weights file, and turns the errors among them into one status.
#include "Match.h"

#include "Model.h"
#include "Text.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace seq::rt {
namespace {

constexpr std::string_view kIgnoredSuffix = "num_batches_tracked";

bool sameShape(const std::vector<std::uint64_t> &fileDims,
               std::span<const std::int64_t> modelDims) {
  return std::equal(fileDims.begin(), fileDims.end(), modelDims.begin(),
                    modelDims.end(), [](std::uint64_t a, std::int64_t b) {
                      return a == static_cast<std::uint64_t>(b);
                    });
}

seqrt_status statusOf(seqrt_problem_kind kind) {
  switch (kind) {
  case SEQRT_PROBLEM_MISSING: return SEQRT_ERR_MISSING_TENSOR;
  case SEQRT_PROBLEM_SHAPE: return SEQRT_ERR_SHAPE;
  case SEQRT_PROBLEM_DTYPE: return SEQRT_ERR_DTYPE;
  case SEQRT_PROBLEM_FORMAT: return SEQRT_ERR_FORMAT;
  case SEQRT_PROBLEM_PREFIX: return SEQRT_ERR_MISSING_TENSOR;
  case SEQRT_PROBLEM_UNEXPECTED: return SEQRT_OK;
  }
  return SEQRT_ERR_INTERNAL;
}

class Matcher {
public:
  Matcher(const seqrt_model &model, const WeightsFile &file)
      : model_(model), file_(file) {
    for (const WeightsTensor &tensor : file.tensors())
      fileTensors_.emplace(tensor.name, &tensor);
  }

  std::vector<Problem> run() {
    if (auto prefix = extraPrefix()) {
      const auto &[text, param] = *prefix;
      problems_.push_back({SEQRT_PROBLEM_PREFIX, text,
                           quoted(file_.name()) + ": every key has the prefix " + quoted(text) +
                               ", which the parameter names of " + modelText() +
                               " lack (the file has " + quoted(text + std::string(param)) +
                               " for " + quoted(param) + ")"});
      return std::move(problems_);
    }
    std::unordered_set<std::string_view> modelNames;
    for (const seqrt_tensor_desc &param : paramsOf(model_)) {
      modelNames.insert(param.name);
      checkParam(param);
    }
    for (const WeightsTensor &tensor : file_.tensors())
      if (!modelNames.contains(tensor.name) && !tensor.name.ends_with(kIgnoredSuffix))
        report(SEQRT_PROBLEM_UNEXPECTED, tensor.name,
               "is not a parameter of " + modelText() + "; it is ignored");
    return std::move(problems_);
  }

private:
  // The prefix every name in the file carries in front of the model's
  // names, when no name of the model is in the file as it is; with the
  // parameter it was found for.
  std::optional<std::pair<std::string, std::string_view>> extraPrefix() const {
    std::span<const seqrt_tensor_desc> params = paramsOf(model_);
    for (const seqrt_tensor_desc &param : params)
      if (fileTensors_.contains(param.name))
        return std::nullopt;
    for (const seqrt_tensor_desc &param : params) {
      const std::string_view name = param.name;
      for (const WeightsTensor &tensor : file_.tensors()) {
        if (tensor.name.size() <= name.size() || !tensor.name.ends_with(name) ||
            tensor.name[tensor.name.size() - name.size() - 1] != '.')
          continue;
        std::string prefix = tensor.name.substr(0, tensor.name.size() - name.size());
        bool everyKey = std::all_of(file_.tensors().begin(), file_.tensors().end(),
                                    [&](const WeightsTensor &other) {
                                      return other.name.starts_with(prefix);
                                    });
        return everyKey ? std::optional(std::pair(prefix, name)) : std::nullopt;
      }
    }
    return std::nullopt;
  }

  void checkParam(const seqrt_tensor_desc &param) {
    const std::string expected = formatShape(dimsOf(param));
    auto found = fileTensors_.find(param.name);
    if (found == fileTensors_.end()) {
      report(SEQRT_PROBLEM_MISSING, param.name,
             "is missing; " + modelText() + " expects shape " + expected);
      return;
    }
    const WeightsTensor &tensor = *found->second;
    if (!sameShape(tensor.shape, dimsOf(param)))
      report(SEQRT_PROBLEM_SHAPE, param.name,
             "has shape " + formatShape(tensor.shape) +
                 " in the file, but the model expects " + expected);
    if (!isConvertibleToFloat(tensor.dtype))
      report(SEQRT_PROBLEM_DTYPE, param.name,
             "has dtype " + std::string(dtypeName(tensor.dtype)) +
                 "; weights must be F32, F16, BF16 or F64");
  }

  void report(seqrt_problem_kind kind, const std::string &tensor,
              const std::string &what) {
    problems_.push_back({kind, tensor,
                         quoted(file_.name()) + ": tensor " + quoted(tensor) +
                             " " + what});
  }

  std::string modelText() const {
    return model_.name ? "model " + quoted(model_.name) : "the model";
  }

  const seqrt_model &model_;
  const WeightsFile &file_;
  std::unordered_map<std::string_view, const WeightsTensor *> fileTensors_;
  std::vector<Problem> problems_;
};

} // namespace

std::vector<Problem> matchModel(const seqrt_model &model,
                                const WeightsFile &file) {
  return Matcher(model, file).run();
}

Problem problemFromError(const Error &error) {
  seqrt_problem_kind kind = error.status() == SEQRT_ERR_DTYPE
                                ? SEQRT_PROBLEM_DTYPE
                                : SEQRT_PROBLEM_FORMAT;
  return {kind, error.tensor(), error.message()};
}

void throwIfErrors(const std::vector<Problem> &problems) {
  seqrt_status status = SEQRT_OK;
  std::string message;
  for (const Problem &problem : problems) {
    if (!problem.isError())
      continue;
    if (status == SEQRT_OK)
      status = statusOf(problem.kind);
    else
      message += '\n';
    message += problem.message;
  }
  if (status != SEQRT_OK)
    throw Error(status, std::move(message));
}

} // namespace seq::rt
