// Codegen: buildModule and emitFile (Codegen.h), and the module assembly
// they share with the JIT (ModuleBuilder.h).
#include "codegen/Codegen.h"

#include "codegen/KernelLink.h"
#include "codegen/LlvmGen.h"
#include "codegen/ModelGlobal.h"
#include "codegen/ModuleBuilder.h"
#include "codegen/ParallelEmit.h"
#include "codegen/SanitizeThread.h"
#include "codegen/StageTiming.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/Support/raw_ostream.h>

#include <optional>

namespace seq::codegen {

using namespace llvm;

namespace {

Error internalError(const std::string &message) {
  return createStringError(inconvertibleErrorCode(), "internal compiler error: codegen: %s", message.c_str());
}

// The packed buffer as an internal constant, aligned as seqrt aligns it.
GlobalVariable *emitWeights(Module &module, const ir::Graph &graph, const std::vector<float> &weights) {
  Constant *init = ConstantDataArray::get(module.getContext(), ArrayRef<float>(weights));
  auto *gv = new GlobalVariable(module, init->getType(), /*isConstant=*/true, GlobalValue::InternalLinkage, init,
                                graph.symbolPrefix + "_weights");
  gv->setAlignment(Align(SEQRT_ALIGNMENT));
  return gv;
}

Error checkGraph(const ir::Graph &graph, const ModuleRequest &request) {
  if (graph.symbolPrefix.empty())
    return internalError("the graph has no symbol prefix");
  if (graph.output < 0 || graph.inputs.empty())
    return internalError("the graph has no inputs or no output");
  if (request.embeddedWeights && int64_t(request.embeddedWeights->size()) != graph.packedSize)
    return internalError("the embedded weights hold " + std::to_string(request.embeddedWeights->size()) +
                         " floats; the model packs " + std::to_string(graph.packedSize));
  return Error::success();
}

// LLVM vectorises for 256-bit registers on Intel cores with AVX-512 (a
// heuristic from Skylake-X, whose 512-bit instructions lowered the clock).
// The kernels' GEMM tiles are sized for 32 zmm registers (gemm.c), and
// measured on Sapphire Rapids the convolutions and Linear layers run
// 25-60% faster with 512-bit vectors, so ask for them wherever AVX-512 is.
void preferFullVectorWidth(Module &module, TargetMachine &machine) {
  if (!machine.getTargetTriple().isX86() || !machine.getMCSubtargetInfo()->checkFeatures("+avx512f"))
    return;
  for (Function &fn : module)
    if (!fn.isDeclaration())
      fn.addFnAttr("prefer-vector-width", "512");
}

} // namespace

Expected<std::unique_ptr<Module>> buildModuleFor(const ir::Graph &graph, LLVMContext &context,
                                                 TargetMachine &machine, const ResolvedTarget &target,
                                                 const ModuleRequest &request) {
  if (Error e = checkGraph(graph, request))
    return e;
  auto module = std::make_unique<Module>(graph.symbolPrefix, context);
  module->setTargetTriple(target.triple.str());
  module->setDataLayout(machine.createDataLayout());
  auto desc = ModelDesc::create(graph, module->getDataLayout().getPointerSizeInBits());
  if (!desc)
    return desc.takeError();
  if (Error e = linkKernelLibrary(*module, target.triple, target.tiles))
    return e;

  try {
    GlobalVariable *weights = request.embeddedWeights ? emitWeights(*module, graph, *request.embeddedWeights)
                                                      : nullptr;
    GlobalVariable *model = emitModelGlobal(*module, (*desc)->model(), graph.symbolPrefix + "_model");
    LlvmGen gen(graph, *module, model, weights);
    gen.setProfile(request.profile);
    Function *forward = gen.emitForward();
    if (request.jitWrapper)
      gen.emitJitWrapper(forward);
  } catch (const CodegenError &e) {
    return internalError(e.what());
  }
  setTargetAttributes(*module, target.cpu, target.features);
  preferFullVectorWidth(*module, machine);

  std::string problems;
  raw_string_ostream out(problems);
  if (verifyModule(*module, &out))
    return internalError("the generated module is invalid:\n" + out.str());
  if (request.sanitizeThread)
    instrumentForThreadSanitizer(*module);
  return module;
}

Expected<std::unique_ptr<Module>> buildModule(const ir::Graph &graph, LLVMContext &context,
                                              const TargetOptions &target, const std::vector<float> *embeddedWeights) {
  auto resolved = resolveTarget(target);
  if (!resolved)
    return resolved.takeError();
  auto machine = createTargetMachine(*resolved, target.optLevel);
  if (!machine)
    return machine.takeError();
  return buildModuleFor(graph, context, **machine, *resolved, {embeddedWeights, false, target.sanitizeThread});
}

Error emitFile(const ir::Graph &graph, const TargetOptions &target, EmitKind kind, const std::string &path,
               const std::vector<float> *embeddedWeights) {
  auto resolved = resolveTarget(target);
  if (!resolved)
    return resolved.takeError();
  auto machine = createTargetMachine(*resolved, target.optLevel);
  if (!machine)
    return machine.takeError();
  LLVMContext context;
  std::optional<StageScope> stage(std::in_place, "codegen");
  auto module = buildModuleFor(graph, context, **machine, *resolved, {embeddedWeights, false, target.sanitizeThread});
  if (!module)
    return module.takeError();
  if (kind == EmitKind::Object) {
    stage.reset();
    SmallVector<char, 0> object;
    if (Error e = compileModule(**module, **machine, *resolved, target.optLevel, object, "emit", target.kernelCache))
      return e;
    return writeBytes(StringRef(object.data(), object.size()), path);
  }
  stage.emplace("LLVM optimise");
  optimizeModule(**module, **machine, target.optLevel);
  stage.emplace("emit");
  return writeModule(**module, **machine, kind, path);
}

} // namespace seq::codegen
