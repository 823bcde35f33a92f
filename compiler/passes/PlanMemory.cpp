// PlanMemory: decides where every value lives at run time.
//
// Algorithm:
//  1. the model output: a value a node writes gets Storage::Output; an
//     alias of such a value hands Output to the value owning the storage;
//     a model input, or an alias of one, gets a Copy node writing a new
//     output value;
//  2. scratch: each Conv2d that is not a plain 1x1 (stride 1, no padding,
//     one group) and not depthwise gets an im2col buffer of
//     groups * (C/g*KH*KW) * (OH*OW) floats per batch item, live only
//     while it runs;
//  3. offsets, Glow-style: the workspace buffers (ir/Liveness) live from the
//     node writing them to their last reader (epilogues and aliases count).
//     Largest first, each takes the smallest gap, among the buffers already
//     placed whose lifetimes overlap its own, that holds it (best fit), or
//     goes above them all. Sizes and offsets are 64-byte multiples, per
//     batch item in a batched graph (a run's offset is offsetPerBatch *
//     batch, so alignment holds for any batch), in all otherwise. The
//     workspace size is the peak.
#include "ir/Liveness.h"
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

#include <algorithm>

namespace seq::passes {

using namespace ir;

namespace {

void giveOutputStorage(Graph &g) {
  Value &out = g.value(g.output);
  if (out.storage == Storage::Workspace || out.storage == Storage::Output) {
    out.storage = Storage::Output;
    return;
  }
  int owner = g.storageOf(g.output).id;
  if (out.storage == Storage::Alias && g.value(owner).storage != Storage::Input) {
    g.value(owner).storage = Storage::Output;
    return;
  }
  Node copy{};
  copy.kind = OpKind::Copy;
  copy.inputs = {g.output};
  copy.name = out.name;
  copy.output = g.addValue(g.value(g.output).shape, "output");
  g.value(copy.output).storage = Storage::Output;
  g.output = copy.output;
  g.addNode(std::move(copy));
}

bool needsIm2col(const Graph &g, const Node &conv) {
  const Attrs &a = conv.attrs;
  int64_t channels = g.value(conv.inputs.at(0)).shape.dims.at(1);
  int64_t outChannels = g.value(conv.output).shape.dims.at(1);
  bool pointwise = a.kernel[0] == 1 && a.kernel[1] == 1 && a.stride[0] == 1 && a.stride[1] == 1 &&
                   a.pad[0] == 0 && a.pad[1] == 0 && a.pad[2] == 0 && a.pad[3] == 0 && a.groups == 1;
  bool depthwise = a.groups == channels && a.groups == outChannels;
  return !pointwise && !depthwise;
}

void addIm2colScratch(Graph &g) {
  g.scratch.clear();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &conv = g.nodes[i];
    if (conv.kind != OpKind::Conv2d || !needsIm2col(g, conv))
      continue;
    const Shape &in = g.value(conv.inputs.at(0)).shape;
    const Shape &out = g.value(conv.output).shape;
    int64_t patch = in.dims[1] / conv.attrs.groups * conv.attrs.kernel[0] * conv.attrs.kernel[1];
    int64_t bytes = conv.attrs.groups * patch * out.dims[2] * out.dims[3] * int64_t(sizeof(float));
    Scratch s;
    s.node = int(i);
    if (in.batched())
      s.bytesPerBatch = bytes;
    else
      s.bytesFixed = bytes * in.dims[0];
    g.scratch.push_back(s);
  }
}

bool liveTogether(const Buffer &a, const Buffer &b) {
  return a.first <= b.last && b.first <= a.last;
}

// The best-fitting offset for `buffer` among `placed` buffers that overlap
// it in time, each given with its offset.
int64_t bestFit(const Buffer &buffer, std::vector<std::pair<int64_t, const Buffer *>> placed) {
  std::sort(placed.begin(), placed.end(),
            [](const auto &x, const auto &y) { return x.first < y.first; });
  int64_t best = -1, bestGap = 0, cursor = 0;
  for (const auto &[offset, other] : placed) {
    int64_t gap = offset - cursor;
    if (gap >= buffer.bytes && (best < 0 || gap < bestGap)) {
      best = cursor;
      bestGap = gap;
    }
    cursor = std::max(cursor, offset + other->bytes);
  }
  return best >= 0 ? best : cursor;
}

void assignOffsets(Graph &g) {
  std::vector<Buffer> buffers = workspaceBuffers(g);
  std::stable_sort(buffers.begin(), buffers.end(),
                   [](const Buffer &a, const Buffer &b) { return a.bytes > b.bytes; });
  std::vector<int64_t> offsets;
  int64_t peak = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    std::vector<std::pair<int64_t, const Buffer *>> overlapping;
    for (size_t j = 0; j < i; ++j)
      if (liveTogether(buffers[i], buffers[j]))
        overlapping.emplace_back(offsets[j], &buffers[j]);
    offsets.push_back(bestFit(buffers[i], std::move(overlapping)));
    setBufferOffset(g, buffers[i], offsets.back());
    peak = std::max(peak, offsets.back() + buffers[i].bytes);
  }
  bool batched = isBatched(g);
  g.workspacePerBatch = batched ? peak : 0;
  g.workspaceFixed = batched ? 0 : peak;
}

} // namespace

void planMemory(Graph &g) {
  giveOutputStorage(g);
  addIm2colScratch(g);
  assignOffsets(g);
}

} // namespace seq::passes
