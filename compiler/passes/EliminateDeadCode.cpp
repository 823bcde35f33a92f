// EliminateDeadCode: removes the nodes whose values never reach the model's
// output, such as the chunk pieces or split parts a forward ignores, or a
// value computed and then overwritten (`y = f(x); y = g(x)`).
//
// Algorithm: one walk over the nodes in reverse execution order. The graph
// output is live; a node is live when its output is, and then its inputs
// and the tensors its epilogue reads are live too (a Reshape reads the
// value it aliases, so aliases stay consistent). The other nodes are erased
// at once by eraseNodes, which also drops the values only they produced.
// Linear in the graph. Their parameters stay in the weight buffer: the
// state_dict still names them, and packing is cheap.
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

namespace seq::passes {

void eliminateDeadCode(ir::Graph &g) {
  std::vector<bool> live(g.values.size(), false);
  if (g.output >= 0)
    live[size_t(g.output)] = true;
  std::vector<bool> erase(g.nodes.size(), false);
  for (size_t i = g.nodes.size(); i-- > 0;) {
    const ir::Node &node = g.nodes[i];
    if (!live[size_t(node.output)]) {
      erase[i] = true;
      continue;
    }
    for (int in : node.inputs)
      live[size_t(in)] = true;
    for (const ir::EpilogueOp &op : node.epilogue)
      if (op.tensor >= 0)
        live[size_t(op.tensor)] = true;
  }
  for (bool e : erase)
    if (e) {
      eraseNodes(g, erase);
      return;
    }
}

} // namespace seq::passes
