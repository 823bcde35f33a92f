// Liveness: the workspace buffers of a graph (workspace values that own
// their storage, and scratch regions) with their sizes and the span of
// nodes during which each is live. PlanMemory assigns offsets from it; the
// Verifier and the Printer read it back.
#pragma once

#include "ir/Graph.h"

#include <cstdint>
#include <vector>

namespace seq::ir {

// Workspace offsets and sizes are multiples of this (bytes).
constexpr int64_t kWorkspaceAlignment = 64;
// Packed tensor offsets are multiples of this (floats).
constexpr int64_t kPackedAlignment = 16;

inline int64_t alignTo(int64_t n, int64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

// True when the graph's shapes carry the run-time batch (dims[0] == kBatch).
bool isBatched(const Graph &g);

// A value's bytes: per batch item in a batched graph, in all otherwise.
int64_t valueBytes(const Graph &g, int value);

struct Buffer {
  int value = -1;   // a Workspace value owning its storage, or -1
  int scratch = -1; // an index into Graph::scratch, or -1
  int64_t bytes = 0; // rounded up to kWorkspaceAlignment; per batch item when batched
  int first = 0;    // node that writes it first
  int last = 0;     // last node that reads it (inputs, epilogues, aliases)
  bool batched = false; // the graph is batched: offsets are per batch item
};

// For every value, the id of the value owning its storage (Graph::storageOf
// for all values at once, in linear time); -1 where an alias chain is
// broken or cycles.
std::vector<int> storageOwners(const Graph &g);

// The last node reading each storage owner (its inputs, epilogue tensors
// and aliases count; a node fused into another reads when that one runs),
// by value id; -1 when nothing reads it.
std::vector<int> lastReads(const Graph &g);

// Every workspace buffer, values first (by id), then scratch regions. Linear
// in the graph.
std::vector<Buffer> workspaceBuffers(const Graph &g);

// The buffers of the head's region (Storage::Head; Graph::headStart):
// those of the values the head writes live from their producer, those
// written before it (all of them live when it starts) from headStart.
std::vector<Buffer> headBuffers(const Graph &g);

// The workspace has two regions: a fixed one first (every buffer of a
// fixed-batch graph; the im2col scratch of any graph), then a per-batch one
// (workspaceFixed + offsetPerBatch * batch). A buffer's offset is within its
// region, as buffer.batched says.
int64_t bufferOffset(const Graph &g, const Buffer &buffer);
void setBufferOffset(Graph &g, const Buffer &buffer, int64_t offset);

// The size of the buffer's region (per batch item, or fixed).
inline int64_t regionSize(const Graph &g, const Buffer &buffer) {
  return buffer.batched ? g.workspacePerBatch : g.workspaceFixed;
}

// Whether any workspace was planned.
inline bool hasWorkspace(const Graph &g) { return g.workspacePerBatch + g.workspaceFixed > 0; }

} // namespace seq::ir
