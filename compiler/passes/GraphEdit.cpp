// GraphEdit: shared rewrites for the passes.
#include "passes/GraphEdit.h"

#include <algorithm>
#include <cassert>

namespace seq::passes {

using namespace ir;

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
    if (v.storage == Storage::Alias || v.storage == Storage::Slice)
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

// ---- UseIndex ---------------------------------------------------------------

UseIndex::UseIndex(const Graph &g)
    : count_(g.values.size(), 0), readers_(g.values.size()), aliases_(g.values.size()) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int in : g.nodes[i].inputs)
      addRead(in, int(i));
    for (const EpilogueOp &op : g.nodes[i].epilogue)
      if (op.tensor >= 0)
        addRead(op.tensor, int(i));
  }
  for (const Value &v : g.values)
    if ((v.storage == Storage::Alias || v.storage == Storage::Slice) && v.aliasOf >= 0) {
      ++count_[size_t(v.aliasOf)];
      aliases_[size_t(v.aliasOf)].push_back(v.id);
    }
  if (g.output >= 0)
    ++count_[size_t(g.output)];
}

void UseIndex::addRead(int value, int node) {
  ++count_[size_t(value)];
  std::vector<int> &readers = readers_[size_t(value)];
  if (readers.empty() || readers.back() != node)
    readers.push_back(node);
}

void UseIndex::replaceAllUses(Graph &g, int from, int to) {
  if (from == to)
    return;
  std::vector<int> readers = std::move(readers_[size_t(from)]);
  readers_[size_t(from)].clear();
  for (int r : readers) {
    Node &node = g.nodes[size_t(r)];
    bool reads = false;
    for (int &in : node.inputs)
      if (in == from) {
        in = to;
        reads = true;
      }
    for (EpilogueOp &op : node.epilogue)
      if (op.tensor == from) {
        op.tensor = to;
        reads = true;
      }
    std::vector<int> &target = readers_[size_t(to)];
    if (reads && (target.empty() || target.back() != r))
      target.push_back(r);
  }
  for (int alias : aliases_[size_t(from)]) {
    Value &v = g.value(alias);
    if (v.storage == Storage::Alias && v.aliasOf == from) {
      v.aliasOf = to;
      aliases_[size_t(to)].push_back(alias);
    }
  }
  aliases_[size_t(from)].clear();
  if (g.output == from)
    g.output = to;
  count_[size_t(to)] += count_[size_t(from)];
  count_[size_t(from)] = 0;
}

void UseIndex::bypassNode(Graph &g, int node, int replacement, std::vector<bool> &erase) {
  Node &n = g.nodes[size_t(node)];
  replaceAllUses(g, n.output, replacement);
  for (int in : n.inputs)
    --count_[size_t(in)];
  for (const EpilogueOp &op : n.epilogue)
    if (op.tensor >= 0)
      --count_[size_t(op.tensor)];
  n.inputs.clear();
  n.epilogue.clear();
  erase[size_t(node)] = true;
}

// ---- PackedIndex --------------------------------------------------------------

PackedIndex::PackedIndex(const Graph &g)
    : writers_(g.packed.size()), readers_(g.packed.size(), 0), erased_(g.packSteps.size(), false) {
  for (size_t s = 0; s < g.packSteps.size(); ++s)
    addWriter(g.packSteps[s], int(s));
  auto read = [&](int packed) {
    if (packed >= 0 && size_t(packed) < readers_.size())
      ++readers_[size_t(packed)];
  };
  for (const Node &node : g.nodes) {
    read(node.attrs.weight);
    read(node.attrs.bias);
    for (const EpilogueOp &op : node.epilogue) {
      read(op.packed);
      read(op.packed2);
    }
  }
}

void PackedIndex::addWriter(const PackStep &step, int index) {
  auto write = [&](int out) {
    if (out >= 0 && size_t(out) < writers_.size())
      writers_[size_t(out)].push_back(index);
  };
  write(step.out);
  if (step.out2 != step.out) // a step writing a tensor twice is one writer
    write(step.out2);
}

void PackedIndex::removeWriter(int packed, int step) {
  std::vector<int> &w = writers_[size_t(packed)];
  w.erase(std::remove(w.begin(), w.end(), step), w.end());
}

int PackedIndex::stepWriting(int packed) const {
  if (packed < 0 || size_t(packed) >= writers_.size())
    return -1;
  const std::vector<int> &w = writers_[size_t(packed)];
  return w.size() == 1 ? w[0] : -1;
}

int PackedIndex::addPacked(Graph &g, std::string name, int64_t size, int readers) {
  int id = g.addPacked(std::move(name), size);
  writers_.resize(g.packed.size());
  readers_.resize(g.packed.size(), 0);
  readers_[size_t(id)] += readers;
  return id;
}

int PackedIndex::addStep(Graph &g, const PackStep &step) {
  g.packSteps.push_back(step);
  erased_.push_back(false);
  int index = int(g.packSteps.size() - 1);
  addWriter(step, index);
  return index;
}

void PackedIndex::eraseStep(const Graph &g, int step) {
  const PackStep &s = g.packSteps[size_t(step)];
  for (int out : {s.out, s.out2})
    if (out >= 0 && size_t(out) < writers_.size())
      removeWriter(out, step);
  erased_[size_t(step)] = true;
}

void PackedIndex::setOut2(Graph &g, int step, int packed) {
  PackStep &s = g.packSteps[size_t(step)];
  if (s.out2 >= 0 && s.out2 != s.out && size_t(s.out2) < writers_.size())
    removeWriter(s.out2, step);
  s.out2 = packed;
  if (packed >= 0 && packed != s.out)
    writers_[size_t(packed)].push_back(step);
}

void PackedIndex::compact(Graph &g) {
  size_t kept = 0;
  for (size_t s = 0; s < g.packSteps.size(); ++s)
    if (!erased_[s])
      g.packSteps[kept++] = g.packSteps[s];
  g.packSteps.resize(kept);
  erased_.assign(kept, false);
  writers_.assign(g.packed.size(), {});
  for (size_t s = 0; s < kept; ++s)
    addWriter(g.packSteps[s], int(s));
}

void fuseSoleReaderPairs(ir::Graph &g,
                         const std::function<bool(const ir::Node &producer, const ir::Node &reader)> &fuses) {
  const UseIndex uses(g);
  for (size_t i = 1; i < g.nodes.size(); ++i) {
    ir::Node &producer = g.nodes[i - 1];
    const ir::Node &reader = g.nodes[i];
    if (reader.inputs.size() != 1 || reader.inputs[0] != producer.output || producer.fusedInto >= 0 ||
        reader.fusedInto >= 0)
      continue;
    const ir::Value &v = g.value(producer.output);
    if (uses.count(v.id) != 1 || v.id == g.output || v.storage != ir::Storage::Workspace)
      continue;
    if (fuses(producer, reader))
      producer.fusedInto = int(i);
  }
}

} // namespace seq::passes
