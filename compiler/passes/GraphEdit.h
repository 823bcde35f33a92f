// GraphEdit: the rewrites the passes share: redirecting the readers of a
// value, counting them, and erasing nodes (with the values only they
// produced) while keeping ids dense.
#pragma once

#include "ir/Graph.h"

#include <vector>

namespace seq::passes {

// Makes every reader of `from` (node inputs, epilogue tensors, aliases, the
// graph output) read `to` instead.
void replaceAllUses(ir::Graph &g, int from, int to);

// Makes the readers of node `node`'s output read `replacement` instead,
// detaches the node from its operands and marks it in `erase`.
void bypassNode(ir::Graph &g, int node, int replacement, std::vector<bool> &erase);

// How many times `value` is read: by node inputs and epilogue tensors (a
// node reading it twice counts twice), as an alias target, and as the
// graph output.
int useCount(const ir::Graph &g, int value);

// True when node `node` may take element-wise ops into its epilogue.
bool acceptsEpilogue(const ir::Node &node);

// Removes the nodes marked in `erase` and every value no remaining node
// produces (except the inputs), then renumbers values and nodes densely.
// Nothing may still read an erased value.
void eraseNodes(ir::Graph &g, const std::vector<bool> &erase);

} // namespace seq::passes
