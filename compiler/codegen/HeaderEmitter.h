// HeaderEmitter: the C header `seqc build` writes next to the object
// (docs/generated-code.md): the model's description, the size macros and
// the forward function's prototype, in C that also compiles as C++.
#pragma once

#include "ir/Graph.h"

#include <string>

namespace seq::codegen {

std::string emitHeader(const ir::Graph &graph, bool weightsEmbedded);

} // namespace seq::codegen
