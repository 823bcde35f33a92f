// Sema: name resolution, module instantiation and shape checking. Turns a
// parsed file into checked models (module tree + traced forward pass), with
// every error reported through Diagnostics.
#pragma once

#include "ast/Ast.h"
#include "basic/Diagnostics.h"
#include "sema/Module.h"

#include <memory>
#include <vector>

namespace seq::sema {

struct CheckOptions {
  // Keep the trace's nodes, which lowering, the summary, the graph and the
  // export read. Checking needs only its values' shapes: `seqc check`
  // drops the nodes (a sixth of a deep model's checked size), and its
  // models then have an empty `trace.nodes`.
  bool keepTraceNodes = true;
};

// Checks every model of `file`. Models with errors are returned too, with
// `valid` false, so that callers can still print what was understood.
std::vector<std::unique_ptr<CheckedModel>> check(const ast::File &file,
                                                 const SourceManager &sources,
                                                 Diagnostics &diags, CheckOptions options = {});

} // namespace seq::sema
