// Verifier: one check per invariant, each reporting every violation it sees.
// Structural checks (ids in range, one producer per value, execution order)
// run first; shape and weight checks only when those pass, so one broken id
// is not reported again as a dozen shape errors.
#include "ir/Verifier.h"

#include "ir/VerifierChecks.h"

#include <algorithm>
#include <map>

namespace seq::ir {

namespace detail {

std::vector<std::string> Verifier::run() {
  checkIds();
  if (!errors_.empty())
    return errors_;
  checkValues();
  checkOrder();
  checkBatching();
  if (!errors_.empty())
    return errors_;
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    checkNodeShapes(int(i));
    checkEpilogue(int(i));
  }
  checkPackSteps();
  checkWeightPlan();
  size_t before = errors_.size();
  checkOutputStorage();
  bool outputPlaced = errors_.size() == before;
  if (memoryPlanned()) {
    checkCodegenContract();
    if (outputPlaced) // else the output shows up as an unplanned buffer too
      checkMemoryPlan();
    checkHeadRegion();
  }
  return errors_;
}


// ---- structure ----------------------------------------------------------------

void Verifier::checkIds() {
  if (!validValue(g_.output))
    error("graph output %{} is not a value", g_.output);
  for (int in : g_.inputs)
    if (!validValue(in))
      error("graph input %{} is not a value", in);
  for (size_t i = 0; i < g_.values.size(); ++i) {
    const Value &v = g_.values[i];
    if (v.id != int(i))
      error("value at index {} has id {}", i, v.id);
    if (v.producer < -1 || v.producer >= int(g_.nodes.size()))
      error("value %{} names producer node {}, which does not exist", i, v.producer);
    if ((v.storage == Storage::Alias || v.storage == Storage::Slice) && !validValue(v.aliasOf))
      error("value %{} aliases %{}, which does not exist", i, v.aliasOf);
  }
  for (size_t i = 0; i < g_.nodes.size(); ++i)
    checkNodeIds(int(i));
  for (size_t i = 0; i < g_.scratch.size(); ++i)
    if (g_.scratch[i].node < 0 || size_t(g_.scratch[i].node) >= g_.nodes.size())
      error("scratch {} belongs to node {}, which does not exist", i, g_.scratch[i].node);
}

void Verifier::checkNodeIds(int i) {
  const Node &node = g_.nodes[size_t(i)];
  if (node.kind == OpKind::Input)
    error("{}: inputs are values, not nodes", where(i));
  if (!validValue(node.output))
    error("{}: output %{} is not a value", where(i), node.output);
  for (int in : node.inputs)
    if (!validValue(in))
      error("{}: input %{} is not a value", where(i), in);
  for (const EpilogueOp &op : node.epilogue)
    if (op.tensor != -1 && !validValue(op.tensor))
      error("{}: epilogue reads %{}, which does not exist", where(i), op.tensor);
  const Attrs &a = node.attrs;
  for (int packed : {a.weight, a.bias})
    if (packed != -1 && !validPacked(packed))
      error("{}: packed tensor #{} does not exist", where(i), packed);
  for (int param : {a.bnGamma, a.bnBeta, a.bnMean, a.bnVar})
    if (param != -1 && !validParam(param))
      error("{}: parameter ${} does not exist", where(i), param);
}

void Verifier::checkValues() {
  std::vector<int> writers(g_.values.size(), 0), writer(g_.values.size(), -1);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    ++writers[size_t(g_.nodes[i].output)];
    writer[size_t(g_.nodes[i].output)] = int(i);
  }
  std::vector<int> owners = storageOwners(g_);
  std::vector<bool> isInput(g_.values.size(), false);
  for (size_t k = 0; k < g_.inputs.size(); ++k) {
    const Value &v = g_.value(g_.inputs[k]);
    isInput[size_t(v.id)] = true;
    if (v.storage != Storage::Input || v.inputIndex != int(k))
      error("input %{} must have input storage and index {}", v.id, k);
  }
  for (const Value &v : g_.values) {
    int expected = isInput[size_t(v.id)] ? 0 : 1;
    if (writers[size_t(v.id)] != expected)
      error("value %{} is written by {} nodes{}", v.id, writers[size_t(v.id)],
            expected ? "; it must be written by exactly one" : "; it is a model input");
    else if (v.producer != writer[size_t(v.id)])
      error("value %{} names node {} as its producer, but node {} writes it", v.id, v.producer,
            writer[size_t(v.id)]);
    if (v.storage == Storage::Input && !isInput[size_t(v.id)])
      error("value %{} has input storage but is not a model input", v.id);
    if (v.storage == Storage::Alias) {
      if (owners[size_t(v.id)] < 0) // ids are valid here, so the chain cycles
        error("value %{} is in a cycle of aliases", v.id);
      bool fromReshape = v.producer >= 0 && g_.nodes[size_t(v.producer)].kind == OpKind::Reshape;
      if (!fromReshape)
        error("value %{} is an alias but no reshape writes it", v.id);
    }
    if (v.storage == Storage::Slice)
      checkSlice(v);
  }
}

