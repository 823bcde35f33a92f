// ElfMerge: several relocatable ELF64 little-endian objects (the partitions
// of one model that ParallelEmit compiled on separate threads) joined into
// one relocatable object, as `ld -r` would join them, so that `seqc build`
// still writes a single .o.
//
// Sections of equal name, type, flags and entry size are concatenated,
// each piece aligned as its input was; relocations move with their bytes
// (RELA, so a relocation against an input's section symbol becomes one
// against the output's, its addend shifted by the piece's offset). An
// undefined symbol that another input defines refers to that definition;
// the global definitions named in `localise` (functions and data that were
// internal in the model and only made visible so that the partitions could
// refer to one another) become local again. The result depends only on the
// inputs and their order.
//
// Inputs with anything else (REL relocations, section groups, extended
// section indices, common symbols, a global defined twice) are refused.
#pragma once

#include <llvm/ADT/ArrayRef.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringSet.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBufferRef.h>

namespace seq::codegen {

llvm::Error mergeElfObjects(llvm::ArrayRef<llvm::MemoryBufferRef> objects, const llvm::StringSet<> &localise,
                            llvm::SmallVectorImpl<char> &out);

} // namespace seq::codegen
