// EliminateIdentity: removes Identity nodes (nn.Identity, Dropout at
// inference).
//
// Algorithm: for each Identity node, in execution order, make every reader
// of its output (node inputs, epilogue tensors, aliases, the graph output)
// read its input instead, then erase the node and its output. A chain of
// identities collapses because each one already reads the input of the
// ones before it. A UseIndex finds the readers, so the pass is linear in
// the graph. When the output of the model becomes a model input or an
// alias, PlanMemory later gives it a Copy.
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

namespace seq::passes {

void eliminateIdentity(ir::Graph &g) {
  UseIndex uses(g);
  std::vector<bool> erase(g.nodes.size(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].kind == ir::OpKind::Identity)
      uses.bypassNode(g, int(i), g.nodes[i].inputs.at(0), erase);
  }
  eraseNodes(g, erase);
}

} // namespace seq::passes
