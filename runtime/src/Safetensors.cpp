// Safetensors.cpp: reads a safetensors header and checks every length,
// offset and size in it with overflow-checked arithmetic before any tensor
// data is touched.
#include "Safetensors.h"

#include "Json.h"
#include "Status.h"
#include "Text.h"

#include <algorithm>
#include <optional>
#include <string_view>

namespace seq::rt {
namespace {

constexpr std::size_t kLengthBytes = 8;
constexpr std::string_view kMetadataKey = "__metadata__";

std::string offsetsText(const TensorEntry &tensor) {
  return "[" + std::to_string(tensor.begin) + ", " +
         std::to_string(tensor.end) + "]";
}

// The checks, each failing with a message that names the file.
class Validator {
public:
  explicit Validator(const std::string &fileName) : fileName_(fileName) {}

  [[noreturn]] void fail(const std::string &what, std::string tensor = {},
                         seqrt_status status = SEQRT_ERR_FORMAT) const {
    throw Error(status, quoted(fileName_) + ": " + what, std::move(tensor));
  }

  // The header's bytes, after checking its length against the image.
  std::string_view header(std::span<const std::byte> image) const {
    if (image.size() < kLengthBytes)
      fail("the file is only " + std::to_string(image.size()) +
           " bytes long, too short for a safetensors header");
    std::uint64_t length = 0;
    for (std::size_t i = 0; i < kLengthBytes; ++i)
      length |= std::uint64_t{std::to_integer<unsigned>(image[i])} << (8 * i);
    if (length > image.size())
      fail("header length " + std::to_string(length) +
           " exceeds the file size " + std::to_string(image.size()));
    if (length > image.size() - kLengthBytes)
      fail("header length " + std::to_string(length) +
           " runs past the end of the file (" + std::to_string(image.size()) +
           " bytes); the file is truncated");
    return {reinterpret_cast<const char *>(image.data()) + kLengthBytes,
            static_cast<std::size_t>(length)};
  }

  JsonValue parseHeader(std::string_view header) const {
    JsonValue root;
    try {
      root = parseJson(header);
    } catch (const JsonError &error) {
      fail("invalid JSON header at byte " +
           std::to_string(kLengthBytes + error.offset()) + ": " + error.what());
    }
    if (root.kind != JsonValue::Kind::Object)
      fail("the header is not a JSON object");
    return root;
  }

  void checkMetadata(const JsonValue &metadata) const {
    bool allStrings =
        metadata.kind == JsonValue::Kind::Object &&
        std::all_of(metadata.members.begin(), metadata.members.end(),
                    [](const JsonMember &member) {
                      return member.value.kind == JsonValue::Kind::String;
                    });
    if (!allStrings)
      fail("'__metadata__' is not an object of strings");
  }

  TensorEntry readEntry(const JsonMember &member) const {
    TensorEntry tensor;
    tensor.name = member.key;
    const std::string where = "tensor " + quoted(tensor.name);
    if (member.value.kind != JsonValue::Kind::Object)
      fail(where + " is not described by a JSON object", tensor.name);
    const JsonValue *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const JsonMember &field : member.value.members) {
      const JsonValue **slot = field.key == "dtype"          ? &dtype
                               : field.key == "shape"        ? &shape
                               : field.key == "data_offsets" ? &offsets
                                                             : nullptr;
      if (slot == nullptr)
        fail(where + " has an unknown field " + quoted(field.key), tensor.name);
      *slot = &field.value;
    }
    if (dtype == nullptr || shape == nullptr || offsets == nullptr)
      fail(where + " lacks one of 'dtype', 'shape' and 'data_offsets'",
           tensor.name);
    tensor.dtype = readDtype(*dtype, where, tensor.name);
    tensor.shape = readIntegers(*shape, where + " has an invalid 'shape'",
                                tensor.name);
    std::vector<std::uint64_t> range = readIntegers(
        *offsets, where + " has invalid 'data_offsets'", tensor.name);
    if (range.size() != 2)
      fail(where + " has invalid 'data_offsets': expected [begin, end]",
           tensor.name);
    tensor.begin = range[0];
    tensor.end = range[1];
    return tensor;
  }

