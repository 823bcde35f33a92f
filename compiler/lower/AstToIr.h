// AstToIr: lowers a checked model (module tree + traced forward pass) to
// the graph IR: modules instantiated and loops already unrolled by the
// trace, containers flattened, view/flatten/reshape as aliases, every
// parameter named as PyTorch's state_dict() names it.
#pragma once

#include "ir/Graph.h"
#include "sema/Module.h"

namespace seq::lower {

// The model must be valid (checked without errors).
ir::Graph lowerModel(const sema::CheckedModel &model);

// The C symbol prefix of a model: its name in lower case, anything not
// alphanumeric as '_'.
std::string symbolPrefix(const std::string &modelName);

} // namespace seq::lower
