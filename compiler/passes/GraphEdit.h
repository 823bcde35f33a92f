// GraphEdit: the rewrites the passes share: redirecting the readers of a
// value, counting them, and erasing nodes (with the values only they
// produced) while keeping ids dense.
//
// A pass asks "who reads x" and rewires readers once per node, so it builds
// a UseIndex (readers of every value) or a PackedIndex (writers and readers
// of every packed tensor) once, in time linear in the graph, and edits
// through it; scanning the whole graph per query or edit would make the
// pass quadratic in the length of the model. Erased nodes are only marked,
// and eraseNodes removes them all at once.
#pragma once

#include "ir/Graph.h"

#include <functional>
#include <string>
#include <vector>

namespace seq::passes {

// Removes the nodes marked in `erase` and every value no remaining node
// produces (except the inputs), then renumbers values and nodes densely.
// Nothing may still read an erased value.
void eraseNodes(ir::Graph &g, const std::vector<bool> &erase);

// The readers of every value, kept current by the edits made through it.
// Building it is linear in the graph; count() is O(1) and replaceAllUses()
// costs the number of readers moved. Edits that add a read without going
// through it (a node taking an epilogue op) must report it with addRead().
class UseIndex {
public:
  explicit UseIndex(const ir::Graph &g);

  // How many times `value` is read: by node inputs and epilogue tensors (a
  // node reading it twice counts twice), as an alias target, and as the
  // graph output.
  int count(int value) const { return count_[size_t(value)]; }
  // Node `node` now reads `value` once more.
  void addRead(int value, int node);
  // Makes every reader of `from` (node inputs, epilogue tensors, aliases,
  // the graph output) read `to` instead.
  void replaceAllUses(ir::Graph &g, int from, int to);
  // Makes the readers of node `node`'s output read `replacement` instead,
  // detaches the node from its operands and marks it in `erase` (which
  // eraseNodes later applies).
  void bypassNode(ir::Graph &g, int node, int replacement, std::vector<bool> &erase);

private:
  std::vector<int> count_;
  // Nodes that read the value, each listed at least once; an entry may be
  // stale (the node since reads something else) and is dropped when the
  // list is next walked.
  std::vector<std::vector<int>> readers_;
  std::vector<std::vector<int>> aliases_; // values aliasing it
};

// The pack steps writing, and the nodes reading, each packed tensor. Pack
// steps erased through it are only marked until compact(), so step indices
// stay stable during a pass; compact() removes them keeping the order.
class PackedIndex {
public:
  explicit PackedIndex(const ir::Graph &g);

  // The single pack step writing packed tensor `packed`, or -1.
  int stepWriting(int packed) const;
  // How many times nodes name `packed` as weight, bias or epilogue operand
  // (erased nodes included until eraseNodes runs).
  int readers(int packed) const { return readers_[size_t(packed)]; }
  // A new packed tensor that `readers` nodes read.
  int addPacked(ir::Graph &g, std::string name, int64_t size, int readers);
  int addStep(ir::Graph &g, const ir::PackStep &step);
  void eraseStep(const ir::Graph &g, int step);
  // Sets step `step`'s second destination.
  void setOut2(ir::Graph &g, int step, int packed);
  // Removes the erased pack steps from g.packSteps.
  void compact(ir::Graph &g);

private:
  void addWriter(const ir::PackStep &step, int index);
  void removeWriter(int packed, int step);

  std::vector<std::vector<int>> writers_;
  std::vector<int> readers_;
  std::vector<bool> erased_;
};

// A pair of nodes one runs inside the other (passes' fuse*): for each node
// right before one whose only input is its output, when nothing else
// reads that output (no node, no epilogue; it is not the model's output),
// it lives in the workspace and neither node is fused yet, sets
// producer.fusedInto to the reader's index where `fuses` says so.
void fuseSoleReaderPairs(ir::Graph &g,
                         const std::function<bool(const ir::Node &producer, const ir::Node &reader)> &fuses);

} // namespace seq::passes
