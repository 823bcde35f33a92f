// Weights.cpp: loading weights from a safetensors or torch.save file or
// image (validate, match against the model, convert to float32, pack) and
// checking a file without loading it.
#include "Weights.h"

#include "MappedFile.h"
#include "Match.h"
#include "Model.h"
#include "Pack.h"
#include "Status.h"
#include "Text.h"
#include "WeightsFile.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seq::rt {
namespace {

constexpr const char *kMemoryImageName = "<memory>";

// The float32 values of one tensor: borrowed from the image when it
// already holds aligned little-endian F32, converted otherwise.
class FloatTensor {
public:
  explicit FloatTensor(const WeightsTensor &tensor) {
    std::span<const std::byte> bytes = tensor.bytes;
    const std::size_t count = bytes.size() / dtypeSize(tensor.dtype);
    if (tensor.dtype == Dtype::F32 &&
        std::endian::native == std::endian::little &&
        reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(float) == 0) {
      data_ = reinterpret_cast<const float *>(bytes.data());
      return;
    }
    converted_.resize(count);
    convertToFloat(tensor.dtype, bytes.data(), count, converted_.data());
    data_ = converted_.data(); // stays valid when moved: vectors move their buffer
  }

  const float *data() const { return data_; }

private:
  const float *data_ = nullptr;
  std::vector<float> converted_;
};

// The model's parameters in float32, in the order of model.params. The
// file matched the model without errors.
std::vector<FloatTensor> readParams(const seqrt_model &model,
                                    const WeightsFile &file) {
  std::unordered_map<std::string_view, const WeightsTensor *> byName;
  for (const WeightsTensor &tensor : file.tensors())
    byName.emplace(tensor.name, &tensor);
  std::vector<FloatTensor> params;
  params.reserve(model.num_params);
  for (const seqrt_tensor_desc &param : paramsOf(model)) {
    params.emplace_back(*byName.at(param.name));
  }
  return params;
}

// The file in `image`, its names stripped of `stripPrefix` (may be NULL).
WeightsFile parseFile(std::span<const std::byte> image, const char *name,
                      const char *stripPrefix) {
  WeightsFile file = WeightsFile::parse(image, name);
  if (stripPrefix != nullptr)
    file.stripPrefix(stripPrefix);
  return file;
}

AlignedBuffer loadImage(const seqrt_model &model,
                        std::span<const std::byte> image, const char *name,
                        const char *stripPrefix = nullptr) {
  WeightsFile file = parseFile(image, name, stripPrefix);
  throwIfErrors(matchModel(model, file));
  std::vector<FloatTensor> params = readParams(model, file);
  std::vector<const float *> pointers;
  for (const FloatTensor &param : params)
    pointers.push_back(param.data());
  return packWeights(model, pointers.data());
}

// Every problem of the image as the weights of `model`: one FORMAT or
// DTYPE problem when the image itself is malformed.
std::vector<Problem> checkImage(const seqrt_model &model,
                                std::span<const std::byte> image,
                                const char *name, const char *stripPrefix) {
  try {
    return matchModel(model, parseFile(image, name, stripPrefix));
  } catch (const Error &error) {
    return {problemFromError(error)};
  }
}

} // namespace

void validateModel(const seqrt_model *model) {
  validateParams(model);
  validateFingerprint(*model);
  validatePackSteps(*model);
}

void publishWeights(const seqrt_model &model, AlignedBuffer packed,
                    seqrt_weights **out) {
  *out = new seqrt_weights(std::move(packed), model.name, model.fingerprint);
}

} // namespace seq::rt

using namespace seq::rt;

extern "C" seqrt_status seqrt_weights_load(const seqrt_model *model,
                                           const char *path,
                                           seqrt_weights **out) {
  return seqrt_weights_load_strip(model, path, nullptr, out);
}

extern "C" seqrt_status seqrt_weights_load_strip(const seqrt_model *model,
                                                 const char *path,
                                                 const char *strip_prefix,
                                                 seqrt_weights **out) {
  return guarded([&] {
    requireArgument(out, "out");
    *out = nullptr;
    validateModel(model);
    requireArgument(path, "path");
    MappedFile file(path);
    publishWeights(*model, loadImage(*model, file.bytes(), path, strip_prefix), out);
    return SEQRT_OK;
  });
}

extern "C" seqrt_status seqrt_weights_load_memory(const seqrt_model *model,
                                                  const void *data,
                                                  size_t size,
                                                  seqrt_weights **out) {
  return guarded([&] {
    requireArgument(out, "out");
    *out = nullptr;
    validateModel(model);
    if (size > 0)
      requireArgument(data, "data");
    std::span<const std::byte> image(static_cast<const std::byte *>(data), size);
    publishWeights(*model, loadImage(*model, image, kMemoryImageName), out);
    return SEQRT_OK;
  });
}

extern "C" seqrt_status seqrt_weights_check(const seqrt_model *model,
                                            const char *path,
                                            seqrt_problem_fn report,
                                            void *user) {
  return seqrt_weights_check_strip(model, path, nullptr, report, user);
}

extern "C" seqrt_status seqrt_weights_check_strip(const seqrt_model *model,
                                                  const char *path,
                                                  const char *strip_prefix,
                                                  seqrt_problem_fn report,
                                                  void *user) {
  return guarded([&] {
    validateParams(model);
    requireArgument(path, "path");
    MappedFile file(path);
    std::vector<Problem> problems =
        checkImage(*model, file.bytes(), path, strip_prefix);
    if (report != nullptr)
      for (const Problem &problem : problems)
        report(user, problem.kind, problem.tensor.c_str(),
               problem.message.c_str());
    throwIfErrors(problems);
    return SEQRT_OK;
  });
}

extern "C" seqrt_status seqrt_weights_from_packed(const seqrt_model *model,
                                                  const float *packed,
                                                  size_t count,
                                                  seqrt_weights **out) {
  return guarded([&] {
    requireArgument(out, "out");
    *out = nullptr;
    validateModel(model);
    if (count != static_cast<std::uint64_t>(model->packed_size))
      throw Error(SEQRT_ERR_ARGUMENT,
                  "model " + quoted(model->name) + " packs " +
                      std::to_string(model->packed_size) +
                      " floats, but " + std::to_string(count) + " were given");
    if (count > 0)
      requireArgument(packed, "packed");
    AlignedBuffer buffer(count * sizeof(float));
    if (count > 0)
      std::memcpy(buffer.data(), packed, count * sizeof(float));
    publishWeights(*model, std::move(buffer), out);
    return SEQRT_OK;
  });
}

extern "C" const char *
seqrt_weights_model_name(const seqrt_weights *weights) {
  return weights ? weights->modelName.c_str() : "";
}

extern "C" const float *seqrt_weights_data(const seqrt_weights *weights) {
  return weights ? reinterpret_cast<const float *>(weights->packed.data())
                 : nullptr;
}

extern "C" void seqrt_weights_free(seqrt_weights *weights) { delete weights; }
