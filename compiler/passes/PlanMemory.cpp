// PlanMemory: decides where every value lives at run time.
//
// Algorithm:
//  1. the model output: a value a node writes gets Storage::Output; an
//     alias of such a value hands Output to the value owning the storage;
//     a model input, or an alias of one, gets a Copy node writing a new
//     output value;
//  2. scratch: each Conv2d computed through an im2col or padded-input buffer
//     (ir/ConvScratch.h decides which) gets kConvScratchSlots images' worth, each reused image
//     after image, live only while it runs;
//  3. offsets, Glow-style: the workspace buffers (ir/Liveness) live from the
//     node writing them to their last reader (epilogues and aliases count).
//     Largest first, each takes the smallest gap, among the buffers already
//     placed whose lifetimes overlap its own, that holds it (best fit), or
//     goes above them all (a large buffer counted in whole pages and a
//     skew, so that two live at once do not start at the same offset in a
//     page: footprint()). Sizes and offsets are 64-byte multiples, per
//     batch item in a batched graph (a run's offset is offsetPerBatch *
//     batch, so alignment holds for any batch), in all otherwise. The
//     workspace size is the peak. The buffers placed are indexed by live
//     span (LiveSpans), so each placement visits only the buffers live with
//     it: O(n log n) for a model of n nodes unless many buffers are live at
//     once;
//  4. image by image (ir/ImageParallel.h): the layout above, for batch 1,
//     is one image's slot; a forward call of batch B gets B of them, and
//     runs its groups of G images each in G slots' worth
//     (codegen/BatchSchedule.cpp);
//  5. in-place concats: where every node runs on one image at a time, a
//     concat's inputs move into its output (Storage::Slice, see "In-place
//     concats" below) and step 3 runs again without them. The concat's
//     buffer then lives from the first node writing one of them.
#include "ir/ConvPool.h"
#include "ir/ConvScratch.h"
#include "ir/ImageParallel.h"
#include "ir/Liveness.h"
#include "passes/GraphEdit.h"
#include "passes/Passes.h"

#include <algorithm>
#include <map>

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

// A ConvTranspose2d's GEMM result, [groups][OC/g*KH*KW][H*W] per image,
// for every image at once (its two loops split over different dims).
void addConvTransposeScratch(Graph &g, int node) {
  const Node &n = g.nodes[size_t(node)];
  const Shape &in = g.value(n.inputs.at(0)).shape, &out = g.value(n.output).shape;
  int64_t bytes = out.dims[1] * n.attrs.kernel[0] * n.attrs.kernel[1] * in.dims[2] * in.dims[3] * 4;
  Scratch s;
  s.node = node;
  if (in.batched())
    s.bytesPerBatch = bytes;
  else
    s.bytesFixed = bytes * in.dims[0];
  g.scratch.push_back(s);
}

void addIm2colScratch(Graph &g) {
  g.scratch.clear();
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &conv = g.nodes[i];
    if (conv.kind == OpKind::ConvTranspose2d) {
      addConvTransposeScratch(g, int(i));
      continue;
    }
    if (conv.kind == OpKind::MaxPool2d && fusedPoolConvolution(g, conv)) {
      // a band buffer per slot (NodeGenConvPool.cpp)
      ConvPoolPlan plan = convPoolPlan(g, conv);
      Scratch s;
      s.node = int(i);
      s.bytesFixed = std::min(plan.bands, kConvScratchSlots) * plan.slotBytes();
      g.scratch.push_back(s);
      continue;
    }
    int64_t bytes = conv.kind == OpKind::Conv2d ? convScratchSlotBytes(g, conv) : 0;
    if (bytes == 0)
      continue;
    Scratch s;
    s.node = int(i);
    // a buffer per slot, each reused image after image; one when the
    // forward pass runs image by image (its convolutions then take a
    // group's images one after the other, NodeGenConv.cpp), but for the
    // convolutions whose slot tasks split every image: one a task
    int64_t imageTasks = convImageSlotTasks(g, conv);
    int64_t slots = imageTasks > 0 ? std::min(imageTasks, kConvScratchSlots)
                    : g.imageSlotBytes ? 1
                                       : kConvScratchSlots;
    s.bytesFixed = slots * bytes;
    g.scratch.push_back(s);
  }
}

