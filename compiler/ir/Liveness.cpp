// Liveness: workspace buffers and their live spans, in execution order.
#include "ir/Liveness.h"

#include <algorithm>

namespace seq::ir {

bool isBatched(const Graph &g) {
  return std::any_of(g.values.begin(), g.values.end(),
                     [](const Value &v) { return v.shape.batched(); });
}

int64_t valueBytes(const Graph &g, int value) {
  return g.value(value).shape.elementsPerBatch() * int64_t(sizeof(float));
}

std::vector<int> storageOwners(const Graph &g) {
  constexpr int kUnknown = -2, kVisiting = -3;
  std::vector<int> owner(g.values.size(), kUnknown);
  std::vector<int> chain;
  for (size_t start = 0; start < g.values.size(); ++start) {
    // Walk the alias links to a value whose owner is known, or that owns
    // its storage, then give every value on the way that owner.
    int v = int(start), found = -1;
    while (true) {
      if (owner[size_t(v)] != kUnknown) {
        found = owner[size_t(v)] == kVisiting ? -1 : owner[size_t(v)]; // a cycle
        break;
      }
      const Value &value = g.values[size_t(v)];
      if (value.storage != Storage::Alias && value.storage != Storage::Slice) {
        found = v;
        break;
      }
      owner[size_t(v)] = kVisiting;
      chain.push_back(v);
      if (value.aliasOf < 0 || size_t(value.aliasOf) >= g.values.size())
        break; // a broken link: found stays -1
      v = value.aliasOf;
    }
    for (int c : chain)
      owner[size_t(c)] = found;
    chain.clear();
    if (owner[start] == kUnknown)
      owner[start] = found;
  }
  return owner;
}

// The last node reading each storage owner; -1 when nothing reads it.
std::vector<int> lastReads(const Graph &g) {
  std::vector<int> last(g.values.size(), -1);
  std::vector<int> owners = storageOwners(g);
  auto read = [&](int value, int node) {
    if (value < 0 || size_t(value) >= g.values.size() || owners[size_t(value)] < 0)
      return;
    int owner = owners[size_t(value)];
    last[size_t(owner)] = std::max(last[size_t(owner)], node);
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    // a node fused into a later one reads its inputs when that one runs
    const Node &node = g.nodes[i];
    int at = node.fusedInto >= 0 ? std::max(node.fusedInto, int(i)) : int(i);
    for (int in : node.inputs)
      read(in, at);
    for (const EpilogueOp &op : node.epilogue)
      read(op.tensor, at);
  }
  return last;
}

std::vector<Buffer> workspaceBuffers(const Graph &g) {
  std::vector<Buffer> buffers;
  std::vector<int> last = lastReads(g);
  bool batched = isBatched(g);
  // The first node writing each storage owner: its producer, or earlier
  // the producer of a value that lives in it (a concat's input written in
  // place, Storage::Slice)
  std::vector<int> owners = storageOwners(g);
  std::vector<int> first(g.values.size(), -1);
  for (const Value &v : g.values) {
    int owner = owners[size_t(v.id)];
    if (owner >= 0 && v.producer >= 0)
      first[size_t(owner)] = first[size_t(owner)] < 0 ? v.producer : std::min(first[size_t(owner)], v.producer);
  }
  for (const Value &v : g.values) {
    if (v.storage != Storage::Workspace || v.producer < 0)
      continue;
    Buffer b;
    b.value = v.id;
    // A node fused into another (FuseExpandDepthwise, FuseChannelScale)
    // never writes its output: it takes no bytes (MobileNetV2's 96 x 112
    // x 112 expansion alone was 4.8 MB an image).
    bool written = g.nodes[size_t(v.producer)].fusedInto < 0;
    b.bytes = written ? alignTo(valueBytes(g, v.id), kWorkspaceAlignment) : 0;
    b.first = std::min(v.producer, first[size_t(v.id)]);
    b.last = std::max(v.producer, last[size_t(v.id)]);
    b.batched = batched;
    buffers.push_back(b);
  }
  for (size_t i = 0; i < g.scratch.size(); ++i) {
    const Scratch &s = g.scratch[i];
    Buffer b;
    b.scratch = int(i);
    // One image's im2col is the same size for any batch: it lives in the
    // workspace's fixed region even in a batched graph.
    b.batched = batched && s.bytesPerBatch > 0;
    b.bytes = alignTo(b.batched ? s.bytesPerBatch : s.bytesFixed, kWorkspaceAlignment);
    b.first = b.last = s.node;
    // a convolution fused into the one reading it (FuseExpandDepthwise)
    // runs there: its padded input is read then
    if (int into = g.nodes[size_t(s.node)].fusedInto; into >= 0)
      b.last = std::max(b.last, into);
    buffers.push_back(b);
  }
  return buffers;
}

std::vector<Buffer> headBuffers(const Graph &g) {
  std::vector<Buffer> buffers;
  std::vector<int> last = lastReads(g);
  for (const Value &v : g.values) {
    if (v.storage != Storage::Head)
      continue;
    Buffer b;
    b.value = v.id;
    b.bytes = alignTo(valueBytes(g, v.id), kWorkspaceAlignment);
    b.first = std::max(v.producer, g.headStart);
    b.last = std::max(b.first, last[size_t(v.id)]);
    b.batched = true;
    buffers.push_back(b);
  }
  return buffers;
}

int64_t bufferOffset(const Graph &g, const Buffer &buffer) {
  bool batched = buffer.batched;
  if (buffer.value >= 0) {
    const Value &v = g.value(buffer.value);
    return batched ? v.offsetPerBatch : v.offsetFixed;
  }
  const Scratch &s = g.scratch[size_t(buffer.scratch)];
  return batched ? s.offsetPerBatch : s.offsetFixed;
}

void setBufferOffset(Graph &g, const Buffer &buffer, int64_t offset) {
  bool batched = buffer.batched;
  int64_t *perBatch, *fixed;
  if (buffer.value >= 0) {
    perBatch = &g.value(buffer.value).offsetPerBatch;
    fixed = &g.value(buffer.value).offsetFixed;
  } else {
    perBatch = &g.scratch[size_t(buffer.scratch)].offsetPerBatch;
    fixed = &g.scratch[size_t(buffer.scratch)].offsetFixed;
  }
  // A batched buffer's offset within the per-batch region; the region's
  // start (after the fixed region) is its offsetFixed, set by the planner.
  if (batched)
    *perBatch = offset;
  else
    *fixed = offset, *perBatch = 0;
}

} // namespace seq::ir
