// Model.cpp: validation of a model's parameter table, and
// seqrt_workspace_size.
#include "Model.h"

#include "Status.h"
#include "Text.h"

#include <string>

namespace seq::rt {

std::span<const seqrt_tensor_desc> paramsOf(const seqrt_model &model) {
  return {model.params, static_cast<std::size_t>(model.num_params)};
}

std::span<const std::int64_t> dimsOf(const seqrt_tensor_desc &param) {
  return {param.dims, static_cast<std::size_t>(param.rank)};
}

std::int64_t elementCount(const seqrt_tensor_desc &param) {
  std::int64_t count = 1;
  for (std::int64_t dim : dimsOf(param))
    count *= dim;
  return count;
}

void validateParams(const seqrt_model *model) {
  requireArgument(model, "model");
  if (model->num_params < 0 || (model->num_params > 0 && !model->params))
    throw Error(SEQRT_ERR_INTERNAL, "the model's parameter table is invalid");
  for (int32_t i = 0; i < model->num_params; ++i) {
    const seqrt_tensor_desc &param = model->params[i];
    std::string where = "parameter " + std::to_string(i);
    if (param.name == nullptr)
      throw Error(SEQRT_ERR_INTERNAL, where + " of the model has no name");
    if (param.rank < 0 || param.rank > SEQRT_MAX_RANK)
      throw Error(SEQRT_ERR_INTERNAL, "parameter " + quoted(param.name) +
                                          " has rank " +
                                          std::to_string(param.rank));
    std::int64_t count = 1;
    for (std::int64_t dim : dimsOf(param))
      if (dim < 0 || __builtin_mul_overflow(count, dim, &count))
        throw Error(SEQRT_ERR_INTERNAL, "parameter " + quoted(param.name) +
                                            " has an invalid shape " +
                                            formatShape(dimsOf(param)));
  }
}

} // namespace seq::rt

extern "C" int64_t seqrt_workspace_size(const seqrt_model *model,
                                        int64_t batch) {
  if (model == nullptr || batch < 0 || model->workspace_fixed < 0 ||
      model->workspace_per_batch < 0)
    return -1;
  int64_t perBatch = 0, total = 0;
  if (__builtin_mul_overflow(model->workspace_per_batch, batch, &perBatch) ||
      __builtin_add_overflow(model->workspace_fixed, perBatch, &total))
    return -1;
  return total;
}
