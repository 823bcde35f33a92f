// Dtype.h: the safetensors element types, their sizes, and conversion of
// the floating-point ones to float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace seq::rt {

enum class Dtype {
  Bool, U8, I8, F8E5M2, F8E4M3, I16, U16, F16, BF16, I32, U32, F32, I64,
  U64, F64
};

// The dtype a safetensors header names ("F32", "BF16", ...), if any.
std::optional<Dtype> parseDtype(std::string_view name);
std::string_view dtypeName(Dtype dtype);
std::size_t dtypeSize(Dtype dtype);

// F32, F16, BF16 and F64: the dtypes weights may be stored in.
bool isConvertibleToFloat(Dtype dtype);

// Converts `count` little-endian elements of a convertible `dtype` at
// `src` (any alignment) to float32.
void convertToFloat(Dtype dtype, const std::byte *src, std::size_t count,
                    float *dst);

} // namespace seq::rt
