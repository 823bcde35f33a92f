// Forward.cpp: seqrt_forward_begin, the argument checks every generated
// forward function starts with. The common path (valid arguments) costs a
// few compares: a NULL test per pointer, one fingerprint compare and a
// name compare for the weights, the workspace size.
#include "Context.h"
#include "Model.h"
#include "Status.h"
#include "Text.h"
#include "Weights.h"

#include <cstring>
#include <string>

namespace seq::rt {
namespace {

std::string inputName(const seqrt_model &model, int32_t i) {
  if (model.inputs && model.inputs[i].name)
    return quoted(model.inputs[i].name);
  return "input " + std::to_string(i);
}

void requireArguments(const seqrt_model &model, const float *const *inputs,
                      const float *output, int64_t batch,
                      const seqrt_context *ctx) {
  auto fail = [&](const std::string &what) {
    throw Error(SEQRT_ERR_ARGUMENT, describeModel(model) + ": " + what);
  };
  if (ctx == nullptr)
    fail("the context 'ctx' is NULL (create one with seqrt_context_new)");
  if (output == nullptr)
    fail("the output is NULL");
  for (int32_t i = 0; i < model.num_inputs; ++i)
    if (inputs == nullptr || inputs[i] == nullptr)
      fail("the input " + inputName(model, i) + " is NULL");
  if (ctx->magic != seqrt_context::kMagic)
    fail("'ctx' is not a live seqrt_context (freed, or another pointer)");
  if (batch < 0)
    fail("the batch " + std::to_string(batch) + " is negative");
}

bool sameModel(const seqrt_weights &weights, const seqrt_model &model) {
  return weights.fingerprint == model.fingerprint &&
         std::strcmp(weights.modelName.c_str(), model.name) == 0;
}

// The weights buffer the call uses.
const float *chooseWeights(const seqrt_model &model,
                           const seqrt_weights *weights,
                           const float *embedded) {
  if (weights == nullptr) {
    if (embedded == nullptr && model.packed_size > 0)
      throw Error(SEQRT_ERR_ARGUMENT,
                  describeModel(model) +
                      ": the weights are NULL, and none are compiled in "
                      "(load them with seqrt_weights_load)");
    return embedded;
  }
  if (weights->magic != seqrt_weights::kMagic)
    throw Error(SEQRT_ERR_ARGUMENT,
                describeModel(model) +
                    ": 'weights' is not a live seqrt_weights handle (freed, "
                    "or another pointer such as seqrt_weights_data())");
  if (!sameModel(*weights, model)) {
    bool sameName = weights->modelName == model.name;
    throw Error(SEQRT_ERR_WEIGHTS,
                "the weights were loaded for model " +
                    quoted(weights->modelName) +
                    (sameName ? " with another parameter table" : "") +
                    ", not for " + describeModel(model) +
                    (sameName ? " as built (parameter fingerprints differ)"
                              : ""));
  }
  return reinterpret_cast<const float *>(weights->packed.data());
}

void checkBatch(const seqrt_model &model, int64_t batch) {
  if (model.fixed_batch > 0 && batch != model.fixed_batch)
    throw Error(SEQRT_ERR_BATCH,
                describeModel(model) + " has the fixed batch " +
                    std::to_string(model.fixed_batch) + ", not " +
                    std::to_string(batch));
  if (batch > model.max_batch)
    throw Error(SEQRT_ERR_BATCH,
                describeModel(model) + ": the batch " +
                    std::to_string(batch) + " is above its maximum " +
                    std::to_string(model.max_batch) +
                    " (the sizes would overflow)");
}

void *workspaceFor(const seqrt_model &model, int64_t batch,
                   seqrt_context &ctx) {
  int64_t bytes = seqrt_workspace_size(&model, batch);
  if (bytes < 0)
    throw Error(SEQRT_ERR_BATCH, describeModel(model) + ": the workspace "
                                                        "for batch " +
                                     std::to_string(batch) + " overflows");
  if (static_cast<uint64_t>(bytes) > ctx.workspace.size())
    throw Error(SEQRT_ERR_WORKSPACE,
                describeModel(model) + ": batch " + std::to_string(batch) +
                    " needs " + std::to_string(bytes) +
                    " bytes of workspace, the context has " +
                    std::to_string(ctx.workspace.size()) +
                    " (seqrt_context_reserve)");
  return ctx.workspace.data();
}

} // namespace
} // namespace seq::rt

using namespace seq::rt;

extern "C" seqrt_status
seqrt_forward_begin(const seqrt_model *model, const seqrt_weights *weights,
                    const float *embedded, const float *const *inputs,
                    const float *output, int64_t batch, seqrt_context *ctx,
                    const float **packed, void **workspace) {
  return guarded([&] {
    requireArgument(model, "model");
    requireArgument(packed, "packed");
    requireArgument(workspace, "workspace");
    if (model->abi_version != SEQRT_ABI_VERSION)
      throw Error(SEQRT_ERR_ABI, abiMismatch(model->abi_version));
    requireArguments(*model, inputs, output, batch, ctx);
    *packed = chooseWeights(*model, weights, embedded);
    checkBatch(*model, batch);
    *workspace = batch == 0 ? nullptr : workspaceFor(*model, batch, *ctx);
    beginForward(*ctx, batch == 0 ? nullptr : model, batch); // (batch 0: no call follows)
    return SEQRT_OK;
  });
}