// A Slice value is one input of the concat writing the value it lives in,
// at the bytes of that input's place there, on a cache line, and the
// concat copies nothing (concatInPlace).
void Verifier::checkSlice(const Value &v) {
  const Value &whole = g_.value(v.aliasOf);
  const Node *concat = whole.producer >= 0 ? &g_.nodes[size_t(whole.producer)] : nullptr;
  if (!concat || concat->kind != OpKind::Concat) {
    error("value %{} lives in %{}, which no concat writes", v.id, whole.id);
    return;
  }
  int64_t offset = 0, inner = 1;
  const Shape &out = whole.shape;
  for (size_t d = size_t(concat->attrs.dim) + 1; d < out.rank(); ++d)
    inner *= out.dims[d];
  bool found = false;
  for (int in : concat->inputs) {
    if (in == v.id) {
      found = true;
      break;
    }
    offset += g_.value(in).shape.dims.at(size_t(concat->attrs.dim)) * inner * int64_t(sizeof(float));
  }
  if (!found)
    error("value %{} lives in %{}, but the concat writing it does not read it", v.id, whole.id);
  else if (v.sliceOffset != offset || offset % kWorkspaceAlignment != 0)
    error("value %{} lives at byte {} of %{}, not at its place there (byte {}, on a cache line)", v.id,
          v.sliceOffset, whole.id, offset);
  if (!concatInPlace(g_, *concat))
    error("value %{} lives in %{}, but the concat writing it does not take all its inputs in place", v.id,
          whole.id);
}

void Verifier::checkOrder() {
  auto definedBefore = [&](int value, int node) {
    return g_.value(value).producer < node;
  };
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    for (int in : g_.nodes[i].inputs)
      if (!definedBefore(in, int(i)))
        error("{}: reads %{} before it is written", where(int(i)), in);
    for (const EpilogueOp &op : g_.nodes[i].epilogue)
      if (op.tensor >= 0 && !definedBefore(op.tensor, int(i)))
        error("{}: epilogue reads %{} before it is written", where(int(i)), op.tensor);
  }
}

void Verifier::checkBatching() {
  bool batched = isBatched(g_);
  for (const Value &v : g_.values) {
    if (v.shape.batched() != batched)
      error("value %{} {} is {}batched, unlike the rest of the graph", v.id, v.shape.str(),
            batched ? "not " : "");
    for (size_t d = v.shape.batched() ? 1 : 0; d < v.shape.rank(); ++d)
      if (v.shape.dims[d] <= 0)
        error("value %{} has a non-positive dimension: {}", v.id, v.shape.str());
  }
  if (batched && g_.fixedBatch != 0)
    error("a graph with fixed batch {} has batched values", g_.fixedBatch);
}

// ---- weights --------------------------------------------------------------------

void Verifier::expectParamElements(size_t s, int slot, int64_t elements, bool required) {
  int param = g_.packSteps[s].src[slot];
  if (param == -1) {
    if (required)
      error("pack step {}: source {} is required", s, slot);
    return;
  }
  if (!validParam(param))
    return error("pack step {}: parameter ${} does not exist", s, param);
  int64_t n = 1;
  for (int64_t d : g_.params[size_t(param)].shape)
    n *= d;
  if (n != elements)
    error("pack step {}: parameter '{}' has {} elements, expected {}", s,
          g_.params[size_t(param)].name, n, elements);
}

