// Safetensors.h: parsing and complete validation of a safetensors image.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON mapping
// each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
// (plus an optional "__metadata__" object of strings), then the data
// buffer, which the tensors must tile exactly. Nothing in the image is
// trusted: a parsed file's entries all lie inside its data buffer.
#pragma once

#include "Dtype.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace seq::rt {

struct TensorEntry {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0; // byte offsets into the data buffer
  std::uint64_t end = 0;
};

class SafetensorsFile {
public:
  // Validates `image`; `name` is the file's name in messages. Throws
  // Error: SEQRT_ERR_FORMAT for a malformed image, SEQRT_ERR_DTYPE for a
  // dtype that safetensors does not define. The image must outlive the
  // result.
  static SafetensorsFile parse(std::span<const std::byte> image,
                               std::string name);

  const std::string &name() const { return name_; }
  // In the order of the header.
  const std::vector<TensorEntry> &tensors() const { return tensors_; }
  std::span<const std::byte> bytesOf(const TensorEntry &tensor) const {
    return data_.subspan(tensor.begin, tensor.end - tensor.begin);
  }

private:
  std::string name_;
  std::vector<TensorEntry> tensors_;
  std::span<const std::byte> data_;
};

} // namespace seq::rt
