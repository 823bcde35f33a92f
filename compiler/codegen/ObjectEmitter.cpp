// ObjectEmitter: target machines, the optimisation pipeline, and atomic
// output files.
#include "codegen/ObjectEmitter.h"

#include "codegen/AnalysisManagers.h"
#include "codegen/KernelLink.h"
#include "codegen/ShareKernelCalls.h"

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/PassManager.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Transforms/IPO/Annotation2Metadata.h>
#include <llvm/Transforms/IPO/ForceFunctionAttrs.h>
#include <llvm/Transforms/IPO/MergeFunctions.h>
#include <llvm/Transforms/Scalar/AnnotationRemarks.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <vector>

namespace seq::codegen {

using namespace llvm;

void initializeTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    InitializeAllTargetInfos();
    InitializeAllTargets();
    InitializeAllTargetMCs();
    InitializeAllAsmPrinters();
    InitializeAllAsmParsers();
  });
}

namespace {

std::string registeredTargets() {
  std::vector<std::string> names;
  for (const Target &target : TargetRegistry::targets())
    names.push_back(target.getName());
  std::sort(names.begin(), names.end());
  std::string list;
  for (const std::string &name : names)
    list += (list.empty() ? "" : ", ") + name;
  return list;
}

// "+avx2,+fma,-sse4a,...", the features the host CPU has and lacks.
std::string hostFeatures() {
  std::string features;
  for (const auto &feature : sys::getHostCPUFeatures())
    features += std::string(features.empty() ? "" : ",") + (feature.second ? "+" : "-") +
                feature.first().str();
  return features;
}

} // namespace

CodeGenOptLevel codeGenOptLevel(int optLevel) {
  switch (optLevel) {
  case 0: return CodeGenOptLevel::None;
  case 1: return CodeGenOptLevel::Less;
  case 2: return CodeGenOptLevel::Default;
  default: return CodeGenOptLevel::Aggressive;
  }
}

Expected<ResolvedTarget> resolveTarget(const TargetOptions &options) {
  initializeTargets();
  ResolvedTarget target;
  Triple process(sys::getProcessTriple());
  target.triple = options.triple.empty() ? process : Triple(Triple::normalize(options.triple));
  std::string error;
  if (target.triple.getArch() == Triple::UnknownArch ||
      !TargetRegistry::lookupTarget(target.triple.str(), error))
    return createStringError(inconvertibleErrorCode(), "unknown target '%s'; available targets: %s",
                             options.triple.c_str(), registeredTargets().c_str());
  target.host = target.triple.getArch() == process.getArch() && target.triple.getOS() == process.getOS();
  if (options.cpu.empty() || options.cpu == "native") {
    if (target.host) {
      target.cpu = sys::getHostCPUName().str();
      target.features = hostFeatures();
    } else if (options.cpu == "native") {
      return createStringError(inconvertibleErrorCode(),
                               "'--cpu native' needs the host as the target, not '%s'",
                               target.triple.str().c_str());
    } else {
      target.cpu = "generic";
    }
  } else {
    target.cpu = options.cpu;
  }
  target.tiles = kernelTilesFor(target.triple, target.cpu, target.features);
  return target;
}

KernelTiles kernelTilesFor(const Triple &triple, const std::string &cpu, const std::string &features) {
  if (const char *forced = std::getenv("SEQC_KERNEL_TILES")) {
    if (std::string_view(forced) == "narrow")
      return KernelTiles::Narrow;
    if (std::string_view(forced) == "wide")
      return KernelTiles::Wide;
  }
  if (!triple.isX86())
    return KernelTiles::Wide;
  std::string error;
  const Target *t = TargetRegistry::lookupTarget(triple.str(), error);
  if (!t)
    return KernelTiles::Wide;
  std::unique_ptr<MCSubtargetInfo> subtarget(t->createMCSubtargetInfo(triple.str(), "", ""));
  if (!subtarget || !subtarget->isCPUStringValid(cpu))
    return KernelTiles::Wide; // createTargetMachine reports the CPU
  subtarget.reset(t->createMCSubtargetInfo(triple.str(), cpu, features));
  return subtarget && subtarget->checkFeatures("+avx512f") ? KernelTiles::Wide : KernelTiles::Narrow;
}

Expected<std::unique_ptr<TargetMachine>> createTargetMachine(const ResolvedTarget &target, int optLevel) {
  initializeTargets();
  std::string error;
  const Target *t = TargetRegistry::lookupTarget(target.triple.str(), error);
  if (!t)
    return createStringError(inconvertibleErrorCode(), "unknown target '%s': %s",
                             target.triple.str().c_str(), error.c_str());
  // Checked first: LLVM would print a warning and fall back to generic.
  std::unique_ptr<MCSubtargetInfo> subtarget(t->createMCSubtargetInfo(target.triple.str(), "", ""));
  if (!subtarget || !subtarget->isCPUStringValid(target.cpu))
    return createStringError(inconvertibleErrorCode(), "unknown CPU '%s' for target '%s'",
                             target.cpu.c_str(), target.triple.str().c_str());
  std::unique_ptr<TargetMachine> machine(t->createTargetMachine(
      target.triple.str(), target.cpu, target.features, llvm::TargetOptions(), Reloc::PIC_, std::nullopt,
      codeGenOptLevel(optLevel)));
  if (!machine)
    return createStringError(inconvertibleErrorCode(), "cannot create a target machine for '%s'",
                             target.triple.str().c_str());
  return machine;
}

