// JitCache: compiled models on disk, so that `seqc run` compiles a model
// once (and the kernels a split model's parts share, so that `seqc build`
// compiles them once per target: ParallelEmit.h). An entry is the host object file the JIT would have produced,
// named by a hash of everything that decides its code: what the caller
// says identifies the model (the source text, the model's name, the
// options), the target (triple, CPU, features, -O), seqc's version and
// the identity of the running executable (size and modification time), so
// that a rebuilt seqc never reuses an older one's code.
//
// The directory is $XDG_CACHE_HOME/seqc, else ~/.cache/seqc. Entries are
// written to a temporary file and renamed into place, so concurrent runs
// never see a partial entry; each carries a header with its length and a
// checksum, and an entry that fails the check is ignored (and rewritten).
//
// The cache is bounded: a hit marks its entry as used (its modification
// time), and each store removes the least recently used entries until the
// directory holds at most maxBytes() of them, and temporary files that a
// killed run left behind.
#pragma once

#include <llvm/ADT/StringRef.h>
#include <llvm/Support/MemoryBuffer.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace seq::codegen {

struct ResolvedTarget;

// What the JIT is asked to cache under: the directory and the caller's
// part of the key.
struct JitCacheRequest {
  std::string directory;
  std::string identity; // e.g. source text + model name + options
};

class JitCache {
public:
  // $XDG_CACHE_HOME/seqc or $HOME/.cache/seqc; nullopt when neither is set.
  static std::optional<std::string> defaultDirectory();
  // defaultDirectory()'s kernels/: the compiled pooled kernels that
  // `seqc build` and `seqc run` share (ParallelEmit.h), apart from the
  // models' entries and bounded alike.
  static std::optional<std::string> kernelDirectory();
  // The bound on the entries' total size: $SEQC_CACHE_MAX_MB mebibytes
  // when that is a number, else 1 GiB.
  static uint64_t maxBytes();

  JitCache(std::string directory, const std::string &identity, const ResolvedTarget &target, int optLevel);

  const std::string &key() const { return key_; }
  const std::string &path() const { return path_; }
  // The entry's object file, or null when there is none or it is damaged.
  std::unique_ptr<llvm::MemoryBuffer> load() const;
  // Stores `object` as the entry, then prunes the directory to maxBytes();
  // false (and nothing left behind) when the directory cannot be written.
  // A failure to cache is not an error.
  bool store(llvm::StringRef object) const;

private:
  void prune() const;

  std::string directory_, key_, path_;
};

} // namespace seq::codegen