// The placed buffers, indexed by live span so that placing one more visits
// only those live at the same time as it, not every buffer placed so far.
// A buffer [first, last] overlaps [a, b] when it is live at a (found by
// walking a segment tree over node indices from leaf a to the root, each
// tree node holding the buffers whose span covers its range), or starts in
// (a, b] (found in an ordered map from start to buffers). No buffer is in
// both, so each overlapping one is seen once.
class LiveSpans {
public:
  explicit LiveSpans(int nodes) : leaves_(1) {
    while (leaves_ < std::max(nodes, 1))
      leaves_ *= 2;
    covering_.resize(2 * size_t(leaves_));
  }

  void add(int id, const Buffer &b) {
    for (int l = b.first + leaves_, r = b.last + leaves_ + 1; l < r; l /= 2, r /= 2) {
      if (l & 1)
        covering_[size_t(l++)].push_back(id);
      if (r & 1)
        covering_[size_t(--r)].push_back(id);
    }
    starting_[b.first].push_back(id);
  }

  // The buffers added so far whose spans overlap [first, last].
  std::vector<int> overlapping(int first, int last) const {
    std::vector<int> ids;
    for (int n = first + leaves_; n >= 1; n /= 2)
      ids.insert(ids.end(), covering_[size_t(n)].begin(), covering_[size_t(n)].end());
    for (auto it = starting_.upper_bound(first); it != starting_.end() && it->first <= last; ++it)
      ids.insert(ids.end(), it->second.begin(), it->second.end());
    return ids;
  }

private:
  int leaves_;
  std::vector<std::vector<int>> covering_;
  std::map<int, std::vector<int>> starting_;
};

// The best-fitting offset for a buffer of `bytes` among `placed` (offset,
// size) pairs of the buffers live with it: the start of the smallest gap
// that holds it, or the end of the highest.
int64_t bestFit(int64_t bytes, std::vector<std::pair<int64_t, int64_t>> placed) {
  std::sort(placed.begin(), placed.end());
  int64_t best = -1, bestGap = 0, cursor = 0;
  for (const auto &[offset, size] : placed) {
    int64_t gap = offset - cursor;
    if (gap >= bytes && (best < 0 || gap < bestGap)) {
      best = cursor;
      bestGap = gap;
    }
    cursor = std::max(cursor, offset + size);
  }
  return best >= 0 ? best : cursor;
}

// The bytes a buffer keeps others out of: a large one (kSkewMinBytes or
// more) whole pages and kSkewBytes more, so that two large buffers live at
// once rarely start at the same offset within a 4 KB page, nor a multiple
// of 1 KB or 256 bytes from it. A load whose address matches a pending
// store's in its low 12 bits waits for that store on x86 ("4K
// aliasing"), and a 1x1 convolution reads its input's planes and writes
// its output's at the same positions: where both buffers started on page
// boundaries, with 112 x 112 planes (12.25 pages: a multiple of 1 KB
// apart) a quarter of its loads matched a store of its own; with 56 x 56
// planes (a multiple of 256 bytes apart) a sixteenth. The next buffer up
// starts kSkewBytes past the one below within a page: 384 bytes from a
// multiple of 1 KB, 128 from one of 256 (two or more levels apart:
// 2 x 1408 is 256 from a multiple of 1 KB, 3 x 1408 128, 4 x 1408 512).
// MobileNetV2's 32 -> 16 channels at 112 x 112, one thread, minima of
// alternated profiles: 322-368 -> 231-291 us (the same layer on buffers
// that did not alias: ~200); whole models within the noise of a shared
// VM. Small buffers are packed as they are (their planes are a page or
// two).
constexpr int64_t kSkewMinBytes = 32 * 1024;
constexpr int64_t kSkewPage = 4096;
constexpr int64_t kSkewBytes = 1024 + 384;
static_assert(kSkewBytes % kWorkspaceAlignment == 0);

int64_t footprint(int64_t bytes) {
  return bytes < kSkewMinBytes ? bytes : alignTo(bytes, kSkewPage) + kSkewBytes;
}

