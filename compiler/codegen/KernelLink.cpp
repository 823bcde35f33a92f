// KernelLink: parsing and linking the embedded kernel bitcode.
#include "codegen/KernelLink.h"

#include "codegen/KernelLibrary.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/MemoryBuffer.h>

namespace seq::codegen {

using namespace llvm;

namespace {

std::string availableArchitectures() {
  std::string list;
  for (std::string_view arch : kernelArchitectures())
    list += (list.empty() ? "" : ", ") + std::string(arch);
  return list.empty() ? "none" : list;
}

// The GEMM kernels whose speed does not depend on constant shapes (their
// register tile is fixed; K, N and the strides are only loop bounds): one
// shared copy per model instead of one per call site, which is what keeps
// the build of a model with many Linear layers fast.
bool sharedKernel(StringRef name) { return name == "seqk_gemm" || name == "seqk_gemm_packed"; }

// The kernels are plain C compiled without target attributes; after
// linking they are internal and always-inline (specialised to each call's
// constant shapes), except the shared ones, and nothing may stop that.
void prepareKernel(Function &fn) {
  fn.removeFnAttr("target-cpu");
  fn.removeFnAttr("target-features");
  fn.removeFnAttr("tune-cpu");
  if (fn.isDeclaration() || !fn.getName().starts_with("seqk_"))
    return;
  fn.setLinkage(GlobalValue::InternalLinkage);
  fn.removeFnAttr(Attribute::NoInline);
  fn.removeFnAttr(Attribute::OptimizeNone);
  fn.addFnAttr(sharedKernel(fn.getName()) ? Attribute::NoInline : Attribute::AlwaysInline);
}

} // namespace

Error linkKernelLibrary(Module &module, const Triple &triple) {
  StringRef arch = Triple::getArchTypeName(triple.getArch());
  std::string_view bitcode = kernelBitcode(std::string_view(arch.data(), arch.size()));
  if (bitcode.empty())
    return createStringError(inconvertibleErrorCode(),
                             "seqc has no kernels for the architecture '%s' (target '%s'); "
                             "it has kernels for: %s",
                             arch.str().c_str(), triple.str().c_str(), availableArchitectures().c_str());
  MemoryBufferRef buffer(StringRef(bitcode.data(), bitcode.size()), "seqk_" + arch.str() + ".bc");
  Expected<std::unique_ptr<Module>> kernels = parseBitcodeFile(buffer, module.getContext());
  if (!kernels)
    return createStringError(inconvertibleErrorCode(),
                             "internal compiler error: the kernel bitcode for '%s' is unreadable: %s",
                             arch.str().c_str(), toString(kernels.takeError()).c_str());
  // Same triple and layout as the model, so the linker does not warn.
  (*kernels)->setTargetTriple(module.getTargetTriple());
  (*kernels)->setDataLayout(module.getDataLayout());
  if (Linker::linkModules(module, std::move(*kernels)))
    return createStringError(inconvertibleErrorCode(),
                             "internal compiler error: cannot link the kernel library for '%s'",
                             arch.str().c_str());
  for (Function &fn : module)
    prepareKernel(fn);
  return Error::success();
}

void setTargetAttributes(Module &module, StringRef cpu, StringRef features) {
  for (Function &fn : module) {
    if (fn.isDeclaration())
      continue;
    fn.removeFnAttr("tune-cpu");
    fn.addFnAttr("target-cpu", cpu);
    if (features.empty())
      fn.removeFnAttr("target-features");
    else
      fn.addFnAttr("target-features", features);
  }
}

} // namespace seq::codegen
