// Graph: a model as a Graphviz DOT graph (`seqc graph`): the layer graph of
// the traced forward pass with each tensor's shape, or the graph IR after
// the passes (fused epilogues, folded BatchNorm).
#pragma once

#include "basic/SourceManager.h"
#include "ir/Graph.h"
#include "sema/Module.h"

#include <string>

namespace seq::tools {

// The traced forward pass: one box per layer or tensor operation, labelled
// with its module path, its layer (as print(model) shows it) and its output
// shape; the model's inputs and output as ellipses. `sources` gives the
// text of functional calls such as relu(x).
std::string layerGraphDot(const sema::CheckedModel &model, const SourceManager &sources);

// The IR after the pass pipeline: one box per node with its kind, the
// fused epilogue and the output shape; residual reads as dashed edges.
std::string irGraphDot(const ir::Graph &graph);

// `text` as a DOT string literal, quotes included.
std::string dotQuote(const std::string &text);

} // namespace seq::tools
