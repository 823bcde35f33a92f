// TorchZipReader.h: the central directory of a zip image, as torch.save
// writes it (stored entries, zip64 end records), every offset and size
// checked before anything is read.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace seq::rt {

struct ZipEntry {
  std::string name;
  std::span<const std::byte> data; // inside the image, checked
  std::uint32_t crc32 = 0;         // as the directory records it
};

// The entries of `image`, in the order of its central directory. `name`
// is the file's name in messages. Throws Error(SEQRT_ERR_FORMAT) for a
// malformed or truncated archive, a compressed or encrypted entry, a
// multi-disk archive, or two entries of one name. The image must outlive
// the result.
std::vector<ZipEntry> readZipDirectory(std::span<const std::byte> image,
                                       const std::string &name);

// The CRC-32 (ISO-HDLC, as zip uses) of `bytes`.
std::uint32_t crc32Of(std::span<const std::byte> bytes);

} // namespace seq::rt
