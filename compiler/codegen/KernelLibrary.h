// KernelLibrary.h: the kernel library (codegen/kernels/seqk.h) as LLVM
// bitcode, built for each supported architecture and embedded in seqc.
// The code generator links it into every model's module.
#ifndef SEQ_CODEGEN_KERNELLIBRARY_H
#define SEQ_CODEGEN_KERNELLIBRARY_H

#include <span>
#include <string_view>

namespace seq::codegen {

// The kernel library's LLVM bitcode for an architecture name as LLVM spells
// it in a triple ("x86_64", "aarch64"); empty when seqc was built without
// it. The bytes live for the whole program.
std::string_view kernelBitcode(std::string_view arch);

// The architectures seqc carries kernels for.
std::span<const std::string_view> kernelArchitectures();

} // namespace seq::codegen

#endif // SEQ_CODEGEN_KERNELLIBRARY_H
