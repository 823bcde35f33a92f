// MappedFile.h: a whole file mapped read-only into memory.
#pragma once

#include <cstddef>
#include <span>

namespace seq::rt {

class MappedFile {
public:
  // Maps `path`; throws Error(SEQRT_ERR_IO) when it cannot be opened or
  // read (missing, a directory, no permission).
  explicit MappedFile(const char *path);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }

private:
  const std::byte *data_ = nullptr;
  std::size_t size_ = 0;
};

} // namespace seq::rt
