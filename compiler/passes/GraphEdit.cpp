// GraphEdit: shared rewrites for the passes.
#include "passes/GraphEdit.h"

#include <cassert>

namespace seq::passes {

using namespace ir;

void replaceAllUses(Graph &g, int from, int to) {
  for (Node &node : g.nodes) {
    for (int &in : node.inputs)
      if (in == from)
        in = to;
    for (EpilogueOp &op : node.epilogue)
      if (op.tensor == from)
        op.tensor = to;
  }
  for (Value &v : g.values)
    if (v.storage == Storage::Alias && v.aliasOf == from)
      v.aliasOf = to;
  if (g.output == from)
    g.output = to;
}

void bypassNode(Graph &g, int node, int replacement, std::vector<bool> &erase) {
  Node &n = g.nodes[size_t(node)];
  replaceAllUses(g, n.output, replacement);
  n.inputs.clear();
  n.epilogue.clear();
  erase[size_t(node)] = true;
}

int useCount(const Graph &g, int value) {
  int count = g.output == value ? 1 : 0;
  for (const Node &node : g.nodes) {
    for (int in : node.inputs)
      count += in == value;
    for (const EpilogueOp &op : node.epilogue)
      count += op.tensor == value;
  }
  for (const Value &v : g.values)
    count += v.storage == Storage::Alias && v.aliasOf == value;
  return count;
}

bool acceptsEpilogue(const Node &node) {
  return node.kind == OpKind::Linear || node.kind == OpKind::Conv2d || node.kind == OpKind::Map;
}

// New ids for the values that survive: inputs and outputs of kept nodes.
static std::vector<int> survivingValueIds(const Graph &g, const std::vector<bool> &erase) {
  std::vector<bool> keep(g.values.size(), false);
  for (int in : g.inputs)
    keep[size_t(in)] = true;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!erase[i])
      keep[size_t(g.nodes[i].output)] = true;
  std::vector<int> newId(g.values.size(), -1);
  int next = 0;
  for (size_t id = 0; id < keep.size(); ++id)
    if (keep[id])
      newId[id] = next++;
  return newId;
}

void eraseNodes(Graph &g, const std::vector<bool> &erase) {
  assert(erase.size() == g.nodes.size());
  std::vector<int> newId = survivingValueIds(g, erase);
  auto remap = [&](int &id) {
    if (id < 0)
      return;
    assert(newId[size_t(id)] >= 0 && "an erased value is still read");
    id = newId[size_t(id)];
  };

  std::vector<int> newNode(g.nodes.size(), -1);
  std::vector<Node> nodes;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (erase[i])
      continue;
    newNode[i] = int(nodes.size());
    nodes.push_back(std::move(g.nodes[i]));
  }
  for (Node &node : nodes) {
    for (int &in : node.inputs)
      remap(in);
    for (EpilogueOp &op : node.epilogue)
      remap(op.tensor);
    remap(node.output);
  }
  g.nodes = std::move(nodes);

  std::vector<Value> values;
  for (Value &v : g.values) {
    if (newId[size_t(v.id)] < 0)
      continue;
    v.id = newId[size_t(v.id)];
    if (v.storage == Storage::Alias)
      remap(v.aliasOf);
    v.producer = -1;
    values.push_back(std::move(v));
  }
  g.values = std::move(values);
  for (size_t i = 0; i < g.nodes.size(); ++i)
    g.values[size_t(g.nodes[i].output)].producer = int(i);
  for (int &in : g.inputs)
    remap(in);
  remap(g.output);

  std::vector<Scratch> scratch;
  for (Scratch s : g.scratch)
    if (s.node >= 0 && newNode[size_t(s.node)] >= 0) {
      s.node = newNode[size_t(s.node)];
      scratch.push_back(s);
    }
  g.scratch = std::move(scratch);
}

} // namespace seq::passes
