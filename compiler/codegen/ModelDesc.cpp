// ModelDesc: the graph's inputs, output, parameter table and pack steps
// as a seqrt_model.
#include "codegen/ModelDesc.h"

#include <algorithm>
#include <limits>

namespace seq::codegen {

using llvm::createStringError;
using llvm::inconvertibleErrorCode;

const char *ModelDesc::intern(std::string text) {
  strings_.push_back(std::move(text));
  return strings_.back().c_str();
}

llvm::Expected<seqrt_tensor_desc> ModelDesc::tensor(std::string name, const std::vector<int64_t> &dims) {
  if (dims.size() > SEQRT_MAX_RANK)
    return createStringError(inconvertibleErrorCode(), "tensor '%s' has rank %zu; at most %d is supported",
                             name.c_str(), dims.size(), SEQRT_MAX_RANK);
  seqrt_tensor_desc desc{};
  desc.name = intern(std::move(name));
  desc.rank = int32_t(dims.size());
  for (size_t i = 0; i < dims.size(); ++i)
    desc.dims[i] = dims[i]; // ir::kBatch is -1, as seqrt spells the batch
  return desc;
}

namespace {

llvm::Expected<int64_t> packedOffset(const ir::Graph &graph, int packed) {
  if (packed < 0)
    return -1;
  if (size_t(packed) >= graph.packed.size() || graph.packed[size_t(packed)].offset < 0)
    return createStringError(inconvertibleErrorCode(),
                             "internal compiler error: packed tensor %d has no place in the weight buffer",
                             packed);
  return graph.packed[size_t(packed)].offset;
}

// a * b, saturated at INT64_MAX for non-negative operands.
int64_t saturatingMul(int64_t a, int64_t b) {
  int64_t product;
  return __builtin_mul_overflow(a, b, &product) ? std::numeric_limits<int64_t>::max() : product;
}

} // namespace

int64_t maxBatch(const ir::Graph &graph, unsigned pointerBits) {
  int64_t limit = pointerBits >= 64 ? std::numeric_limits<int64_t>::max() : (int64_t(1) << (pointerBits - 1)) - 1;
  int64_t perBatch = std::max<int64_t>(1, graph.callWorkspacePerBatch()),
          fixed = std::max<int64_t>(0, graph.callWorkspaceFixed());
  for (const ir::Value &v : graph.values)
    if (v.shape.batched())
      perBatch = std::max(perBatch, saturatingMul(v.shape.elementsPerBatch(), int64_t(sizeof(float))));
    else
      fixed = std::max(fixed, saturatingMul(v.shape.elementsPerBatch(), int64_t(sizeof(float))));
  for (const ir::Scratch &s : graph.scratch) {
    perBatch = std::max(perBatch, s.bytesPerBatch);
    fixed = std::max(fixed, s.bytesFixed);
  }
  int64_t batches = fixed >= limit ? 0 : (limit - fixed) / perBatch;
  if (graph.fixedBatch > 0)
    return graph.fixedBatch <= batches ? graph.fixedBatch : 0;
  return batches;
}

llvm::Expected<std::unique_ptr<ModelDesc>> ModelDesc::create(const ir::Graph &graph, unsigned pointerBits) {
  std::unique_ptr<ModelDesc> desc(new ModelDesc());
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    std::string name = i < graph.inputNames.size() ? graph.inputNames[i] : graph.value(graph.inputs[i]).name;
    auto input = desc->tensor(name, graph.value(graph.inputs[i]).shape.dims);
    if (!input)
      return input.takeError();
    desc->inputs_.push_back(*input);
  }
  auto output = desc->tensor("output", graph.value(graph.output).shape.dims);
  if (!output)
    return output.takeError();
  desc->output_ = *output;
  for (const ir::Param &param : graph.params) {
    auto p = desc->tensor(param.name, param.shape);
    if (!p)
      return p.takeError();
    desc->params_.push_back(*p);
  }
  for (const ir::PackStep &step : graph.packSteps) {
    seqrt_pack_step s{};
    s.op = int32_t(step.op);
    s.transpose = step.transpose;
    for (int i = 0; i < 6; ++i)
      s.src[i] = step.src[i];
    auto dst = packedOffset(graph, step.out), dst2 = packedOffset(graph, step.out2);
    if (!dst)
      return dst.takeError();
    if (!dst2)
      return dst2.takeError();
    s.dst = *dst;
    s.dst2 = *dst2;
    s.rows = step.rows;
    s.cols = step.cols;
    s.eps = step.eps;
    desc->steps_.push_back(s);
  }

  seqrt_model &m = desc->model_;
  m.abi_version = SEQRT_ABI_VERSION;
  m.name = desc->intern(graph.modelName);
  m.prefix = desc->intern(graph.symbolPrefix);
  m.num_inputs = int32_t(desc->inputs_.size());
  m.inputs = desc->inputs_.empty() ? nullptr : desc->inputs_.data();
  m.output = &desc->output_;
  m.num_params = int32_t(desc->params_.size());
  m.params = desc->params_.empty() ? nullptr : desc->params_.data();
  m.packed_size = graph.packedSize;
  m.num_pack_steps = int32_t(desc->steps_.size());
  m.pack_steps = desc->steps_.empty() ? nullptr : desc->steps_.data();
  m.workspace_fixed = graph.callWorkspaceFixed();
  m.workspace_per_batch = graph.callWorkspacePerBatch();
  m.max_batch = maxBatch(graph, pointerBits);
  m.fixed_batch = graph.fixedBatch;
  m.fingerprint = seqrt_model_fingerprint(&m);
  return desc;
}

} // namespace seq::codegen
