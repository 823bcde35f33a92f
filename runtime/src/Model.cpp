// Model.cpp: validation of a model's description (ABI version, parameter
// table, fingerprint), seqrt_workspace_size and seqrt_model_fingerprint.
#include "Model.h"

#include "Status.h"
#include "Text.h"

#include <cstdio>
#include <string>

namespace seq::rt {

std::span<const seqrt_tensor_desc> paramsOf(const seqrt_model &model) {
  return {model.params, static_cast<std::size_t>(model.num_params)};
}

std::span<const std::int64_t> dimsOf(const seqrt_tensor_desc &param) {
  return {param.dims, static_cast<std::size_t>(param.rank)};
}

std::int64_t elementCount(const seqrt_tensor_desc &param) {
  std::int64_t count = 1;
  for (std::int64_t dim : dimsOf(param))
    count *= dim;
  return count;
}

namespace {

// 64-bit FNV-1a over the bytes of every value fed to it.
class Fnv1a {
public:
  template <class T> void add(const T &value) {
    const auto *bytes = reinterpret_cast<const unsigned char *>(&value);
    for (std::size_t i = 0; i < sizeof(T); ++i)
      byte(bytes[i]);
  }
  void addString(const char *text) {
    for (; text && *text; ++text)
      byte(static_cast<unsigned char>(*text));
    byte(0);
  }
  std::uint64_t value() const { return hash_; }

private:
  void byte(unsigned char b) {
    hash_ ^= b;
    hash_ *= 0x100000001b3ull;
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ull;
};

std::string hex(std::uint64_t value) {
  char text[19];
  std::snprintf(text, sizeof text, "0x%016llx",
                static_cast<unsigned long long>(value));
  return text;
}

} // namespace

std::string abiMismatch(std::int32_t version) {
  // Version 1 descriptions began with the name pointer, not a version.
  std::string which =
      version >= 2 && version < 1000
          ? "seqrt ABI version " + std::to_string(version)
          : "a seqrt ABI older than version 2 (which recorded no version)";
  return "the model was compiled for " + which +
         ", but this libseqrt implements version " +
         std::to_string(SEQRT_ABI_VERSION) +
         ": rebuild it with the seqc of this libseqrt";
}

std::string describeModel(const seqrt_model &model) {
  std::string text = "model " + quoted(model.name ? model.name : "?");
  if (model.prefix && *model.prefix)
    text += std::string(" (") + model.prefix + "_forward)";
  return text;
}

void validateFingerprint(const seqrt_model &model) {
  std::uint64_t actual = seqrt_model_fingerprint(&model);
  if (model.fingerprint != actual)
    throw Error(SEQRT_ERR_INTERNAL,
                describeModel(model) + " records the fingerprint " +
                    hex(model.fingerprint) + ", but its parameter table has " +
                    hex(actual) + ": the description is corrupt");
}

void validateParams(const seqrt_model *model) {
  requireArgument(model, "model");
  if (model->abi_version != SEQRT_ABI_VERSION)
    throw Error(SEQRT_ERR_ABI, abiMismatch(model->abi_version));
  if (model->name == nullptr)
    throw Error(SEQRT_ERR_INTERNAL, "the model has no name");
  if (model->num_params < 0 || (model->num_params > 0 && !model->params))
    throw Error(SEQRT_ERR_INTERNAL, "the model's parameter table is invalid");
  for (int32_t i = 0; i < model->num_params; ++i) {
    const seqrt_tensor_desc &param = model->params[i];
    std::string where = "parameter " + std::to_string(i);
    if (param.name == nullptr)
      throw Error(SEQRT_ERR_INTERNAL, where + " of the model has no name");
    if (param.rank < 0 || param.rank > SEQRT_MAX_RANK)
      throw Error(SEQRT_ERR_INTERNAL, "parameter " + quoted(param.name) +
                                          " has rank " +
                                          std::to_string(param.rank));
    std::int64_t count = 1;
    for (std::int64_t dim : dimsOf(param))
      if (dim < 0 || __builtin_mul_overflow(count, dim, &count))
        throw Error(SEQRT_ERR_INTERNAL, "parameter " + quoted(param.name) +
                                            " has an invalid shape " +
                                            formatShape(dimsOf(param)));
  }
}

} // namespace seq::rt

extern "C" int64_t seqrt_workspace_size(const seqrt_model *model,
                                        int64_t batch) {
  using seq::rt::setLastError;
  if (model == nullptr) {
    setLastError("seqrt_workspace_size: argument 'model' is NULL");
    return -1;
  }
  int64_t perBatch = 0, total = 0;
  if (batch < 0 || model->workspace_fixed < 0 ||
      model->workspace_per_batch < 0 ||
      __builtin_mul_overflow(model->workspace_per_batch, batch, &perBatch) ||
      __builtin_add_overflow(model->workspace_fixed, perBatch, &total)) {
    setLastError("seqrt_workspace_size: the workspace of " +
                 seq::rt::describeModel(*model) + " for batch " +
                 std::to_string(batch) +
                 (batch < 0 ? " (negative)" : " overflows int64_t"));
    return -1;
  }
  return total;
}

extern "C" uint64_t seqrt_model_fingerprint(const seqrt_model *model) {
  if (model == nullptr)
    return 0;
  seq::rt::Fnv1a hash;
  hash.add(model->num_params);
  for (int32_t i = 0; i < model->num_params && model->params; ++i) {
    const seqrt_tensor_desc &param = model->params[i];
    hash.addString(param.name);
    hash.add(param.rank);
    for (int32_t d = 0; d < param.rank && d < SEQRT_MAX_RANK; ++d)
      hash.add(param.dims[d]);
  }
  hash.add(model->packed_size);
  hash.add(model->num_pack_steps);
  for (int32_t i = 0; i < model->num_pack_steps && model->pack_steps; ++i) {
    const seqrt_pack_step &step = model->pack_steps[i];
    hash.add(step.op);
    hash.add(step.transpose);
    for (int32_t src : step.src)
      hash.add(src);
    hash.add(step.dst);
    hash.add(step.dst2);
    hash.add(step.rows);
    hash.add(step.cols);
    hash.add(step.eps);
  }
  return hash.value();
}