// Places one region's buffers (all fixed-size, or all per batch item);
// returns the region's peak.
int64_t placeRegion(Graph &g, std::vector<Buffer> buffers) {
  std::stable_sort(buffers.begin(), buffers.end(),
                   [](const Buffer &a, const Buffer &b) { return a.bytes > b.bytes; });
  std::vector<int64_t> offsets(buffers.size());
  LiveSpans placed(int(g.nodes.size()));
  int64_t peak = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    std::vector<std::pair<int64_t, int64_t>> live;
    for (int j : placed.overlapping(buffers[i].first, buffers[i].last))
      live.emplace_back(offsets[size_t(j)], footprint(buffers[size_t(j)].bytes));
    offsets[i] = bestFit(footprint(buffers[i].bytes), std::move(live));
    placed.add(int(i), buffers[i]);
    setBufferOffset(g, buffers[i], offsets[i]);
    peak = std::max(peak, offsets[i] + buffers[i].bytes);
  }
  return peak;
}

// The fixed region first (im2col scratch; everything in a fixed-batch
// graph), then the per-batch region, which starts where the fixed one ends.
void assignOffsets(Graph &g) {
  std::vector<Buffer> fixed, perBatch;
  for (const Buffer &b : workspaceBuffers(g))
    (b.batched ? perBatch : fixed).push_back(b);
  g.workspaceFixed = placeRegion(g, std::move(fixed));
  g.workspacePerBatch = placeRegion(g, perBatch);
  for (const Buffer &b : perBatch)
    (b.value >= 0 ? g.value(b.value).offsetFixed : g.scratch[size_t(b.scratch)].offsetFixed) =
        g.workspaceFixed;
}

// ---- The head -------------------------------------------------------------------
//
// Image by image, every node reads its weights again for each image (or
// group of images): for a classifier, a matrix-vector product per image
// that streams all of its weights (MobileNetV2's 5 MB, 4% of its time at
// batch 16). So the forward pass runs the network's head, the last nodes
// whose every value takes at most kHeadMaxBytes an image (Linear layers
// and the element-wise and shape nodes between them), once over the
// whole batch after the images: one GEMM a layer. Its values and the
// values it reads from the nodes before it live in a region of their own
// after the B image slots (Storage::Head), laid out as a workspace of
// batch B; the head is taken when its Linear layers hold at least
// kHeadMinWeightBytes.
constexpr int64_t kHeadMaxBytes = 64 * 1024;
constexpr int64_t kHeadMinWeightBytes = 512 * 1024;

bool headKind(OpKind kind) {
  switch (kind) {
  case OpKind::Linear:
  case OpKind::Reshape:
  case OpKind::Map:
  case OpKind::Copy:
  case OpKind::Binary:
  case OpKind::Softmax: return true;
  default: return false;
  }
}

// The first node of the head, or -1.
int findHead(const Graph &g) {
  auto small = [&](int v) { return v < 0 || valueBytes(g, v) <= kHeadMaxBytes; };
  int n = int(g.nodes.size()), start = n;
  for (int i = n - 1; i > 0; --i) {
    const Node &node = g.nodes[size_t(i)];
    bool fits = headKind(node.kind) && node.fusedInto < 0 && small(node.output) &&
                std::all_of(node.inputs.begin(), node.inputs.end(), small) &&
                std::all_of(node.epilogue.begin(), node.epilogue.end(),
                            [&](const EpilogueOp &op) { return small(op.tensor); }) &&
                std::none_of(g.scratch.begin(), g.scratch.end(), [&](const Scratch &s) { return s.node == i; });
    if (!fits)
      break;
    start = i;
  }
  return start < n && linearWeightBytes(g, size_t(start)) >= kHeadMinWeightBytes ? start : -1;
}

// Moves the head's values into its region and places them there.
void placeHead(Graph &g) {
  int start = findHead(g);
  if (start < 0)
    return;
  std::vector<int> owners = storageOwners(g);
  std::vector<bool> inHead(g.values.size(), false);
  auto mark = [&](int v) {
    int owner = v >= 0 ? owners[size_t(v)] : -1;
    if (owner >= 0 && g.value(owner).storage == Storage::Workspace && g.value(owner).producer >= 0)
      inHead[size_t(owner)] = true;
  };
  for (size_t i = size_t(start); i < g.nodes.size(); ++i) {
    const Node &node = g.nodes[i];
    mark(node.output);
    for (int in : node.inputs)
      mark(in);
    for (const EpilogueOp &op : node.epilogue)
      mark(op.tensor);
  }
  for (Value &v : g.values)
    if (inHead[size_t(v.id)]) {
      v.storage = Storage::Head;
      v.offsetFixed = 0;
    }
  g.headStart = start;
  g.headBytesPerBatch = placeRegion(g, headBuffers(g));
}

