// runtime_test_support.h: helpers for libseqrt's unit tests: safetensors
// images built byte by byte in memory, model descriptions, temp files.
#pragma once

#include "seqrt.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace seqrt_test {

// Little-endian bytes of trivially copyable values (the test hosts are
// little-endian, as the format is).
template <class T> std::string bytesOf(const std::vector<T> &values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

inline std::string lengthPrefix(std::uint64_t length) {
  return bytesOf(std::vector<std::uint64_t>{length});
}

// A safetensors image from a header and a data buffer, exactly as given.
inline std::string rawImage(std::string_view header, std::string_view data = "") {
  return lengthPrefix(header.size()) + std::string(header) + std::string(data);
}

struct TensorSpec {
  std::string name;
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::string bytes;
};

inline std::string shapeJson(const std::vector<std::uint64_t> &shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

// A well-formed image: tensors laid out in order, the header padded with
// spaces to a multiple of 8 bytes as the reference writer does.
inline std::string buildImage(const std::vector<TensorSpec> &tensors) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  std::string data;
  for (const TensorSpec &tensor : tensors) {
    header += ",\"" + tensor.name + "\":{\"dtype\":\"" + tensor.dtype +
              "\",\"shape\":" + shapeJson(tensor.shape) +
              ",\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + tensor.bytes.size()) + "]}";
    data += tensor.bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  return rawImage(header, data);
}

inline TensorSpec f32Tensor(std::string name, std::vector<std::uint64_t> shape,
                            float first = 0.0f) {
  std::size_t count = 1;
  for (std::uint64_t dim : shape)
    count *= dim;
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i)
    values[i] = first + static_cast<float>(i);
  return {std::move(name), "F32", std::move(shape), bytesOf(values)};
}

// A model description that owns its strings and tables.
class ModelBuilder {
public:
  explicit ModelBuilder(std::string name = "TestNet") : name_(std::move(name)) {}

  ModelBuilder &param(std::string name, std::vector<std::int64_t> dims) {
    names_.push_back(std::move(name));
    seqrt_tensor_desc desc{};
    desc.rank = static_cast<std::int32_t>(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i)
      desc.dims[i] = dims[i];
    params_.push_back(desc);
    return *this;
  }

  ModelBuilder &step(const seqrt_pack_step &step) {
    steps_.push_back(step);
    return *this;
  }

  ModelBuilder &packedSize(std::int64_t size) {
    packedSize_ = size;
    return *this;
  }

  // One untransposed COPY per parameter, laid out one after another.
  ModelBuilder &copyEveryParam() {
    packedSize_ = 0;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      std::int64_t count = 1;
      for (std::int32_t d = 0; d < params_[i].rank; ++d)
        count *= params_[i].dims[d];
      seqrt_pack_step copy{};
      copy.op = SEQRT_PACK_COPY;
      copy.src[0] = static_cast<std::int32_t>(i);
      for (int s = 1; s < 6; ++s)
        copy.src[s] = -1;
      copy.dst = packedSize_;
      copy.rows = 1;
      copy.cols = count;
      steps_.push_back(copy);
      packedSize_ += count;
    }
    return *this;
  }

  const seqrt_model *model() {
    for (std::size_t i = 0; i < params_.size(); ++i)
      params_[i].name = names_[i].c_str();
    model_ = seqrt_model{};
    model_.abi_version = SEQRT_ABI_VERSION;
    model_.name = name_.c_str();
    model_.num_params = static_cast<std::int32_t>(params_.size());
    model_.params = params_.data();
    model_.packed_size = packedSize_;
    model_.num_pack_steps = static_cast<std::int32_t>(steps_.size());
    model_.pack_steps = steps_.data();
    model_.fingerprint = seqrt_model_fingerprint(&model_);
    return &model_;
  }

private:
  std::string name_;
  std::deque<std::string> names_;
  std::vector<seqrt_tensor_desc> params_;
  std::vector<seqrt_pack_step> steps_;
  std::int64_t packedSize_ = 0;
  seqrt_model model_{};
};

// `op` is a seqrt_pack_op, or an invalid value to test validation.
inline seqrt_pack_step packStep(std::int32_t op, std::vector<std::int32_t> src,
                                std::int64_t dst, std::int64_t dst2,
                                std::int64_t rows, std::int64_t cols,
                                bool transpose = false, float eps = 1e-5f) {
  seqrt_pack_step step{};
  step.op = op;
  step.transpose = transpose;
  for (int s = 0; s < 6; ++s)
    step.src[s] = s < static_cast<int>(src.size()) ? src[s] : -1;
  step.dst = dst;
  step.dst2 = dst2;
  step.rows = rows;
  step.cols = cols;
  step.eps = eps;
  return step;
}

struct WeightsFree {
  void operator()(seqrt_weights *weights) const { seqrt_weights_free(weights); }
};
using WeightsPtr = std::unique_ptr<seqrt_weights, WeightsFree>;

inline seqrt_status loadImage(const seqrt_model *model, const std::string &image,
                              WeightsPtr &weights) {
  seqrt_weights *raw = nullptr;
  seqrt_status status =
      seqrt_weights_load_memory(model, image.data(), image.size(), &raw);
  weights.reset(raw);
  return status;
}

inline std::vector<float> packedValues(const seqrt_model *model,
                                       const WeightsPtr &weights) {
  const float *data = seqrt_weights_data(weights.get());
  return {data, data + model->packed_size};
}

// A fresh directory, removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "seqrt-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }

  std::string write(const std::string &name, const std::string &contents) const {
    std::string path = (path_ / name).string();
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
  std::string path() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

} // namespace seqrt_test
