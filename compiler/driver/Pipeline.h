// Pipeline: the stages after checking, as the commands use them: lowering,
// the pass pipeline (verified), code generation, weights and inputs.
#pragma once

#include "basic/Diagnostics.h"
#include "driver/Commands.h"
#include "ir/Graph.h"
#include "sema/Module.h"

namespace seq::driver {

// The lowered graph, before passes (`--emit=ir`).
ir::Graph loweredGraph(const sema::CheckedModel &model);
// Lowered and through every pass (`--emit=ir-opt`, build, run). An invalid
// graph is an internal compiler error (thrown).
ir::Graph optimizedGraph(const sema::CheckedModel &model);

// False, with a located error in `diags`, when the graph's planned
// workspace is beyond seqc's limit (basic/Limits.h).
bool workspaceWithinLimit(const ir::Graph &graph, const sema::CheckedModel &model, Diagnostics &diags);

// `--emit llvm|asm` of a model to standard output.
int emitToStdout(const sema::CheckedModel &model, const BuildCommand &build, Diagnostics &diags);

} // namespace seq::driver
