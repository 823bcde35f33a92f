// Pipeline: the stages after checking, as the commands use them: lowering,
// the pass pipeline (verified), code generation, weights and inputs.
#pragma once

#include "driver/Commands.h"
#include "ir/Graph.h"
#include "sema/Module.h"

namespace seq::driver {

// The lowered graph, before passes (`--emit=ir`).
ir::Graph loweredGraph(const sema::CheckedModel &model);
// Lowered and through every pass (`--emit=ir-opt`, build, run). An invalid
// graph is an internal compiler error (thrown).
ir::Graph optimizedGraph(const sema::CheckedModel &model);

// `--emit llvm|asm` of a model to standard output.
int emitToStdout(const sema::CheckedModel &model, const BuildCommand &build);

} // namespace seq::driver
