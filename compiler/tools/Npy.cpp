// Npy: the .npy format, versions 1 to 3: magic, version, header length,
// a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (…)},
// then the raw array.
#include "tools/Npy.h"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

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

// The header dict, parsed as the Python literal it is. Every field is
// checked: exactly 'descr', 'fortran_order' and 'shape', each once.
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  // Fills the fields or returns what is wrong.
  std::optional<std::string> parse(std::string &descr, bool &fortran, std::vector<int64_t> &shape) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    if (!eat('{'))
      return "the header is not a Python dict";
    while (!eat('}')) {
      std::optional<std::string> key = string();
      if (!key)
        return "a header key is not a string";
      if (!eat(':'))
        return fmt::format("no ':' after the header key '{}'", *key);
      if (*key == "descr" && !haveDescr) {
        std::optional<std::string> value = string();
        if (!value)
          return "'descr' is not a string";
        descr = *value;
        haveDescr = true;
      } else if (*key == "fortran_order" && !haveFortran) {
        if (word("True"))
          fortran = true;
        else if (word("False"))
          fortran = false;
        else
          return "'fortran_order' is not True or False";
        haveFortran = true;
      } else if (*key == "shape" && !haveShape) {
        if (std::optional<std::string> error = tuple(shape))
          return error;
        haveShape = true;
      } else {
        return fmt::format("unexpected or repeated header key '{}'", shorten(*key));
      }
      if (!eat(',') && !peek('}'))
        return "the header dict is malformed (',' or '}' expected)";
    }
    skipSpace();
    if (pos_ != text_.size())
      return "unexpected text after the header dict";
    if (!haveDescr || !haveFortran || !haveShape)
      return fmt::format("the header has no '{}'", !haveDescr ? "descr" : !haveFortran ? "fortran_order" : "shape");
    return std::nullopt;
  }

private:
  static std::string shorten(std::string s) { return s.size() > 40 ? s.substr(0, 40) + "..." : s; }

  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t'))
      ++pos_;
  }
  bool peek(char c) {
    skipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  bool eat(char c) {
    if (!peek(c))
      return false;
    ++pos_;
    return true;
  }
  bool word(std::string_view w) {
    skipSpace();
    if (text_.substr(pos_, w.size()) != w)
      return false;
    pos_ += w.size();
    return true;
  }
  // A quoted string without escapes (NumPy writes none in these fields).
  std::optional<std::string> string() {
    skipSpace();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
      return std::nullopt;
    char quote = text_[pos_];
    size_t close = text_.find(quote, pos_ + 1);
    if (close == std::string_view::npos)
      return std::nullopt;
    std::string value(text_.substr(pos_ + 1, close - pos_ - 1));
    if (value.find('\\') != std::string::npos)
      return std::nullopt;
    pos_ = close + 1;
    return value;
  }
  // (), (3,), (2, 3): non-negative decimal integers that fit in 63 bits.
  std::optional<std::string> tuple(std::vector<int64_t> &shape) {
    if (!eat('('))
      return "'shape' is not a tuple";
    while (!eat(')')) {
      skipSpace();
      if (pos_ < text_.size() && text_[pos_] == '-')
        return "'shape' has a negative dimension";
      size_t begin = pos_;
      int64_t value = 0;
      for (; pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; ++pos_)
        if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, text_[pos_] - '0', &value))
          return "a dimension in 'shape' is too large";
      if (pos_ == begin)
        return "'shape' is not a tuple of integers";
      if (shape.size() == kMaxDims)
        return fmt::format("'shape' has more than {} dimensions", kMaxDims);
      shape.push_back(value);
      if (!eat(',') && !peek(')'))
        return "'shape' is not a tuple of integers";
    }
    return std::nullopt;
  }

  static constexpr size_t kMaxDims = 32; // NumPy's own limit
  std::string_view text_;
  size_t pos_ = 0;
};

// '<f4', '=f8', '<f2' (and '|'/no order for one byte, never a float).
std::optional<std::string> checkDescr(const std::string &descr, size_t &size) {
  static constexpr std::string_view kLittle[] = {"<f2", "<f4", "<f8"};
  std::string shown = descr.size() > 20 ? descr.substr(0, 20) + "..." : descr;
  std::string normal = !descr.empty() && descr[0] == '=' ? "<" + descr.substr(1) : descr;
  for (std::string_view d : kLittle)
    if (normal == d) {
      size = size_t(d[2] - '0');
      return std::nullopt;
    }
  if (descr.size() == 3 && descr[0] == '>' && descr[1] == 'f')
    return "big-endian arrays are not supported";
  return fmt::format("dtype '{}' is not a float type (float32 expected; float64 and float16 are converted)",
                     shown);
}

void convert(const char *p, size_t size, std::vector<float> &out) {
  for (size_t i = 0; i < out.size(); ++i) {
    if (size == 4) {
      std::memcpy(&out[i], p + 4 * i, 4);
    } else if (size == 8) {
      double d;
      std::memcpy(&d, p + 8 * i, 8);
      out[i] = float(d);
    } else {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = halfToFloat(h);
    }
  }
}

} // namespace

std::optional<NpyArray> parseNpy(std::string_view bytes, std::string &error) {
  auto fail = [&](std::string message) {
    error = std::move(message);
    return std::nullopt;
  };
  if (bytes.size() < 10 || bytes.substr(0, 6) != "\x93NUMPY")
    return fail("not a .npy file (no NumPy magic)");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLength = 0, offset = major == 1 ? 10 : 12;
  if (major < 1 || major > 3)
    return fail(fmt::format("unsupported .npy version {}", major));
  if (bytes.size() < offset)
    return fail("truncated header");
  for (size_t i = 8; i < offset; ++i)
    headerLength |= size_t(static_cast<unsigned char>(bytes[i])) << (8 * (i - 8));
  if (headerLength > bytes.size() - offset)
    return fail(fmt::format("header length {} exceeds the file size", headerLength));
  std::string descr;
  bool fortran = false;
  NpyArray array;
  HeaderParser header(bytes.substr(offset, headerLength));
  if (std::optional<std::string> bad = header.parse(descr, fortran, array.shape))
    return fail("bad header: " + *bad);
  size_t size = 0;
  if (std::optional<std::string> bad = checkDescr(descr, size))
    return fail(*bad);
  if (fortran && array.shape.size() > 1)
    return fail("Fortran-order arrays are not supported; save a C-contiguous array");
  int64_t count = 1;
  for (int64_t d : array.shape)
    if (__builtin_mul_overflow(count, d, &count))
      return fail("the array's size overflows");
  size_t dataBytes = bytes.size() - offset - headerLength;
  uint64_t needed;
  if (__builtin_mul_overflow(uint64_t(count), uint64_t(size), &needed) || needed != dataBytes)
    return fail(fmt::format("the array [{}] needs {} bytes of data, but the file has {}",
                            fmt::join(array.shape, ", "),
                            __builtin_mul_overflow(uint64_t(count), uint64_t(size), &needed)
                                ? std::string("more than 2^64")
                                : std::to_string(needed),
                            dataBytes));
  array.data.resize(size_t(count));
  convert(bytes.data() + offset + headerLength, size, array.data);
  return array;
}

std::optional<NpyArray> readNpy(const std::string &path, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = fmt::format("'{}': {}", path, std::strerror(errno));
    return std::nullopt;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::optional<NpyArray> array = parseNpy(bytes, error);
  if (!array)
    error = fmt::format("'{}': {}", path, error);
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
