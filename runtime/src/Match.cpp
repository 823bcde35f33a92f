// Match.cpp: finds every missing, misshapen, mistyped and unexpected tensor
// of a weights file, and turns the errors among them into one status.
#include "Match.h"

#include "Model.h"
#include "Text.h"

#include <algorithm>
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
  case SEQRT_PROBLEM_UNEXPECTED: return SEQRT_OK;
  }
  return SEQRT_ERR_INTERNAL;
}

class Matcher {
public:
  Matcher(const seqrt_model &model, const SafetensorsFile &file)
      : model_(model), file_(file) {
    for (const TensorEntry &tensor : file.tensors())
      fileTensors_.emplace(tensor.name, &tensor);
  }

  std::vector<Problem> run() {
    std::unordered_set<std::string_view> modelNames;
    for (const seqrt_tensor_desc &param : paramsOf(model_)) {
      modelNames.insert(param.name);
      checkParam(param);
    }
    for (const TensorEntry &tensor : file_.tensors())
      if (!modelNames.contains(tensor.name) && !tensor.name.ends_with(kIgnoredSuffix))
        report(SEQRT_PROBLEM_UNEXPECTED, tensor.name,
               "is not a parameter of " + modelText() + "; it is ignored");
    return std::move(problems_);
  }

private:
  void checkParam(const seqrt_tensor_desc &param) {
    const std::string expected = formatShape(dimsOf(param));
    auto found = fileTensors_.find(param.name);
    if (found == fileTensors_.end()) {
      report(SEQRT_PROBLEM_MISSING, param.name,
             "is missing; " + modelText() + " expects shape " + expected);
      return;
    }
    const TensorEntry &tensor = *found->second;
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
  const SafetensorsFile &file_;
  std::unordered_map<std::string_view, const TensorEntry *> fileTensors_;
  std::vector<Problem> problems_;
};

} // namespace

std::vector<Problem> matchModel(const seqrt_model &model,
                                const SafetensorsFile &file) {
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