  void checkExtent(const TensorEntry &tensor, std::uint64_t dataSize) const {
    const std::string where = "tensor " + quoted(tensor.name);
    if (tensor.begin > tensor.end)
      fail(where + " has data_offsets " + offsetsText(tensor) +
               " that end before they begin",
           tensor.name);
    if (tensor.end > dataSize)
      fail(where + " has data_offsets " + offsetsText(tensor) +
               " past the end of the data buffer (" +
               std::to_string(dataSize) + " bytes)",
           tensor.name);
    const std::string layout =
        formatShape(tensor.shape) + " of " + std::string(dtypeName(tensor.dtype));
    std::optional<std::uint64_t> bytes = byteSize(tensor);
    if (!bytes)
      fail("the size of " + where + " (shape " + layout + ") overflows 64 bits",
           tensor.name);
    if (*bytes != tensor.end - tensor.begin)
      fail(where + " has shape " + layout + " (" + std::to_string(*bytes) +
               " bytes), but its data_offsets " + offsetsText(tensor) +
               " hold " + std::to_string(tensor.end - tensor.begin) + " bytes",
           tensor.name);
  }

  // The tensors, sorted by offset, must cover [0, dataSize) with neither
  // overlaps nor gaps.
  void checkTiling(std::vector<const TensorEntry *> sorted,
                   std::uint64_t dataSize) const {
    std::sort(sorted.begin(), sorted.end(),
              [](const TensorEntry *a, const TensorEntry *b) {
                return a->begin != b->begin ? a->begin < b->begin
                                            : a->end < b->end;
              });
    std::uint64_t covered = 0;
    const TensorEntry *previous = nullptr;
    for (const TensorEntry *tensor : sorted) {
      if (tensor->begin < covered)
        fail("tensors " + quoted(previous->name) + " and " +
                 quoted(tensor->name) + " overlap (data_offsets " +
                 offsetsText(*previous) + " and " + offsetsText(*tensor) + ")",
             tensor->name);
      if (tensor->begin > covered)
        fail(gapText(covered, tensor->begin) + " before tensor " +
                 quoted(tensor->name),
             tensor->name);
      covered = tensor->end;
      previous = tensor;
    }
    if (covered != dataSize)
      fail(gapText(covered, dataSize) + " at the end of the data buffer");
  }

private:
  Dtype readDtype(const JsonValue &value, const std::string &where,
                  const std::string &tensor) const {
    if (value.kind != JsonValue::Kind::String)
      fail(where + " has a 'dtype' that is not a string", tensor);
    std::optional<Dtype> dtype = parseDtype(value.text);
    if (!dtype)
      fail(where + " has unknown dtype " + quoted(value.text), tensor,
           SEQRT_ERR_DTYPE);
    return *dtype;
  }

  std::vector<std::uint64_t> readIntegers(const JsonValue &value,
                                          const std::string &problem,
                                          const std::string &tensor) const {
    if (value.kind != JsonValue::Kind::Array)
      fail(problem + ": expected an array of non-negative integers", tensor);
    std::vector<std::uint64_t> integers;
    for (const JsonValue &item : value.items) {
      std::optional<std::uint64_t> integer = jsonUint64(item);
      if (!integer)
        fail(problem + ": " + (item.kind == JsonValue::Kind::Number
                                   ? item.text
                                   : std::string("a non-number")) +
                 " is not a non-negative 64-bit integer",
             tensor);
      integers.push_back(*integer);
    }
    return integers;
  }

  // shape product * element size, or nullopt when it overflows.
  static std::optional<std::uint64_t> byteSize(const TensorEntry &tensor) {
    if (std::find(tensor.shape.begin(), tensor.shape.end(), 0u) !=
        tensor.shape.end())
      return 0;
    std::uint64_t bytes = dtypeSize(tensor.dtype);
    for (std::uint64_t dim : tensor.shape)
      if (__builtin_mul_overflow(bytes, dim, &bytes))
        return std::nullopt;
    return bytes;
  }

  static std::string gapText(std::uint64_t from, std::uint64_t to) {
    return "bytes " + std::to_string(from) + " to " + std::to_string(to) +
           " of the data buffer belong to no tensor (a gap)";
  }

  const std::string &fileName_;
};

} // namespace

SafetensorsFile SafetensorsFile::parse(std::span<const std::byte> image,
                                       std::string name) {
  Validator validator(name);
  std::string_view header = validator.header(image);
  JsonValue root = validator.parseHeader(header);

  SafetensorsFile file;
  file.data_ = image.subspan(kLengthBytes + header.size());
  for (const JsonMember &member : root.members) {
    if (member.key == kMetadataKey)
      validator.checkMetadata(member.value);
    else
      file.tensors_.push_back(validator.readEntry(member));
  }
  std::vector<const TensorEntry *> entries;
  for (const TensorEntry &tensor : file.tensors_) {
    validator.checkExtent(tensor, file.data_.size());
    entries.push_back(&tensor);
  }
  validator.checkTiling(std::move(entries), file.data_.size());
  file.name_ = std::move(name);
  return file;
}

} // namespace seq::rt
