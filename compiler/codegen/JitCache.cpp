// JitCache: keys, the entry format and atomic writes (see the header).
//
// An entry file: the 8-byte magic "SEQCJIT1", the payload's length and its
// xxh3 checksum (little-endian uint64 each), then the payload (an object
// file). Anything else is treated as absent.
#include "codegen/JitCache.h"

#include "codegen/ObjectEmitter.h"

#include <llvm/ADT/SmallString.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Support/Endian.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/Process.h>
#include <llvm/Support/SHA256.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Support/xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <vector>

namespace seq::codegen {

using namespace llvm;

namespace {

constexpr char kMagic[8] = {'S', 'E', 'Q', 'C', 'J', 'I', 'T', '1'};
constexpr size_t kHeaderBytes = sizeof(kMagic) + 2 * sizeof(uint64_t);

// Size and modification time of the running executable: a rebuilt seqc
// (or test binary) gets new keys even when its version string is the same.
std::string executableIdentity() {
  static int anchor;
  std::string exe = sys::fs::getMainExecutable(nullptr, &anchor);
  sys::fs::file_status status;
  if (exe.empty() || sys::fs::status(exe, status))
    return "unknown-executable";
  return exe + ":" + std::to_string(status.getSize()) + ":" +
         std::to_string(status.getLastModificationTime().time_since_epoch().count());
}

void append(SHA256 &hash, StringRef field) {
  // Length-prefixed, so that no two field lists hash the same bytes.
  uint64_t length = field.size();
  hash.update(ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(&length), sizeof(length)));
  hash.update(field);
}

} // namespace

uint64_t JitCache::maxBytes() {
  constexpr uint64_t kDefaultMiB = 1024;
  uint64_t mib = kDefaultMiB;
  if (const char *text = std::getenv("SEQC_CACHE_MAX_MB"); text && *text) {
    char *end = nullptr;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (*end == '\0' && value < (uint64_t(1) << 40))
      mib = value;
  }
  return mib << 20;
}

std::optional<std::string> JitCache::defaultDirectory() {
  SmallString<256> dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    dir = xdg;
  } else if (const char *home = std::getenv("HOME"); home && *home) {
    dir = home;
    sys::path::append(dir, ".cache");
  } else {
    return std::nullopt;
  }
  sys::path::append(dir, "seqc");
  return std::string(dir);
}

std::optional<std::string> JitCache::kernelDirectory() {
  std::optional<std::string> dir = defaultDirectory();
  if (!dir)
    return std::nullopt;
  SmallString<256> kernels(*dir);
  sys::path::append(kernels, "kernels");
  return std::string(kernels);
}

JitCache::JitCache(std::string directory, const std::string &identity, const ResolvedTarget &target,
                   int optLevel)
    : directory_(std::move(directory)) {
  SHA256 hash;
  append(hash, SEQC_VERSION_STRING);
  append(hash, executableIdentity());
  append(hash, identity);
  append(hash, target.triple.str());
  append(hash, target.cpu);
  append(hash, target.features);
  append(hash, target.tiles == KernelTiles::Narrow ? "narrow tiles" : "wide tiles");
  append(hash, std::to_string(optLevel));
  std::array<uint8_t, 32> digest = hash.final();
  key_ = toHex(ArrayRef<uint8_t>(digest.data(), 16), /*LowerCase=*/true);
  SmallString<256> path(directory_);
  sys::path::append(path, key_ + ".o");
  path_ = std::string(path);
}

std::unique_ptr<MemoryBuffer> JitCache::load() const {
  ErrorOr<std::unique_ptr<MemoryBuffer>> file =
      MemoryBuffer::getFile(path_, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!file)
    return nullptr;
  StringRef data = (*file)->getBuffer();
  if (data.size() < kHeaderBytes || !data.starts_with(StringRef(kMagic, sizeof(kMagic))))
    return nullptr;
  uint64_t length = support::endian::read64le(data.data() + sizeof(kMagic));
  uint64_t checksum = support::endian::read64le(data.data() + sizeof(kMagic) + 8);
  StringRef payload = data.drop_front(kHeaderBytes);
  if (payload.size() != length || xxh3_64bits(payload) != checksum)
    return nullptr;
  // Mark the entry as used, for prune(); its contents stay as they are.
  int fd;
  if (!sys::fs::openFileForWrite(path_, fd, sys::fs::CD_OpenExisting, sys::fs::OF_Append)) {
    (void)sys::fs::setLastAccessAndModificationTime(fd, sys::TimePoint<>(std::chrono::system_clock::now()));
    (void)sys::Process::SafelyCloseFileDescriptor(fd);
  }
  return MemoryBuffer::getMemBufferCopy(payload, path_);
}

bool JitCache::store(StringRef object) const {
  if (sys::fs::create_directories(directory_))
    return false;
  SmallString<256> model(directory_);
  sys::path::append(model, key_ + ".tmp-%%%%%%");
  Expected<sys::fs::TempFile> temp = sys::fs::TempFile::create(model);
  if (!temp) {
    consumeError(temp.takeError());
    return false;
  }
  bool written = [&] {
    raw_fd_ostream out(temp->FD, /*shouldClose=*/false);
    char header[kHeaderBytes];
    std::memcpy(header, kMagic, sizeof(kMagic));
    support::endian::write64le(header + sizeof(kMagic), object.size());
    support::endian::write64le(header + sizeof(kMagic) + 8, xxh3_64bits(object));
    out.write(header, sizeof(header));
    out << object;
    out.flush();
    return !out.has_error();
  }();
  if (!written) {
    consumeError(temp->discard());
    return false;
  }
  if (Error e = temp->keep(path_)) {
    consumeError(std::move(e));
    return false;
  }
  prune();
  return true;
}

// Entries (*.o) oldest first are removed until the rest fit in maxBytes();
// a temporary file (*.tmp-*) older than a day is a killed run's leftover.
// Races with a concurrent run are harmless: a removed entry is a miss.
void JitCache::prune() const {
  struct Entry {
    std::string path;
    uint64_t bytes;
    sys::TimePoint<> used;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  auto dayAgo = std::chrono::system_clock::now() - std::chrono::hours(24);
  std::error_code ec;
  for (sys::fs::directory_iterator it(directory_, ec), end; it != end && !ec; it.increment(ec)) {
    StringRef name = sys::path::filename(it->path());
    sys::fs::file_status status;
    if (sys::fs::status(it->path(), status) || status.type() != sys::fs::file_type::regular_file)
      continue;
    if (name.contains(".tmp-")) {
      if (status.getLastModificationTime() < dayAgo)
        (void)sys::fs::remove(it->path());
      continue;
    }
    if (!name.ends_with(".o") || it->path() == path_)
      continue;
    entries.push_back({it->path(), status.getSize(), status.getLastModificationTime()});
    total += status.getSize();
  }
  uint64_t limit = maxBytes();
  uint64_t own = 0;
  if (sys::fs::file_size(path_, own))
    own = 0;
  if (total + own <= limit)
    return;
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) { return a.used < b.used; });
  for (const Entry &entry : entries) {
    if (total + own <= limit)
      break;
    if (!sys::fs::remove(entry.path))
      total -= entry.bytes;
  }
}

} // namespace seq::codegen
