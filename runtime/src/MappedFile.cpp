// MappedFile.cpp: mmap of a file, with errors that name the file.
#include "MappedFile.h"

#include "Status.h"
#include "Text.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace seq::rt {
namespace {

[[noreturn]] void failIo(const char *path, const char *what, int error) {
  throw Error(SEQRT_ERR_IO, quoted(path) + ": " + what + ": " +
                                std::strerror(error));
}

// Closes a descriptor when it goes out of scope.
class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  int get() const { return fd_; }

private:
  int fd_;
};

} // namespace

MappedFile::MappedFile(const char *path) {
  FileDescriptor file(::open(path, O_RDONLY | O_CLOEXEC));
  if (file.get() < 0)
    failIo(path, "cannot open", errno);
  struct stat info {};
  if (::fstat(file.get(), &info) != 0)
    failIo(path, "cannot read", errno);
  if (!S_ISREG(info.st_mode))
    failIo(path, "cannot read", S_ISDIR(info.st_mode) ? EISDIR : EINVAL);
  size_ = static_cast<std::size_t>(info.st_size);
  if (size_ == 0)
    return; // mmap rejects empty mappings; an empty span will do
  void *mapping = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
                         file.get(), 0);
  if (mapping == MAP_FAILED)
    failIo(path, "cannot map", errno);
  data_ = static_cast<const std::byte *>(mapping);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr)
    ::munmap(const_cast<std::byte *>(data_), size_);
}

} // namespace seq::rt