// ---- In-place concats ---------------------------------------------------------
//
// A concat copies each input into its place in the output. Where every
// node runs on one image at a time (a fixed batch of 1, or image by image
// in groups of one: the slices of one image are contiguous), each input
// can instead be written there by its producer (Storage::Slice) and the
// concat copies nothing: SqueezeNet's Fire modules copied 3 MB an image.
// An input qualifies when it is a workspace value of its own (not a model
// input, not the output, not fused away), its producer writes it (not a
// node fused into another), it is read once by the concat, and it takes
// a whole number of cache lines, so that every input starts on one; a
// concat takes its inputs in place only when all qualify and it has no
// epilogue (DenseNet's, through BatchNorm and ReLU, writes other values).

// Whether every node of the planned graph runs on one image at a time.
bool oneImageAtATime(const Graph &g) {
  return g.fixedBatch == 1 || (g.imageSlotBytes && maxImageGroup(g) == 1);
}

bool sliceable(const Graph &g, const Node &concat, int in, const std::vector<int> &readsByConcat) {
  const Value &v = g.value(in);
  if (v.storage != Storage::Workspace || v.producer < 0 || readsByConcat[size_t(in)] != 1 ||
      std::count(concat.inputs.begin(), concat.inputs.end(), in) != 1)
    return false;
  const Node &producer = g.nodes[size_t(v.producer)];
  return producer.fusedInto < 0 && producer.kind != OpKind::Reshape &&
         valueBytes(g, in) % kWorkspaceAlignment == 0;
}

// Places the inputs of every concat that can take them; returns whether any.
bool placeConcatInputs(Graph &g) {
  std::vector<int> readsByConcat(g.values.size(), 0);
  for (const Node &node : g.nodes)
    if (node.kind == OpKind::Concat)
      for (int in : node.inputs)
        ++readsByConcat[size_t(in)];
  bool any = false;
  for (const Node &concat : g.nodes) {
    if (concat.kind != OpKind::Concat || !concat.epilogue.empty() || concat.fusedInto >= 0)
      continue;
    const Shape &out = g.value(concat.output).shape;
    size_t dim = size_t(concat.attrs.dim);
    // the inputs' parts of an image are contiguous: every dim before `dim`
    // (past the batch) is 1
    bool contiguous = dim >= 1 && dim < out.rank();
    for (size_t d = 1; d < dim && contiguous; ++d)
      contiguous = out.dims[d] == 1;
    if (!contiguous || g.storageOf(concat.output).storage == Storage::Input ||
        !std::all_of(concat.inputs.begin(), concat.inputs.end(),
                     [&](int in) { return sliceable(g, concat, in, readsByConcat); }))
      continue;
    int64_t offset = 0;
    for (int in : concat.inputs) {
      Value &v = g.value(in);
      v.storage = Storage::Slice;
      v.aliasOf = concat.output;
      v.sliceOffset = offset;
      offset += valueBytes(g, in);
    }
    any = true;
  }
  return any;
}

} // namespace

void planMemory(Graph &g) {
  giveOutputStorage(g);
  g.imageSlotBytes = runsImageByImage(g) ? 1 : 0; // a flag until the size is known
  addIm2colScratch(g);
  g.headStart = -1;
  g.headBytesPerBatch = 0;
  if (g.imageSlotBytes)
    placeHead(g);
  assignOffsets(g);
  // (maxImageGroup stays 1 once a value is a slice: ir/ImageParallel.h)
  if (oneImageAtATime(g) && placeConcatInputs(g))
    assignOffsets(g);
  if (g.imageSlotBytes)
    g.imageSlotBytes = std::max<int64_t>(64, (g.workspaceFixed + g.workspacePerBatch + 63) / 64 * 64);
}

} // namespace seq::passes
