// Jit: a model compiled in memory with ORC's LLJIT for the host (what
// `seqc run` and the unit tests use). The module is the one `seqc build`
// would emit, optimised the same way, plus `<prefix>_jit_forward`, which
// takes the inputs as an array so one C++ signature fits every model.
// It is compiled to an object file in memory, which the JIT links; with a
// cache (JitCache.h), that object is stored, and a later create() with the
// same key links the stored one and compiles nothing.
#pragma once

#include "codegen/JitCache.h"
#include "codegen/ModelDesc.h"
#include "codegen/TargetOptions.h"

#include "ir/Graph.h"

#include "seqrt.h"

#include <llvm/Support/Error.h>

#include <cstdint>
#include <memory>

namespace llvm::orc {
class LLJIT;
}

namespace seq::codegen {

class JitModel {
public:
  // Compiles `graph` for the host; options.triple must be empty (the
  // host); options.cpu and options.optLevel apply as for `seqc build`.
  // With `cache`, the compiled code is looked up first and stored after.
  static llvm::Expected<std::unique_ptr<JitModel>> create(const ir::Graph &graph, const TargetOptions &options,
                                                          const JitCacheRequest *cache = nullptr);
  ~JitModel();
  JitModel(const JitModel &) = delete;
  JitModel &operator=(const JitModel &) = delete;

  // The forward function: `inputs[i]` is model input i; `weights` a
  // handle loaded for model() (or NULL for a model without parameters).
  seqrt_status forward(const seqrt_weights *weights, const float *const *inputs, float *output, int64_t batch,
                       seqrt_context *ctx) const;

  // The model's description, for seqrt_weights_load and workspace sizes.
  const seqrt_model &model() const { return desc_->model(); }
  // The `<prefix>_model` constant as compiled into the module: the same
  // content as model(), laid out by LLVM (tests compare the two).
  const seqrt_model *compiledModel() const { return compiledModel_; }
  // True when the code came from the cache (nothing was compiled).
  bool fromCache() const { return fromCache_; }

  // What linking a compiled object yields (Jit.cpp).
  using ForwardFn = int32_t (*)(const seqrt_weights *, const float *const *, float *, int64_t, seqrt_context *);
  struct Linked {
    std::unique_ptr<llvm::orc::LLJIT> jit;
    ForwardFn forward = nullptr;
    const seqrt_model *compiledModel = nullptr;
  };

private:
  JitModel() = default;

  std::unique_ptr<llvm::orc::LLJIT> jit_;
  std::unique_ptr<ModelDesc> desc_;
  ForwardFn forward_ = nullptr;
  const seqrt_model *compiledModel_ = nullptr;
  bool fromCache_ = false;
};

} // namespace seq::codegen
