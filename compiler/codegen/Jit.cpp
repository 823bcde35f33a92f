// Jit: LLJIT for the host, the module optimised before it is added, the
// runtime's entry points resolved to this process's (statically linked)
// libseqrt, everything else (memcpy, memset) from the process.
#include "codegen/Jit.h"

#include "codegen/ModuleBuilder.h"
#include "codegen/ObjectEmitter.h"
#include "codegen/StageTiming.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/TargetParser/SubtargetFeature.h>

#include <optional>

namespace seq::codegen {

using namespace llvm;
using namespace llvm::orc;

JitModel::~JitModel() = default;

namespace {

// The runtime functions generated code calls, at their addresses here:
// seqc links libseqrt statically, so the dynamic symbol table lacks them.
Error defineRuntimeSymbols(LLJIT &jit) {
  auto symbol = [](auto *fn) { return ExecutorSymbolDef(ExecutorAddr::fromPtr(fn), JITSymbolFlags::Exported); };
  SymbolMap symbols;
  symbols[jit.mangleAndIntern("seqrt_forward_begin")] = symbol(&seqrt_forward_begin);
  symbols[jit.mangleAndIntern("seqrt_parallel_for")] = symbol(&seqrt_parallel_for);
  symbols[jit.mangleAndIntern("seqrt_context_workspace")] = symbol(&seqrt_context_workspace);
  return jit.getMainJITDylib().define(absoluteSymbols(std::move(symbols)));
}

JITTargetMachineBuilder machineBuilder(const ResolvedTarget &target, int optLevel) {
  JITTargetMachineBuilder builder(target.triple);
  builder.setCPU(target.cpu);
  SubtargetFeatures features(target.features);
  builder.addFeatures(features.getFeatures());
  builder.setCodeGenOptLevel(codeGenOptLevel(optLevel));
  return builder;
}

} // namespace

Expected<std::unique_ptr<JitModel>> JitModel::create(const ir::Graph &graph, const TargetOptions &options) {
  if (!options.triple.empty())
    return createStringError(inconvertibleErrorCode(), "the JIT compiles for the host only, not '%s'",
                             options.triple.c_str());
  auto target = resolveTarget(options);
  if (!target)
    return target.takeError();
  JITTargetMachineBuilder builder = machineBuilder(*target, options.optLevel);
  auto machine = builder.createTargetMachine();
  if (!machine)
    return machine.takeError();

  std::unique_ptr<JitModel> model(new JitModel());
  auto desc = ModelDesc::create(graph);
  if (!desc)
    return desc.takeError();
  model->desc_ = std::move(*desc);

  auto context = std::make_unique<LLVMContext>();
  std::optional<StageScope> stage(std::in_place, "codegen");
  auto module = buildModuleFor(graph, *context, **machine, *target, {nullptr, /*jitWrapper=*/true});
  if (!module)
    return module.takeError();
  stage.emplace("LLVM optimise");
  optimizeModule(**module, **machine, options.optLevel);
  stage.emplace("JIT"); // machine code, when the symbols are looked up

  auto jit = LLJITBuilder().setJITTargetMachineBuilder(std::move(builder)).create();
  if (!jit)
    return jit.takeError();
  if (Error e = defineRuntimeSymbols(**jit))
    return e;
  auto process = DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
  if (!process)
    return process.takeError();
  (*jit)->getMainJITDylib().addGenerator(std::move(*process));
  if (Error e = (*jit)->addIRModule(ThreadSafeModule(std::move(*module), std::move(context))))
    return e;
  auto forward = (*jit)->lookup(graph.symbolPrefix + "_jit_forward");
  if (!forward)
    return forward.takeError();
  model->forward_ = forward->toPtr<ForwardFn>();
  auto compiled = (*jit)->lookup(graph.symbolPrefix + "_model");
  if (!compiled)
    return compiled.takeError();
  model->compiledModel_ = compiled->toPtr<const seqrt_model *>();
  model->jit_ = std::move(*jit);
  return model;
}

seqrt_status JitModel::forward(const seqrt_weights *weights, const float *const *inputs, float *output, int64_t batch,
                               seqrt_context *ctx) const {
  return static_cast<seqrt_status>(forward_(weights, inputs, output, batch, ctx));
}

} // namespace seq::codegen
