// Jit: LLJIT for the host, the module optimised and compiled to an object
// in memory (or that object read from the cache) before it is added, the
// runtime's entry points resolved to this process's (statically linked)
// libseqrt, everything else (memcpy, memset) from the process.
#include "codegen/Jit.h"

#include "codegen/ModuleBuilder.h"
#include "codegen/ParallelEmit.h"
#include "codegen/Profile.h"
#include "codegen/ObjectEmitter.h"
#include "codegen/SanitizeThread.h"
#include "codegen/StageTiming.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/SmallVectorMemoryBuffer.h>
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
  symbols[jit.mangleAndIntern("seqrt_forward_end")] = symbol(&seqrt_forward_end);
  symbols[jit.mangleAndIntern("seqrt_parallel_for")] = symbol(&seqrt_parallel_for);
  symbols[jit.mangleAndIntern("seqrt_context_threads")] = symbol(&seqrt_context_threads);
  symbols[jit.mangleAndIntern("seqrt_context_workspace")] = symbol(&seqrt_context_workspace);
  symbols[jit.mangleAndIntern("seqrt_l2_cache_bytes")] = symbol(&seqrt_l2_cache_bytes);
  symbols[jit.mangleAndIntern("seqc_profile_mark")] = symbol(&seqc_profile_mark);
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

// The module compiled to a host object file, in memory.
Expected<std::unique_ptr<MemoryBuffer>> compileObject(const ir::Graph &graph, const ResolvedTarget &target,
                                                      const TargetOptions &options) {
  const int optLevel = options.optLevel;
  const bool sanitizeThread = options.sanitizeThread, profile = options.profile;
  auto machine = createTargetMachine(target, optLevel);
  if (!machine)
    return machine.takeError();
  LLVMContext context;
  std::optional<StageScope> stage(std::in_place, "codegen");
  auto module = buildModuleFor(graph, context, **machine, target, {nullptr, /*jitWrapper=*/true, sanitizeThread, profile});
  if (!module)
    return module.takeError();
  stage.reset();
  SmallVector<char, 0> object;
  if (Error e = compileModule(**module, **machine, target, optLevel, object, "machine code", options.kernelCache))
    return e;
  return std::make_unique<SmallVectorMemoryBuffer>(std::move(object), graph.symbolPrefix + ".o",
                                                   /*RequiresNullTerminator=*/false);
}

// An LLJIT holding `object`; the forward function and the model's
// description looked up into `model`.
Error link(JitModel::Linked &model, const ResolvedTarget &target, int optLevel, std::unique_ptr<MemoryBuffer> object,
           const std::string &prefix) {
  // A damaged object is refused here rather than by the linker.
  if (auto parsed = object::ObjectFile::createObjectFile(object->getMemBufferRef()); !parsed)
    return parsed.takeError();
  auto jit = LLJITBuilder().setJITTargetMachineBuilder(machineBuilder(target, optLevel)).create();
  if (!jit)
    return jit.takeError();
  if (Error e = defineRuntimeSymbols(**jit))
    return e;
  auto process = DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
  if (!process)
    return process.takeError();
  (*jit)->getMainJITDylib().addGenerator(std::move(*process));
  if (Error e = (*jit)->addObjectFile(std::move(object)))
    return e;
  auto forward = (*jit)->lookup(prefix + "_jit_forward");
  if (!forward)
    return forward.takeError();
  auto compiled = (*jit)->lookup(prefix + "_model");
  if (!compiled)
    return compiled.takeError();
  model.forward = forward->toPtr<JitModel::ForwardFn>();
  model.compiledModel = compiled->toPtr<const seqrt_model *>();
  model.jit = std::move(*jit);
  return Error::success();
}

} // namespace

Expected<std::unique_ptr<JitModel>> JitModel::create(const ir::Graph &graph, const TargetOptions &options,
                                                     const JitCacheRequest *cacheRequest) {
  if (!options.triple.empty())
    return createStringError(inconvertibleErrorCode(), "the JIT compiles for the host only, not '%s'",
                             options.triple.c_str());
  // Instrumented code calls __tsan_*, which only a ThreadSanitizer process has.
  if (options.sanitizeThread && !processHasThreadSanitizer())
    return createStringError(inconvertibleErrorCode(),
                             "'--sanitize thread' needs a ThreadSanitizer build of seqc to run the model "
                             "(scripts/sanitize.sh tsan); 'seqc build --sanitize thread' works in any build");
  auto target = resolveTarget(options);
  if (!target)
    return target.takeError();
  std::unique_ptr<JitModel> model(new JitModel());
  auto desc = ModelDesc::create(graph);
  if (!desc)
    return desc.takeError();
  model->desc_ = std::move(*desc);

  std::optional<JitCache> cache;
  if (cacheRequest)
    cache.emplace(cacheRequest->directory,
                  cacheRequest->identity + (options.sanitizeThread ? "\nsanitize=thread" : "") +
                      (options.profile ? "\nprofile" : ""),
                  *target,
                  options.optLevel);
  Linked linked;
  // A cached object that does not link is ignored and compiled again.
  if (cache)
    if (std::unique_ptr<MemoryBuffer> object = cache->load()) {
      if (Error e = link(linked, *target, options.optLevel, std::move(object), graph.symbolPrefix))
        consumeError(std::move(e));
      else
        model->fromCache_ = true;
    }
  if (!model->fromCache_) {
    auto object = compileObject(graph, *target, options);
    if (!object)
      return object.takeError();
    if (cache)
      cache->store((*object)->getBuffer());
    if (Error e = link(linked, *target, options.optLevel, std::move(*object), graph.symbolPrefix))
      return e;
  }
  model->jit_ = std::move(linked.jit);
  model->forward_ = linked.forward;
  model->compiledModel_ = linked.compiledModel;
  return model;
}

seqrt_status JitModel::forward(const seqrt_weights *weights, const float *const *inputs, float *output, int64_t batch,
                               seqrt_context *ctx) const {
  return static_cast<seqrt_status>(forward_(weights, inputs, output, batch, ctx));
}

} // namespace seq::codegen