void Verifier::checkPackStep(size_t s) {
  const PackStep &step = g_.packSteps[s];
  auto expectOut = [&](int packed, int64_t size, const char *which) {
    if (!validPacked(packed))
      return error("pack step {}: {} #{} does not exist", s, which, packed);
    if (g_.packed[size_t(packed)].size != size)
      error("pack step {}: writes {} floats to #{} of {}", s, size, packed,
            g_.packed[size_t(packed)].size);
  };
  int64_t rows = step.rows, matrix = step.rows * step.cols;
  int64_t laidOut = packedMatrixSize(step.rows, step.cols, step.transpose);
  if (step.transpose < kLayoutRows || step.transpose > kLayoutWinograd)
    return error("pack step {}: unknown layout {}", s, step.transpose);
  if (step.transpose == kLayoutWinograd && (step.cols % 9 != 0 || (step.op != PackOp::Copy &&
                                                                   step.op != PackOp::FoldBatchNorm)))
    return error("pack step {}: the Winograd layout needs a matrix of 3x3 kernels", s);
  switch (step.op) {
  case PackOp::Copy:
    expectParamElements(s, 0, matrix, true);
    return expectOut(step.out, laidOut, "dst");
  case PackOp::Zero: return expectOut(step.out, matrix, "dst");
  case PackOp::FoldBatchNorm:
    expectParamElements(s, 0, matrix, true);
    expectParamElements(s, 1, rows, false);
    expectOut(step.out, laidOut, "dst");
    break;
  case PackOp::BatchNormScaleShift:
    expectOut(step.out, rows, "dst");
    break;
  }
  expectParamElements(s, 2, rows, false);
  expectParamElements(s, 3, rows, false);
  expectParamElements(s, 4, rows, true);
  expectParamElements(s, 5, rows, true);
  expectOut(step.out2, rows, "dst2");
}

void Verifier::checkPackSteps() {
  std::vector<int> writers(g_.packed.size(), 0);
  for (size_t s = 0; s < g_.packSteps.size(); ++s) {
    checkPackStep(s);
    for (int out : {g_.packSteps[s].out, g_.packSteps[s].out2})
      if (validPacked(out))
        ++writers[size_t(out)];
  }
  for (size_t p = 0; p < g_.packed.size(); ++p)
    if (writers[p] != 1)
      error("packed tensor #{} '{}' is written by {} pack steps, not 1", p, g_.packed[p].name,
            writers[p]);
}

void Verifier::checkWeightPlan() {
  bool planned = std::any_of(g_.packed.begin(), g_.packed.end(),
                             [](const Packed &p) { return p.offset >= 0; });
  if (!planned)
    return;
  std::vector<const Packed *> byOffset;
  for (const Packed &p : g_.packed) {
    if (p.offset < 0 || p.offset % kPackedAlignment || p.offset + p.size > g_.packedSize)
      error("packed tensor '{}' at {} ({} floats) is unaligned or outside the {} floats planned",
            p.name, p.offset, p.size, g_.packedSize);
    byOffset.push_back(&p);
  }
  std::sort(byOffset.begin(), byOffset.end(),
            [](const Packed *a, const Packed *b) { return a->offset < b->offset; });
  for (size_t k = 1; k < byOffset.size(); ++k)
    if (byOffset[k - 1]->offset + byOffset[k - 1]->size > byOffset[k]->offset)
      error("packed tensors '{}' and '{}' overlap", byOffset[k - 1]->name, byOffset[k]->name);
}

// ---- memory ---------------------------------------------------------------------

void Verifier::checkOutputStorage() {
  int owner = g_.storageOf(g_.output).id;
  for (const Value &v : g_.values)
    if (v.storage == Storage::Output && v.id != owner)
      error("value %{} has output storage but is not the graph output %{}", v.id, g_.output);
  if (hasWorkspace(g_) && g_.value(owner).storage != Storage::Output)
    error("the graph output %{} is not in the output buffer", g_.output);
}

void Verifier::checkCodegenContract() {
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    OpKind kind = g_.nodes[i].kind;
    if (kind == OpKind::Identity || kind == OpKind::BatchNorm || kind == OpKind::Unary ||
        kind == OpKind::Scalar)
      error("{}: left for codegen, which does not handle it", where(int(i)));
  }
}

namespace {

std::string describe(const Buffer &b) {
  return b.value >= 0 ? fmt::format("%{}", b.value) : fmt::format("scratch {}", b.scratch);
}

} // namespace

