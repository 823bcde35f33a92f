// ModelDesc: a model's `seqrt_model` description built in memory from its
// graph, owning every array and string it points to. The JIT path hands it
// to the runtime (seqrt_weights_load, seqrt_workspace_size), `seqc build
// --weights` packs weights with it (seqrt_pack), and ModelGlobal.cpp emits
// the same content as the `<prefix>_model` constant of the object.
#pragma once

#include "ir/Graph.h"

#include "seqrt.h"

#include <llvm/Support/Error.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace seq::codegen {

// The largest batch for which every size of the model stays in range: each
// tensor's and scratch's bytes, the workspace, the header's size macros
// (<PREFIX>_MAX_BATCH). Sizes must fit int64_t, and a target's size_t when
// it has `pointerBits` below 64. For a fixed-batch model, that batch (or 0
// when even it does not fit).
int64_t maxBatch(const ir::Graph &graph, unsigned pointerBits = 64);

class ModelDesc {
public:
  // Fails when the graph cannot be described: a rank above
  // SEQRT_MAX_RANK, or a packed tensor without a place in the buffer.
  // `pointerBits`: the target's, for max_batch.
  static llvm::Expected<std::unique_ptr<ModelDesc>> create(const ir::Graph &graph, unsigned pointerBits = 64);

  // Points into this object: neither copied nor moved.
  ModelDesc(const ModelDesc &) = delete;
  ModelDesc &operator=(const ModelDesc &) = delete;

  const seqrt_model &model() const { return model_; }
  const seqrt_model *get() const { return &model_; }

private:
  ModelDesc() = default;
  const char *intern(std::string text);
  llvm::Expected<seqrt_tensor_desc> tensor(std::string name, const std::vector<int64_t> &dims);

  std::deque<std::string> strings_; // stable addresses
  std::vector<seqrt_tensor_desc> inputs_, params_;
  seqrt_tensor_desc output_{};
  std::vector<seqrt_pack_step> steps_;
  seqrt_model model_{};
};

} // namespace seq::codegen
