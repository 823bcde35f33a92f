// WeightsFile.cpp: telling the two weights formats apart by their magic
// bytes, stripping a name prefix (DDP's "module."), and writing a
// safetensors image (seqc convert).
#include "WeightsFile.h"

#include "Safetensors.h"
#include "Status.h"
#include "Text.h"
#include "TorchZip.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_set>

namespace seq::rt {
namespace {

bool startsWith(std::span<const std::byte> image, std::string_view magic) {
  return image.size() >= magic.size() &&
         std::memcmp(image.data(), magic.data(), magic.size()) == 0;
}

// What torch.save wrote before 1.6 (_use_new_zipfile_serialization=False):
// a pickled magic number first.
constexpr std::string_view kLegacyTorchMagic =
    "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

WeightsFile fromSafetensors(std::span<const std::byte> image, std::string name) {
  SafetensorsFile file = SafetensorsFile::parse(image, name);
  std::vector<WeightsTensor> tensors;
  for (const TensorEntry &entry : file.tensors())
    tensors.push_back({entry.name, entry.dtype, entry.shape, file.bytesOf(entry)});
  return WeightsFile(std::move(name), WeightsFile::Format::Safetensors, std::move(tensors));
}

void appendJsonString(std::string &out, std::string_view text) {
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
      out += escape;
    } else {
      out += c;
    }
  }
  out += '"';
}

} // namespace

WeightsFile::WeightsFile(std::string name, Format format, std::vector<WeightsTensor> tensors,
                         std::vector<std::vector<std::byte>> owned)
    : name_(std::move(name)), format_(format), tensors_(std::move(tensors)),
      owned_(std::move(owned)) {}

bool isZipImage(std::span<const std::byte> image) {
  return startsWith(image, "PK\x03\x04") || startsWith(image, "PK\x05\x06");
}

WeightsFile WeightsFile::parse(std::span<const std::byte> image, std::string name) {
  if (isZipImage(image))
    return parseTorchZip(image, std::move(name));
  if (startsWith(image, kLegacyTorchMagic))
    throw Error(SEQRT_ERR_FORMAT,
                quoted(name) + ": this is PyTorch's legacy (before 1.6) format; load it with "
                               "torch.load and save it again with torch.save's default zip format");
  return fromSafetensors(image, std::move(name));
}

std::size_t WeightsFile::stripPrefix(std::string_view prefix) {
  if (prefix.empty())
    return 0;
  std::unordered_set<std::string> names;
  std::size_t stripped = 0;
  for (WeightsTensor &tensor : tensors_) {
    if (tensor.name.starts_with(prefix)) {
      tensor.name.erase(0, prefix.size());
      ++stripped;
    }
    if (!names.insert(tensor.name).second)
      throw Error(SEQRT_ERR_FORMAT,
                  quoted(name_) + ": with the prefix " + quoted(prefix) +
                      " stripped, two tensors are named " + quoted(tensor.name),
                  tensor.name);
  }
  return stripped;
}

std::string encodeSafetensors(const WeightsFile &file) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  std::uint64_t offset = 0;
  for (const WeightsTensor &tensor : file.tensors()) {
    header += ',';
    appendJsonString(header, tensor.name);
    header += ":{\"dtype\":\"" + std::string(dtypeName(tensor.dtype)) + "\",\"shape\":" +
              formatShape(tensor.shape) + ",\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + tensor.bytes.size()) + "]}";
    offset += tensor.bytes.size();
  }
  header += '}';
  while ((header.size() + 8) % 8 != 0) // the data starts 8-byte aligned
    header += ' ';
  std::string image;
  image.reserve(8 + header.size() + offset);
  for (int i = 0; i < 8; ++i)
    image += static_cast<char>((std::uint64_t{header.size()} >> (8 * i)) & 0xFF);
  image += header;
  for (const WeightsTensor &tensor : file.tensors())
    image.append(reinterpret_cast<const char *>(tensor.bytes.data()), tensor.bytes.size());
  return image;
}

} // namespace seq::rt
