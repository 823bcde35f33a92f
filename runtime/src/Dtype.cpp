// Dtype.cpp: the dtype table and the F16/BF16/F64 -> F32 conversions.
#include "Dtype.h"

#include <array>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

namespace seq::rt {
namespace {

struct DtypeInfo {
  Dtype dtype;
  std::string_view name;
  std::size_t size;
};

// In the order of Dtype.
constexpr std::array<DtypeInfo, 15> kDtypes = {{
    {Dtype::Bool, "BOOL", 1},   {Dtype::U8, "U8", 1},
    {Dtype::I8, "I8", 1},       {Dtype::F8E5M2, "F8_E5M2", 1},
    {Dtype::F8E4M3, "F8_E4M3", 1}, {Dtype::I16, "I16", 2},
    {Dtype::U16, "U16", 2},     {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2},   {Dtype::I32, "I32", 4},
    {Dtype::U32, "U32", 4},     {Dtype::F32, "F32", 4},
    {Dtype::I64, "I64", 8},     {Dtype::U64, "U64", 8},
    {Dtype::F64, "F64", 8},
}};

const DtypeInfo &info(Dtype dtype) {
  return kDtypes[static_cast<std::size_t>(dtype)];
}

template <class Word> Word loadLittleEndian(const std::byte *src) {
  Word word = 0;
  for (std::size_t i = 0; i < sizeof(Word); ++i)
    word = static_cast<Word>(
        word | static_cast<Word>(std::to_integer<Word>(src[i]) << (8 * i)));
  return word;
}

// IEEE binary16 -> binary32, exact for every input (subnormals, infinities,
// NaNs with their payload).
float halfToFloat(std::uint16_t half) {
  std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  std::uint32_t exponent = (half >> 10) & 0x1Fu;
  std::uint32_t mantissa = half & 0x3FFu;
  if (exponent == 0) { // zero or subnormal: mantissa * 2^-24
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1F) // infinity or NaN
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) |
                              (mantissa << 13));
}

template <class Word, class Decode>
void convertEach(const std::byte *src, std::size_t count, float *dst,
                 Decode decode) {
  for (std::size_t i = 0; i < count; ++i)
    dst[i] = decode(loadLittleEndian<Word>(src + i * sizeof(Word)));
}

} // namespace

std::optional<Dtype> parseDtype(std::string_view name) {
  for (const DtypeInfo &entry : kDtypes)
    if (entry.name == name)
      return entry.dtype;
  return std::nullopt;
}

std::string_view dtypeName(Dtype dtype) { return info(dtype).name; }

std::size_t dtypeSize(Dtype dtype) { return info(dtype).size; }

bool isConvertibleToFloat(Dtype dtype) {
  return dtype == Dtype::F32 || dtype == Dtype::F16 || dtype == Dtype::BF16 ||
         dtype == Dtype::F64;
}

void convertToFloat(Dtype dtype, const std::byte *src, std::size_t count,
                    float *dst) {
  switch (dtype) {
  case Dtype::F32:
    return convertEach<std::uint32_t>(src, count, dst, [](std::uint32_t word) {
      return std::bit_cast<float>(word);
    });
  case Dtype::F16:
    return convertEach<std::uint16_t>(src, count, dst, halfToFloat);
  case Dtype::BF16:
    return convertEach<std::uint16_t>(src, count, dst, [](std::uint16_t word) {
      return std::bit_cast<float>(static_cast<std::uint32_t>(word) << 16);
    });
  case Dtype::F64:
    return convertEach<std::uint64_t>(src, count, dst, [](std::uint64_t word) {
      return static_cast<float>(std::bit_cast<double>(word));
    });
  default:
    throw std::logic_error("convertToFloat: dtype " +
                           std::string(dtypeName(dtype)) + " is not a float");
  }
}

} // namespace seq::rt
