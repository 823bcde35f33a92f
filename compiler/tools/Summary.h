// Summary: a static per-layer table of a checked model (depth, type, output
// shape, parameters, MACs) and its totals, in the spirit of torchinfo and
// Keras' summary(), computed without running anything.
#pragma once

#include "sema/Module.h"

#include <optional>
#include <string>

namespace seq::tools {

struct SummaryOptions {
  int64_t batch = 1;
  // Workspace bytes after memory planning, when the model was lowered.
  std::optional<int64_t> plannedWorkspace;
};

std::string summarize(const sema::CheckedModel &model, const SummaryOptions &options);

// Why `batch` is too large to summarise `model` (a tensor's bytes or the
// MACs would not fit in 64 bits), or nullopt when it is fine.
std::optional<std::string> batchTooLarge(const sema::CheckedModel &model, int64_t batch);

// {"model": ..., "params": [{"name": ..., "shape": [...]}, ...]}
std::string paramsJson(const sema::CheckedModel &model);

} // namespace seq::tools
