// WeightsFile.h: a weights file of either format seqc reads, as one list
// of named tensors: a safetensors file, or the zip file torch.save writes
// (told apart by their first bytes, not by the file's extension).
#pragma once

#include "Dtype.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace seq::rt {

struct WeightsTensor {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::uint64_t> shape;
  std::span<const std::byte> bytes; // C order, little-endian, checked size
};

class WeightsFile {
public:
  enum class Format { Safetensors, TorchZip };

  // Parses and validates `image`; `name` names the file in messages.
  // Throws Error (SEQRT_ERR_FORMAT, or SEQRT_ERR_DTYPE for a dtype the
  // format does not define). The image must outlive the result.
  static WeightsFile parse(std::span<const std::byte> image, std::string name);

  // `owned` holds the bytes of tensors that had to be gathered (views
  // that are not contiguous); tensors may point into it.
  WeightsFile(std::string name, Format format, std::vector<WeightsTensor> tensors,
              std::vector<std::vector<std::byte>> owned = {});

  const std::string &name() const { return name_; }
  Format format() const { return format_; }
  // In the order of the file.
  const std::vector<WeightsTensor> &tensors() const { return tensors_; }

  // Removes `prefix` from the front of every name that starts with it;
  // returns how many did. Throws Error(SEQRT_ERR_FORMAT) when two tensors
  // would then share a name.
  std::size_t stripPrefix(std::string_view prefix);

private:
  std::string name_;
  Format format_;
  std::vector<WeightsTensor> tensors_;
  std::vector<std::vector<std::byte>> owned_;
};

// "PK\3\4" (or an empty zip's "PK\5\6"): a zip file, as torch.save writes.
bool isZipImage(std::span<const std::byte> image);

// A safetensors image of `file`'s tensors, in its order and dtypes (and
// safetensors.torch's {"format": "pt"} metadata).
std::string encodeSafetensors(const WeightsFile &file);

} // namespace seq::rt
