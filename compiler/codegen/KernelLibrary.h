// KernelLibrary.h: the kernel library (codegen/kernels/seqk.h) as LLVM
// bitcode, built for each supported architecture and embedded in seqc.
// The code generator links it into every model's module.
#ifndef SEQ_CODEGEN_KERNELLIBRARY_H
#define SEQ_CODEGEN_KERNELLIBRARY_H

#include <span>
#include <string_view>

namespace seq::codegen {

// The register tiles the kernels are compiled for (tile.h): Wide for 32
// vector registers of 512 bits (AVX-512), Narrow for 16 of 256 bits (x86
// with AVX2 or less, SEQK_NARROW), where the wide tiles' accumulators
// would not fit and spill on every step.
enum class KernelTiles { Wide, Narrow };

// The kernel library's LLVM bitcode for an architecture name as LLVM spells
// it in a triple ("x86_64", "aarch64") and a tiling (the wide one where an
// architecture has no narrow variant); empty when seqc was built without
// it. The bytes live for the whole program.
std::string_view kernelBitcode(std::string_view arch, KernelTiles tiles = KernelTiles::Wide);

// The architectures seqc carries kernels for.
std::span<const std::string_view> kernelArchitectures();

} // namespace seq::codegen

#endif // SEQ_CODEGEN_KERNELLIBRARY_H
