// ExportTorch: `seqc export torch`: checked models as a Python file of
// torch.nn.Module classes, one per model, named as the model and
// constructible with no arguments, whose print(model) and state_dict()
// (names, order, shapes) equal seqc's and whose forward computes what seqc's
// compiled forward computes.
#pragma once

#include "basic/SourceManager.h"
#include "sema/Module.h"

#include <string>
#include <vector>

namespace seq::tools {

// The Python source for `models` (checked and valid), read from `source`
// (named in the file's header comment).
std::string exportTorch(const std::vector<const sema::CheckedModel *> &models, const std::string &source,
                        const SourceManager &sources);

} // namespace seq::tools
