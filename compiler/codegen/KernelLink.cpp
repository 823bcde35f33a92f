// KernelLink: parsing and linking the embedded kernel bitcode.
#include "codegen/KernelLink.h"

#include "codegen/KernelLibrary.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/MemoryBuffer.h>

#include <map>
#include <mutex>
#include <string>

namespace seq::codegen {

using namespace llvm;

namespace {

std::string availableArchitectures() {
  std::string list;
  for (std::string_view arch : kernelArchitectures())
    list += (list.empty() ? "" : ", ") + std::string(arch);
  return list.empty() ? "none" : list;
}

// The Linear GEMM, whose speed does not depend on constant shapes (its
// register tile is fixed; K, N and the strides are only loop bounds, and
// its epilogue runs on whole 32- or 128-column runs): one shared copy per
// model instead of one per call site, which keeps the build of a model
// with many Linear layers fast. (seqk_gemm stays inlined: a pointwise
// convolution calls its epilogue on many short runs.) The same for the
// pointwise convolution's panel with positions in the lanes
// (pointlanes.c), called from seqk_conv2d_pointwise in another file: its
// shapes are run-time values too.
bool sharedKernel(StringRef name) {
  return name == "seqk_gemm_packed" || name == "seqk_gemm_packed_stream" || name == "seqk_pointwise_lanes";
}

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

Error linkKernelLibrary(Module &module, const Triple &triple, KernelTiles tiles) {
  StringRef arch = Triple::getArchTypeName(triple.getArch());
  std::string_view bitcode = kernelBitcode(std::string_view(arch.data(), arch.size()), tiles);
  if (bitcode.empty())
    return createStringError(inconvertibleErrorCode(),
                             "seqc has no kernels for the architecture '%s' (target '%s'); "
                             "it has kernels for: %s",
                             arch.str().c_str(), triple.str().c_str(), availableArchitectures().c_str());
  // MemoryBufferRef keeps a StringRef to its name: the name must outlive it.
  std::string name = "seqk_" + arch.str() + ".bc";
  MemoryBufferRef buffer(StringRef(bitcode.data(), bitcode.size()), name);
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

const StringSet<> &kernelFunctionNames(const Triple &triple) {
  static std::mutex mutex;
  static std::map<std::string, StringSet<>> byArch;
  StringRef arch = Triple::getArchTypeName(triple.getArch());
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = byArch.try_emplace(arch.str());
  if (!inserted)
    return it->second;
  std::string_view bitcode = kernelBitcode(std::string_view(arch.data(), arch.size()));
  if (bitcode.empty())
    return it->second;
  // Lazily: the function headers only, not their bodies.
  LLVMContext context;
  MemoryBufferRef buffer(StringRef(bitcode.data(), bitcode.size()), "seqk.bc");
  Expected<std::unique_ptr<Module>> kernels = getLazyBitcodeModule(buffer, context);
  if (!kernels) {
    consumeError(kernels.takeError());
    return it->second;
  }
  for (Function &fn : **kernels)
    if (!fn.isDeclaration())
      it->second.insert(fn.getName());
  return it->second;
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
