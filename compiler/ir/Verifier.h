// Verifier: checks a Graph against the invariants in Graph.h's comment and
// what each op kind needs (arities, shapes, weights), and once memory is
// planned, the plan and the contract with codegen (no Identity, BatchNorm,
// Unary or Scalar nodes left).
#pragma once

#include "ir/Graph.h"

#include <string>
#include <vector>

namespace seq::ir {

// Every problem found, one message each; empty when the graph is valid.
std::vector<std::string> verify(const Graph &g);

} // namespace seq::ir