void Verifier::checkMemoryPlan() {
  std::vector<Buffer> all = workspaceBuffers(g_);
  for (const Buffer &b : all) {
    int64_t offset = bufferOffset(g_, b), size = regionSize(g_, b);
    if (offset < 0 || offset % kWorkspaceAlignment || offset + b.bytes > size)
      error("{} at byte {} ({} bytes) is unaligned or outside its {}-byte region", describe(b),
            offset, b.bytes, size);
    if (b.batched && b.value >= 0 && g_.value(b.value).offsetFixed != g_.workspaceFixed)
      error("{} does not start its region after the {}-byte fixed region", describe(b),
            g_.workspaceFixed);
  }
  // The two regions never share bytes: each is checked apart.
  for (bool batched : {false, true}) {
    std::vector<Buffer> buffers;
    for (const Buffer &b : all)
      if (b.batched == batched)
        buffers.push_back(b);
    checkOverlaps(buffers, "the workspace");
  }
}

// Names every pair of `buffers` (of one region) live together that share
// bytes, once a sweep has found one.
void Verifier::checkOverlaps(const std::vector<Buffer> &buffers, const char *region) {
  if (!anyLiveTogetherOverlap(buffers))
    return;
  for (size_t x = 0; x < buffers.size(); ++x)
    for (size_t y = x + 1; y < buffers.size(); ++y) {
      const Buffer &a = buffers[x], &b = buffers[y];
      int64_t oa = bufferOffset(g_, a), ob = bufferOffset(g_, b);
      bool together = a.first <= b.last && b.first <= a.last;
      if (together && oa < ob + b.bytes && ob < oa + a.bytes)
        error("{} and {} are live together but overlap in {}", describe(a), describe(b), region);
    }
}

// The head's region (Storage::Head): only where the forward pass runs
// image by image and then its head; every value in it aligned, inside it,
// and disjoint from those live with it (headBuffers' lifetimes).
void Verifier::checkHeadRegion() {
  std::vector<Buffer> head;
  for (const Buffer &b : headBuffers(g_)) {
    const Value &v = g_.value(b.value);
    if (g_.headStart < 0 || !g_.imageSlotBytes || v.producer < 0) {
      error("value %{} lives in the head's region, but the graph has no head", v.id);
      continue;
    }
    if (v.offsetPerBatch < 0 || v.offsetPerBatch % kWorkspaceAlignment ||
        v.offsetPerBatch + b.bytes > g_.headBytesPerBatch)
      error("%{} at byte {} ({} bytes) is unaligned or outside the head's {}-byte region", v.id, v.offsetPerBatch,
            b.bytes, g_.headBytesPerBatch);
    head.push_back(b);
  }
  checkOverlaps(head, "the head's region");
}

// Whether two buffers live at the same time share bytes, in O(n log n): a
// sweep over node indices keeps the live buffers ordered by offset; as
// long as they are disjoint, a new one can only clash with its neighbours.
// Each buffer counts as at least one byte, so a clash is never missed (an
// empty buffer seen as clashing only costs the exact check above).
bool Verifier::anyLiveTogetherOverlap(const std::vector<Buffer> &buffers) const {
  std::vector<size_t> byFirst(buffers.size()), byLast(buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i)
    byFirst[i] = byLast[i] = i;
  std::sort(byFirst.begin(), byFirst.end(),
            [&](size_t a, size_t b) { return buffers[a].first < buffers[b].first; });
  std::sort(byLast.begin(), byLast.end(),
            [&](size_t a, size_t b) { return buffers[a].last < buffers[b].last; });
  std::multimap<int64_t, int64_t> live; // offset -> end
  std::vector<std::multimap<int64_t, int64_t>::iterator> where(buffers.size());
  size_t dead = 0;
  for (size_t i : byFirst) {
    const Buffer &b = buffers[i];
    // Those whose last reader ran before b is written (first <= last, so
    // each was added before).
    for (; dead < byLast.size() && buffers[byLast[dead]].last < b.first; ++dead)
      live.erase(where[byLast[dead]]);
    int64_t offset = bufferOffset(g_, b), end = offset + std::max<int64_t>(b.bytes, 1);
    auto next = live.lower_bound(offset);
    if (next != live.end() && next->first < end)
      return true;
    if (next != live.begin() && std::prev(next)->second > offset)
      return true;
    where[i] = live.emplace_hint(next, offset, end);
  }
  return false;
}

} // namespace detail

std::vector<std::string> verify(const Graph &g) { return detail::Verifier(g).run(); }

} // namespace seq::ir
