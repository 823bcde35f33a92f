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

struct ExportResult {
  std::string python;
  // What could not be exported; when not empty, `python` must not be used.
  std::vector<std::string> unsupported;
};

// The Python source for `models` (checked and valid), read from `source`
// (named in the file's header comment).
ExportResult exportTorch(const std::vector<const sema::CheckedModel *> &models, const std::string &source,
                         const SourceManager &sources);

} // namespace seq::tools