namespace {

void mergeEqualFunctions(Module &module) {
  PassBuilder builder;
  AnalysisManagers analyses(builder);
  ModulePassManager passes;
  passes.addPass(MergeFunctionsPass());
  passes.run(module, analyses.module);
}

} // namespace

void prepareModule(Module &module, int optLevel) {
  if (optLevel == 0)
    return;
  mergeEqualFunctions(module);
  shareKernelCalls(module, kernelFunctionNames(Triple(module.getTargetTriple())));
}

void optimizeModule(Module &module, TargetMachine &machine, int optLevel, bool prepare,
                    function_ref<void(Module &)> simplified) {
  if (prepare)
    prepareModule(module, optLevel);
  PipelineTuningOptions tuning;
  tuning.LoopVectorization = optLevel >= 2;
  tuning.SLPVectorization = optLevel >= 2;
  // With the target machine, registerFunctionAnalyses installs its
  // TargetIRAnalysis: the vectorisers see the CPU's real vector width.
  PassBuilder builder(&machine, tuning);
  AnalysisManagers analyses(builder);

  ModulePassManager passes;
  if (optLevel == 0) {
    passes.addPass(builder.buildO0DefaultPipeline(OptimizationLevel::O0));
    passes.run(module, analyses.module);
    if (simplified)
      simplified(module);
    return;
  }
  OptimizationLevel level = optLevel == 1   ? OptimizationLevel::O1
                            : optLevel == 2 ? OptimizationLevel::O2
                                            : OptimizationLevel::O3;
  if (!simplified) {
    passes.addPass(builder.buildPerModuleDefaultPipeline(level));
    passes.run(module, analyses.module);
    return;
  }
  // buildPerModuleDefaultPipeline's passes (no PGO, no LTO, no extension
  // points), run in two halves with the same analyses.
  passes.addPass(Annotation2MetadataPass());
  passes.addPass(ForceFunctionAttrsPass());
  passes.addPass(builder.buildModuleSimplificationPipeline(level, ThinOrFullLTOPhase::None));
  passes.run(module, analyses.module);
  simplified(module);
  ModulePassManager rest;
  rest.addPass(builder.buildModuleOptimizationPipeline(level, ThinOrFullLTOPhase::None));
  rest.addPass(createModuleToFunctionPassAdaptor(AnnotationRemarksPass()));
  rest.run(module, analyses.module);
}

namespace {

Error writeTo(raw_pwrite_stream &out, Module &module, TargetMachine &machine, EmitKind kind) {
  if (kind == EmitKind::LlvmIr) {
    module.print(out, nullptr);
    return Error::success();
  }
  legacy::PassManager passes;
  CodeGenFileType type = kind == EmitKind::Object ? CodeGenFileType::ObjectFile : CodeGenFileType::AssemblyFile;
  // No verifier runs (2% of code generation's time): buildModuleFor
  // verified the module, and the optimiser's passes keep it valid.
  if (machine.addPassesToEmitFile(passes, out, nullptr, type, /*DisableVerify=*/true))
    return createStringError(inconvertibleErrorCode(), "the target '%s' cannot emit this file type",
                             machine.getTargetTriple().str().c_str());
  passes.run(module);
  return Error::success();
}

} // namespace

Error emitObject(Module &module, TargetMachine &machine, SmallVectorImpl<char> &object) {
  raw_svector_ostream out(object);
  return writeTo(out, module, machine, EmitKind::Object);
}

namespace {

// Writes through `fill` to a temporary file beside `path`, renamed into
// place when complete, removed on failure.
Error writeAtomically(const std::string &path, function_ref<Error(raw_pwrite_stream &)> fill) {
  SmallString<256> model(path);
  sys::path::remove_filename(model);
  sys::path::append(model, "." + sys::path::filename(path).str() + ".tmp-%%%%%%");
  Expected<sys::fs::TempFile> temp = sys::fs::TempFile::create(model);
  if (!temp)
    return createStringError(inconvertibleErrorCode(), "cannot write '%s': %s", path.c_str(),
                             toString(temp.takeError()).c_str());
  Error written = [&]() -> Error {
    raw_fd_ostream out(temp->FD, /*shouldClose=*/false);
    if (Error e = fill(out))
      return e;
    out.flush();
    if (out.has_error())
      return createStringError(out.error(), "cannot write '%s': %s", path.c_str(),
                               out.error().message().c_str());
    return Error::success();
  }();
  if (written)
    return joinErrors(std::move(written), temp->discard());
  if (Error e = temp->keep(path))
    return createStringError(inconvertibleErrorCode(), "cannot write '%s': %s", path.c_str(),
                             toString(std::move(e)).c_str());
  return Error::success();
}

} // namespace

Error writeModule(Module &module, TargetMachine &machine, EmitKind kind, const std::string &path) {
  return writeAtomically(path, [&](raw_pwrite_stream &out) { return writeTo(out, module, machine, kind); });
}

Error writeBytes(StringRef bytes, const std::string &path) {
  return writeAtomically(path, [&](raw_pwrite_stream &out) {
    out << bytes;
    return Error::success();
  });
}

} // namespace seq::codegen
