// Npy: the .npy format, versions 1 to 3: magic, version, header length,
// a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (…)},
// then the raw array.
#include "tools/Npy.h"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace seq::tools {

namespace {

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0x1F)
    bits = sign | 0x7F800000 | (mantissa << 13);
  else if (exponent != 0)
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  else if (mantissa == 0)
    bits = sign;
  else {
    int e = -1;
    do {
      ++e;
      mantissa <<= 1;
    } while (!(mantissa & 0x400));
    bits = sign | (uint32_t(112 - e) << 23) | ((mantissa & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

} // namespace

std::optional<NpyArray> readNpy(const std::string &path, std::string &error) {
  auto fail = [&](std::string message) {
    error = fmt::format("'{}': {}", path, message);
    return std::nullopt;
  };
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return fail("not a .npy file (no NumPy magic)");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLength, offset;
  if (major == 1) {
    headerLength = static_cast<unsigned char>(bytes[8]) | size_t(static_cast<unsigned char>(bytes[9])) << 8;
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail("truncated header");
    headerLength = 0;
    for (int i = 0; i < 4; ++i)
      headerLength |= size_t(static_cast<unsigned char>(bytes[8 + size_t(i)])) << (8 * i);
    offset = 12;
  } else {
    return fail(fmt::format("unsupported .npy version {}", major));
  }
  if (headerLength > bytes.size() - offset)
    return fail(fmt::format("header length {} exceeds the file size", headerLength));
  std::string header = bytes.substr(offset, headerLength);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([<>|=]?)([a-z])(\d+)')")))
    return fail("no 'descr' in the header");
  std::string order = m[1], kind = m[2];
  int size = std::stoi(m[3]);
  bool isFloat = kind == "f" && (size == 4 || size == 8 || size == 2);
  if (!isFloat)
    return fail(fmt::format("dtype '{}{}{}' is not a float type (float32 expected)", order, kind, size));
  if (order == ">")
    return fail("big-endian arrays are not supported");
  if (std::regex_search(header, std::regex(R"('fortran_order'\s*:\s*True)")))
    return fail("Fortran-order arrays are not supported; save a C-contiguous array");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
    return fail("no 'shape' in the header");
  NpyArray array;
  std::string dims = m[1];
  int64_t count = 1;
  static const std::regex number(R"(\d+)");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    int64_t d;
    try {
      d = std::stoll(it->str());
    } catch (...) {
      return fail("a dimension is too large");
    }
    if (__builtin_mul_overflow(count, d, &count))
      return fail("the array's size overflows");
    array.shape.push_back(d);
  }
  size_t dataStart = offset + headerLength;
  if (uint64_t(count) > (bytes.size() - dataStart) / size_t(size))
    return fail(fmt::format("the array {} needs {} bytes of data, but the file has {}",
                            fmt::format("[{}]", fmt::join(array.shape, ", ")),
                            uint64_t(count) * uint64_t(size), bytes.size() - dataStart));
  array.data.resize(size_t(count));
  const char *p = bytes.data() + dataStart;
  for (int64_t i = 0; i < count; ++i) {
    if (size == 4) {
      std::memcpy(&array.data[size_t(i)], p + 4 * i, 4);
    } else if (size == 8) {
      double d;
      std::memcpy(&d, p + 8 * i, 8);
      array.data[size_t(i)] = float(d);
    } else {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      array.data[size_t(i)] = halfToFloat(h);
    }
  }
  return array;
}

bool writeNpy(const std::string &path, const std::vector<int64_t> &shape, const float *data,
              std::string &error) {
  std::string dims;
  int64_t count = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ", ";
    count *= d;
  }
  if (shape.size() > 1)
    dims.resize(dims.size() - 1); // "(3, 4)" but "(3,)"
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string tmp = path + ".tmp-seqc";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      error = fmt::format("cannot write '{}': {}", path, std::strerror(errno));
      return false;
    }
    out.write("\x93NUMPY\x01\x00", 8);
    char length[2] = {char(header.size() & 0xFF), char(header.size() >> 8)};
    out.write(length, 2);
    out.write(header.data(), std::streamsize(header.size()));
    out.write(reinterpret_cast<const char *>(data), std::streamsize(count * 4));
    if (!out) {
      error = fmt::format("cannot write '{}'", path);
      std::filesystem::remove(tmp);
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    error = fmt::format("cannot write '{}': {}", path, ec.message());
    std::filesystem::remove(tmp);
    return false;
  }
  return true;
}

} // namespace seq::tools
