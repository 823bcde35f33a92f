// PlanWeights: lays the packed tensors out in the weight buffer.
//
// Algorithm: in index order, each packed tensor starts at the next multiple
// of 16 floats (64 bytes, SEQRT_ALIGNMENT) after the previous one; the
// buffer's size is the end of the last, rounded up the same way. Weights
// live for the whole run, so nothing is shared. A packed tensor no pack
// step writes is left for the Verifier to report.
#include "ir/Liveness.h"
#include "passes/Passes.h"

namespace seq::passes {

void planWeights(ir::Graph &g) {
  int64_t cursor = 0;
  for (ir::Packed &p : g.packed) {
    p.offset = cursor;
    cursor = ir::alignTo(cursor + p.size, ir::kPackedAlignment);
  }
  g.packedSize = cursor;
}

} // namespace seq::passes
