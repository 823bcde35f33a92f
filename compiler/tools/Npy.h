// Npy: NumPy .npy files for `seqc run`: float32 (float64 and float16 are
// converted), C order. Every header field is checked before data is read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seq::tools {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Parses the bytes of a .npy file; on failure returns nullopt and sets
// `error` (without a file name).
std::optional<NpyArray> parseNpy(std::string_view bytes, std::string &error);

// Reads `path`; on failure returns nullopt and sets `error` (naming the file).
std::optional<NpyArray> readNpy(const std::string &path, std::string &error);

// Writes float32 data atomically (a temporary file renamed into place).
bool writeNpy(const std::string &path, const std::vector<int64_t> &shape, const float *data,
              std::string &error);

} // namespace seq::tools
