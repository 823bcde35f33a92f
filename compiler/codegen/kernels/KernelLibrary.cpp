// KernelLibrary.cpp: the kernel bitcode embedded in seqc, one blob per
// architecture, placed in read-only data by the generated KernelBitcode.S.
#include "codegen/KernelLibrary.h"

#include <array>

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

constexpr std::array<std::string_view, blobs.size()> archNames = [] {
  std::array<std::string_view, blobs.size()> names{};
  for (size_t i = 0; i < blobs.size(); ++i)
    names[i] = blobs[i].arch;
  return names;
}();

} // namespace

std::string_view kernelBitcode(std::string_view arch) {
  for (const Blob &blob : blobs)
    if (blob.arch == arch)
      return {blob.begin, static_cast<size_t>(blob.end - blob.begin)};
  return {};
}

std::span<const std::string_view> kernelArchitectures() { return archNames; }

} // namespace seq::codegen
