// KernelLibrary.cpp: the kernel bitcode embedded in seqc, one blob per
// architecture, placed in read-only data by the generated KernelBitcode.S.
#include "codegen/KernelLibrary.h"

#include <array>
#include <string>

extern "C" {
#define SEQK_ARCH(arch)                                                        \
  extern const char seqk_bitcode_##arch##_begin[];                             \
  extern const char seqk_bitcode_##arch##_end[];
#include "KernelArchitectures.inc"
#undef SEQK_ARCH
}

namespace seq::codegen {
namespace {

struct Blob {
  std::string_view arch;
  const char *begin;
  const char *end;
};

constexpr std::array blobs = {
#define SEQK_ARCH(arch)                                                        \
  Blob{#arch, seqk_bitcode_##arch##_begin, seqk_bitcode_##arch##_end},
#include "KernelArchitectures.inc"
#undef SEQK_ARCH
};

constexpr bool isNarrowBlob(std::string_view name) { return name.ends_with("_narrow"); }

constexpr size_t kArchitectures = [] {
  size_t n = 0;
  for (const Blob &blob : blobs)
    n += !isNarrowBlob(blob.arch);
  return n;
}();

// The architectures: the blobs but the _narrow variants.
constexpr std::array<std::string_view, kArchitectures> archNames = [] {
  std::array<std::string_view, kArchitectures> names{};
  size_t n = 0;
  for (const Blob &blob : blobs)
    if (!isNarrowBlob(blob.arch))
      names[n++] = blob.arch;
  return names;
}();

} // namespace

std::string_view kernelBitcode(std::string_view arch, KernelTiles tiles) {
  std::string name(arch);
  if (tiles == KernelTiles::Narrow)
    name += "_narrow";
  for (const Blob &blob : blobs)
    if (blob.arch == name)
      return {blob.begin, static_cast<size_t>(blob.end - blob.begin)};
  return tiles == KernelTiles::Narrow ? kernelBitcode(arch, KernelTiles::Wide) : std::string_view{};
}

std::span<const std::string_view> kernelArchitectures() { return archNames; }

} // namespace seq::codegen
