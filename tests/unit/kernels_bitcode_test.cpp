// Unit test of the embedded kernel bitcode (codegen/KernelLibrary.h): for
// every architecture seqc carries, the blob parses with LLVM, targets that
// architecture, defines every function of seqk.h, and carries no
// target-cpu / target-features that would restrict the host.
#include <gtest/gtest.h>

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>

#include <string>

#include "codegen/KernelLibrary.h"

namespace {

const char *const kKernelFunctions[] = {
    "seqk_gemm",     "seqk_im2col",    "seqk_conv2d_gemm", "seqk_depthwise2d_phased",
    "seqk_maxpool2d", "seqk_maxpool2d_band", "seqk_avgpool2d", "seqk_adaptive_avgpool2d",
    "seqk_softmax",  "seqk_layernorm", "seqk_map",
    "seqk_expf",     "seqk_logf",      "seqk_tanhf",
    "seqk_erff",     "seqk_sigmoidf",  "seqk_gelu_erf",
    "seqk_gelu_tanh", "seqk_siluf",    "seqk_eluf",
    "seqk_hardswishf"};

TEST(KernelsBitcode, EveryArchitectureDefinesEveryKernel) {
  auto archs = seq::codegen::kernelArchitectures();
  ASSERT_GE(archs.size(), 2u);
  for (std::string_view arch : archs) {
    std::string_view bc = seq::codegen::kernelBitcode(arch);
    ASSERT_FALSE(bc.empty()) << arch;
    llvm::LLVMContext ctx;
    std::string name = "seqk_" + std::string(arch); // must outlive `ref`
    llvm::MemoryBufferRef ref(llvm::StringRef(bc.data(), bc.size()), name);
    auto module = llvm::parseBitcodeFile(ref, ctx);
    ASSERT_TRUE(bool(module)) << arch << ": "
                              << llvm::toString(module.takeError());
    EXPECT_EQ((*module)->getTargetTriple().rfind(std::string(arch), 0), 0u)
        << (*module)->getTargetTriple();
    for (const char *name : kKernelFunctions) {
      llvm::Function *f = (*module)->getFunction(name);
      ASSERT_NE(f, nullptr) << arch << ": " << name << " missing";
      EXPECT_FALSE(f->isDeclaration()) << arch << ": " << name << " not defined";
    }
    for (const llvm::Function &f : **module) {
      EXPECT_FALSE(f.hasFnAttribute("target-cpu")) << f.getName().str();
      EXPECT_FALSE(f.hasFnAttribute("target-features")) << f.getName().str();
      EXPECT_FALSE(f.hasFnAttribute(llvm::Attribute::OptimizeNone)) << f.getName().str();
      if (!f.isDeclaration())
        continue;
      // the only declarations allowed are LLVM intrinsics: no libm, no libc
      EXPECT_TRUE(f.isIntrinsic()) << arch << " calls " << f.getName().str();
    }
  }
}

// Every function the kernel library defines is a `seqk_` entry point or
// static: the kernel linker (codegen/KernelLink.cpp) makes only `seqk_`
// functions internal, so any other external one would stay in every
// model's object, used or not (a helper of convlanes.c called from
// convpack.c once carried six tile variants into every model).
TEST(KernelsBitcode, EveryExternalFunctionIsAnEntryPoint) {
  for (std::string_view arch : seq::codegen::kernelArchitectures()) {
    std::string_view bc = seq::codegen::kernelBitcode(arch);
    llvm::LLVMContext ctx;
    std::string name = "seqk_" + std::string(arch); // must outlive `ref`
    llvm::MemoryBufferRef ref(llvm::StringRef(bc.data(), bc.size()), name);
    auto module = llvm::parseBitcodeFile(ref, ctx);
    ASSERT_TRUE(bool(module)) << arch << ": " << llvm::toString(module.takeError());
    for (const llvm::Function &f : **module) {
      if (f.isDeclaration() || f.hasLocalLinkage())
        continue;
      EXPECT_TRUE(f.getName().starts_with("seqk_")) << arch << ": " << f.getName().str() << " is external";
    }
  }
}

TEST(KernelsBitcode, UnknownArchitectureIsEmpty) {
  EXPECT_TRUE(seq::codegen::kernelBitcode("sparc").empty());
  EXPECT_TRUE(seq::codegen::kernelBitcode("").empty());
}

} // namespace
