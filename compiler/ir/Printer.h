// Printer: the readable dump of a Graph (`seqc --emit=ir|ir-opt`), stable
// for golden tests. Values are %N, packed tensors #N, params $N:
//
//   %3 = conv2d(%1) {kernel=[3,3], stride=[1,1], pad=[1,1,1,1], groups=1}
//        weight=#2 bias=#3 epilogue=[bias(#3), add(%1), relu] : [N, 64, 28, 28]  // layer1.0 @ net.seq:12:17
//
// (one line per node), after the params, packed tensors and pack steps, and
// followed by the workspace plan once there is one.
#pragma once

#include "basic/SourceManager.h"
#include "ir/Graph.h"

#include <string>

namespace seq::ir {

// Node locations are printed when `sources` is given.
std::string print(const Graph &g, const SourceManager *sources = nullptr);

// One epilogue op as the dump shows it: "bias(#3)", "add(%1)", "relu".
std::string print(const EpilogueOp &op);

} // namespace seq::ir
