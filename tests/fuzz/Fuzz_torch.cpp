// Fuzz target: raw bytes as a PyTorch checkpoint (the zip torch.save
// writes), through libseqrt's reader: the zip directory, the restricted
// unpickler and the views. Each input is read three ways:
//   - as it is (parseTorchZip);
//   - with the CRC-32 of every entry recomputed in the central directory,
//     so that a mutated pickle or storage inside a valid zip reaches the
//     unpickler and the views instead of stopping at the checksum;
//   - as a bare pickle (unpickleStateDict).
// Each either fails with a format error and a message or gives tensors whose
// bytes match their shape and dtype and are all readable. Anything else (a
// crash, a sanitizer report, another exception) is a finding.
#include "Dtype.h"
#include "Status.h"
#include "TorchZip.h"
#include "TorchZipReader.h"
#include "Unpickler.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace {

using namespace seq::rt;

void requireMessage(const Error &error) {
  if (error.status() != SEQRT_ERR_FORMAT && error.status() != SEQRT_ERR_DTYPE)
    std::abort();
  if (error.message().empty())
    std::abort(); // a failure must say why
}

void checkTensors(const WeightsFile &file) {
  for (const WeightsTensor &tensor : file.tensors()) {
    std::uint64_t count = 1;
    for (std::uint64_t dim : tensor.shape)
      if (__builtin_mul_overflow(count, dim, &count))
        std::abort();
    if (count * dtypeSize(tensor.dtype) != tensor.bytes.size())
      std::abort();
    volatile unsigned sum = 0; // every byte is readable
    for (std::byte b : tensor.bytes)
      sum = sum + std::to_integer<unsigned>(b);
  }
}

void readZip(std::span<const std::byte> image) {
  try {
    WeightsFile file = parseTorchZip(image, "fuzz.pth");
    checkTensors(file);
    file.stripPrefix("module.");
    checkTensors(file);
  } catch (const Error &error) {
    requireMessage(error);
  }
}

// The image with the CRC-32 of every central directory record set to that
// of its entry's data (when the directory reads and a CRC was wrong).
std::vector<std::byte> withCrcsFixed(std::span<const std::byte> image) {
  std::vector<ZipEntry> entries;
  try {
    entries = readZipDirectory(image, "fuzz.pth");
  } catch (const Error &) {
    return {};
  }
  std::vector<std::byte> fixed(image.begin(), image.end());
  bool changed = false;
  auto at = [&](std::size_t i) { return std::to_integer<std::uint32_t>(fixed[i]); };
  for (std::size_t i = 0; i + 46 <= fixed.size(); ++i) {
    if (at(i) != 0x50 || at(i + 1) != 0x4b || at(i + 2) != 1 || at(i + 3) != 2)
      continue;
    std::size_t nameLength = at(i + 28) | at(i + 29) << 8;
    if (i + 46 + nameLength > fixed.size())
      continue;
    std::string_view name(reinterpret_cast<const char *>(fixed.data() + i + 46), nameLength);
    for (const ZipEntry &entry : entries) {
      if (entry.name != name)
        continue;
      std::uint32_t crc = crc32Of(entry.data);
      for (int b = 0; b < 4; ++b)
        fixed[i + 16 + b] = std::byte((crc >> (8 * b)) & 0xFF);
      changed = changed || crc != entry.crc32;
    }
  }
  return changed ? fixed : std::vector<std::byte>{};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::span<const std::byte> image(reinterpret_cast<const std::byte *>(data), size);
  readZip(image);
  std::vector<std::byte> fixed = withCrcsFixed(image);
  if (!fixed.empty())
    readZip(fixed); // the CRC fields are no longer read from `image`
  try {
    for (const PickledTensor &tensor : unpickleStateDict(image, "fuzz.pkl"))
      if (tensor.shape.size() != tensor.stride.size())
        std::abort();
  } catch (const Error &error) {
    requireMessage(error);
  }
  return 0;
}
