// ElfMerge and ParallelEmit: two objects joined into one that links and
// runs (a call across the parts, a table in each, the shared symbol made
// local again), what is refused; ShareKernelCalls' clusters; small models
// left whole. (The zoo's e2e tests build and run models large enough to
// be split, through `seqc build` and `seqc run`.)
#include "codegen_test_support.h"
#include "graph_from_source.h"

#include "codegen/ElfMerge.h"
#include "codegen/ModuleBuilder.h"
#include "codegen/ObjectEmitter.h"
#include "codegen/ParallelEmit.h"
#include "codegen/ShareKernelCalls.h"

#include <llvm/AsmParser/Parser.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/TargetParser/Host.h>

namespace codegen_test {
namespace {

using namespace llvm;

std::string errorText(Error error) { return toString(std::move(error)); }

// `ir` compiled for the host at -O2, as an object in memory.
SmallVector<char, 0> hostObject(const char *ir) {
  auto target = seq::codegen::resolveTarget({});
  EXPECT_TRUE(bool(target));
  LLVMContext context;
  SMDiagnostic error;
  std::unique_ptr<Module> module = parseAssemblyString(ir, error, context);
  EXPECT_TRUE(module) << error.getMessage().str();
  module->setTargetTriple(target->triple.str());
  auto machine = seq::codegen::createTargetMachine(*target, 2);
  EXPECT_TRUE(bool(machine));
  module->setDataLayout((*machine)->createDataLayout());
  SmallVector<char, 0> object;
  EXPECT_FALSE(bool(seq::codegen::emitObject(*module, **machine, object)));
  return object;
}

// `g`'s module for the host at -O2, before MergeFunctions (null and the
// error when it cannot be built).
struct HostModule {
  std::unique_ptr<Module> module;
  std::string error;
  seq::codegen::ResolvedTarget target;
};
HostModule hostModule(const seq::ir::Graph &g, LLVMContext &context) {
  HostModule host;
  auto target = seq::codegen::resolveTarget({});
  if (!target)
    return {nullptr, errorText(target.takeError()), {}};
  host.target = *target;
  auto machine = seq::codegen::createTargetMachine(*target, 2);
  if (!machine)
    return {nullptr, errorText(machine.takeError()), {}};
  auto module = seq::codegen::buildModuleFor(g, context, **machine, *target, {});
  if (!module)
    return {nullptr, errorText(module.takeError()), {}};
  host.module = std::move(*module);
  return host;
}

bool hostIsElf64() {
  Triple host(sys::getProcessTriple());
  return host.isOSBinFormatELF() && (host.getArch() == Triple::x86_64 || host.getArch() == Triple::aarch64);
}

// Part 0 calls `twice`, part 1 defines it (hidden, as ParallelEmit makes
// what a part shares); each reads an internal table of its own, so that
// part 1's table lies at an offset in the joined .rodata.
const char *kPart0 = R"(
@first = internal constant [4 x i32] [i32 1, i32 100, i32 1000, i32 10000]
declare hidden i32 @twice(i32)
define i32 @entry(i32 %x) {
  %r = call i32 @twice(i32 %x)
  %i = and i32 %x, 3
  %j = zext i32 %i to i64
  %p = getelementptr [4 x i32], ptr @first, i64 0, i64 %j
  %v = load i32, ptr %p
  %s = add i32 %r, %v
  ret i32 %s
}
)";
const char *kPart1 = R"(
@table = internal constant [4 x i32] [i32 10, i32 20, i32 30, i32 40]
define hidden i32 @twice(i32 %x) noinline {
  %i = and i32 %x, 3
  %j = zext i32 %i to i64
  %p = getelementptr [4 x i32], ptr @table, i64 0, i64 %j
  %v = load i32, ptr %p
  %r = mul i32 %v, 2
  ret i32 %r
}
)";

TEST(ElfMerge, JoinedObjectLinksAndRuns) {
  if (!hostIsElf64())
    GTEST_SKIP() << "ElfMerge joins 64-bit little-endian ELF only";
  SmallVector<char, 0> a = hostObject(kPart0), b = hostObject(kPart1);
  StringSet<> localise;
  localise.insert("twice");
  SmallVector<char, 0> joined;
  MemoryBufferRef parts[] = {MemoryBufferRef(StringRef(a.data(), a.size()), "a.o"),
                             MemoryBufferRef(StringRef(b.data(), b.size()), "b.o")};
  ASSERT_FALSE(bool(seq::codegen::mergeElfObjects(parts, localise, joined)));

  auto object = object::ObjectFile::createObjectFile(MemoryBufferRef(StringRef(joined.data(), joined.size()), "j.o"));
  ASSERT_TRUE(bool(object)) << errorText(object.takeError());
  int globals = 0;
  for (const object::SymbolRef &symbol : (*object)->symbols()) {
    StringRef name = cantFail(symbol.getName());
    uint32_t flags = cantFail(symbol.getFlags());
    if (name == "entry") {
      EXPECT_TRUE(flags & object::SymbolRef::SF_Global);
    }
    if (name == "twice") {
      EXPECT_FALSE(flags & object::SymbolRef::SF_Global) << "the shared symbol is local again";
    }
    if ((flags & object::SymbolRef::SF_Global) && !(flags & object::SymbolRef::SF_Undefined))
      ++globals;
  }
  EXPECT_EQ(globals, 1);

  auto jit = orc::LLJITBuilder().create();
  ASSERT_TRUE(bool(jit)) << errorText(jit.takeError());
  ASSERT_FALSE(bool((*jit)->addObjectFile(MemoryBuffer::getMemBufferCopy(StringRef(joined.data(), joined.size())))));
  auto entry = (*jit)->lookup("entry");
  ASSERT_TRUE(bool(entry)) << errorText(entry.takeError());
  auto *fn = entry->toPtr<int (*)(int)>();
  EXPECT_EQ(fn(2), 60 + 1000);
  EXPECT_EQ(fn(7), 80 + 10000);
  auto hidden = (*jit)->lookup("twice");
  EXPECT_FALSE(bool(hidden));
  consumeError(hidden.takeError());
}

TEST(ElfMerge, RefusesAGlobalDefinedTwice) {
  if (!hostIsElf64())
    GTEST_SKIP() << "ElfMerge joins 64-bit little-endian ELF only";
  SmallVector<char, 0> a = hostObject(kPart0);
  MemoryBufferRef parts[] = {MemoryBufferRef(StringRef(a.data(), a.size()), "a.o"),
                             MemoryBufferRef(StringRef(a.data(), a.size()), "b.o")};
  SmallVector<char, 0> joined;
  Error e = seq::codegen::mergeElfObjects(parts, {}, joined);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(errorText(std::move(e)).find("'entry' is defined twice"), std::string::npos);
}

TEST(ElfMerge, RefusesWhatIsNotAnObject) {
  std::string text = "not an object";
  MemoryBufferRef parts[] = {MemoryBufferRef(text, "x.o")};
  SmallVector<char, 0> joined;
  Error e = seq::codegen::mergeElfObjects(parts, {}, joined);
  EXPECT_TRUE(bool(e));
  consumeError(std::move(e));
}

// A kernel `k(ptr, four shapes, begin, end)` large enough to be shared,
// and tasks calling it as a layer's slot and channel tasks do.
std::string shareModule() {
  std::string ir = "define internal void @k(ptr %p, i64 %shape, i64 %h, i64 %w, i64 %c, i64 %b, i64 %e) "
                   "alwaysinline {\n"
                   "  %u = add i64 %shape, %h\n  %t = add i64 %w, %c\n  %s = add i64 %u, %t\n"
                   "  %v0 = add i64 %s, %b\n";
  for (int i = 1; i < 320; ++i)
    ir += "  %v" + std::to_string(i) + " = mul i64 %v" + std::to_string(i - 1) + ", %e\n";
  ir += "  store i64 %v319, ptr %p\n  ret void\n}\n";
  ir += "define void @slots(ptr %p) {\n"
        "  call void @k(ptr %p, i64 7, i64 3, i64 3, i64 1, i64 0, i64 32)\n  ret void\n}\n"
        "define void @channels(ptr %p, i64 %b, i64 %e) {\n"
        "  call void @k(ptr %p, i64 7, i64 3, i64 3, i64 1, i64 %b, i64 %e)\n  ret void\n}\n"
        "define void @other(ptr %p, i64 %b, i64 %e) {\n"
        "  call void @k(ptr %p, i64 9, i64 3, i64 3, i64 1, i64 %b, i64 %e)\n  ret void\n}\n"
        "define void @loose(ptr %p, i64 %s, i64 %b, i64 %e) {\n"
        "  call void @k(ptr %p, i64 %s, i64 %s, i64 %s, i64 %s, i64 %b, i64 %e)\n  ret void\n}\n"
        "define void @few(ptr %p, i64 %b, i64 %e) {\n"
        "  call void @k(ptr %p, i64 9, i64 %b, i64 %b, i64 %b, i64 %b, i64 %e)\n  ret void\n}\n";
  return ir;
}

TEST(ShareKernelCalls, SharesCallsThatDifferOnlyInRuntimeValues) {
  LLVMContext context;
  SMDiagnostic error;
  std::unique_ptr<Module> module = parseAssemblyString(shareModule(), error, context);
  ASSERT_TRUE(module) << error.getMessage().str();
  StringSet<> kernels;
  kernels.insert("k");
  // slots (0..32) and channels (b..e) share, the shapes 7, 3, 3, 1 kept
  // constants; other (shape 9) has its own; loose (no constant) and few
  // (one) would keep fewer than four constants and share with nothing.
  EXPECT_EQ(seq::codegen::shareKernelCalls(*module, kernels), 2);
  Function *shared = module->getFunction("seqk.share.k");
  ASSERT_NE(shared, nullptr);
  EXPECT_EQ(shared->arg_size(), 3u); // p, begin, end
  EXPECT_TRUE(shared->hasFnAttribute(Attribute::NoInline));
  EXPECT_FALSE(shared->hasFnAttribute(Attribute::AlwaysInline));
  auto calledIn = [&](const char *name) {
    for (Instruction &inst : module->getFunction(name)->getEntryBlock())
      if (auto *call = dyn_cast<CallInst>(&inst))
        return call->getCalledFunction()->getName().str();
    return std::string();
  };
  EXPECT_EQ(calledIn("slots"), "seqk.share.k");
  EXPECT_EQ(calledIn("channels"), "seqk.share.k");
  EXPECT_EQ(calledIn("other"), "k");
  EXPECT_EQ(calledIn("loose"), "k");
  EXPECT_EQ(calledIn("few"), "k");
  bool passesShape = false;
  for (Instruction &inst : shared->getEntryBlock())
    if (auto *call = dyn_cast<CallInst>(&inst))
      if (auto *shape = dyn_cast<ConstantInt>(call->getArgOperand(1)))
        passesShape = shape->getSExtValue() == 7;
  EXPECT_TRUE(passesShape);
  EXPECT_FALSE(verifyModule(*module, &errs()));
}

// Calls that differ in constants the code generator marked as run-time
// arguments (markRunTimeArgs, here `shape` and `c`) share, those
// arguments passed; where the sharing calls agree on a marked one, it
// stays a constant; the others still have to agree.
TEST(ShareKernelCalls, SharesAcrossMarkedRunTimeArguments) {
  LLVMContext context;
  SMDiagnostic error;
  std::string ir = shareModule();
  ir = ir.substr(0, ir.find("define void @slots"));
  const char *calls[][2] = {{"a", "7, i64 3, i64 3, i64 1"}, {"b", "9, i64 3, i64 3, i64 5"},
                            {"h", "7, i64 4, i64 3, i64 1"}, {"m", "8, i64 5, i64 5, i64 2"},
                            {"n", "8, i64 5, i64 5, i64 2"}};
  for (auto &[name, shapes] : calls)
    ir += std::string("define void @") + name + "(ptr %p) {\n  call void @k(ptr %p, i64 " + shapes +
          ", i64 0, i64 32)\n  ret void\n}\n";
  std::unique_ptr<Module> module = parseAssemblyString(ir, error, context);
  ASSERT_TRUE(module) << error.getMessage().str();
  auto callIn = [&](const char *name) -> CallInst * {
    for (Instruction &inst : module->getFunction(name)->getEntryBlock())
      if (auto *call = dyn_cast<CallInst>(&inst))
        return call;
    return nullptr;
  };
  for (auto &[name, shapes] : calls)
    seq::codegen::markRunTimeArgs(callIn(name), {1, 4});
  StringSet<> kernels;
  kernels.insert("k");
  // a and b share (shape and c passed); h differs in an unmarked shape;
  // m and n share with every argument but p a constant.
  EXPECT_EQ(seq::codegen::shareKernelCalls(*module, kernels), 4);
  Function *ab = callIn("a")->getCalledFunction(), *mn = callIn("m")->getCalledFunction();
  EXPECT_EQ(callIn("b")->getCalledFunction(), ab);
  EXPECT_EQ(callIn("n")->getCalledFunction(), mn);
  EXPECT_EQ(callIn("h")->getCalledFunction()->getName(), "k");
  ASSERT_TRUE(ab->getName().starts_with("seqk.share.k") && mn->getName().starts_with("seqk.share.k"));
  EXPECT_EQ(ab->arg_size(), 3u); // p, shape, c
  EXPECT_EQ(mn->arg_size(), 1u); // p
  EXPECT_FALSE(verifyModule(*module, &errs()));
}

// Linear(8, 16) + ReLU and Linear(16, 4) + ReLU: their epilogues (a bias
// per column, then ReLU) differ only in the row stride, which neither
// reads; so they are one function once MergeFunctions has run.
// The graph's module has `before` epilogue functions, and one once
// prepareModule has merged equal functions.
void expectEpiloguesMergeIntoOne(const ir::Graph &g, int before) {
  LLVMContext context;
  HostModule host = hostModule(g, context);
  ASSERT_TRUE(host.module) << host.error;
  auto &module = host.module;
  auto epilogues = [&] {
    int n = 0;
    for (const Function &f : *module)
      n += !f.isDeclaration() && f.getName().ends_with(".epi");
    return n;
  };
  EXPECT_EQ(epilogues(), before);
  seq::codegen::prepareModule(*module, 2);
  EXPECT_EQ(epilogues(), 1);
  EXPECT_FALSE(verifyModule(*module, &errs()));
}

TEST(ParallelEmit, EpiloguesOfEqualOpsMerge) {
  TestModel m = mlpModel();
  ir::Node &fc2 = m.g.nodes.back();
  fc2.attrs.bias = m.weight("fc2.bias", 4);
  fc2.epilogue = {ir::EpilogueOp{ir::EpilogueOp::Kind::Unary}};
  expectEpiloguesMergeIntoOne(m.g, 2);
}

// Three convolutions with a bias and SiLU, of 8, 24 and 40 output
// channels: their epilogues read the bias of channel R % C, C from the
// env (not a constant of the function), so they are one function once
// MergeFunctions has run (with C a constant: three, each compiled on its
// own wherever a kernel calls it through its address). (Rows of 16: on
// shorter ones the packed tiles apply SiLU themselves, and with fewer taps
// than 64 the lanes kernel does.)
TEST(ParallelEmit, EpiloguesOfDifferentChannelCountsMerge) {
  std::optional<ir::Graph> graph = seq_test::graphOf(R"(
model Convs(x: [N, 8, 16, 16]) = Sequential(
    Conv2d(8, 8, 3, padding=1), SiLU(), Conv2d(8, 24, 3, padding=1), SiLU(),
    Conv2d(24, 40, 3, padding=1), SiLU(),
)
)");
  ASSERT_TRUE(graph);
  expectEpiloguesMergeIntoOne(*graph, 3);
}

TEST(ParallelEmit, SmallModelsAreNotSplit) {
  TestModel m = mlpModel();
  LLVMContext context;
  HostModule host = hostModule(m.g, context);
  ASSERT_TRUE(host.module) << host.error;
  auto &module = host.module;
  EXPECT_EQ(seq::codegen::plannedParts(*module, host.target, 2), 1);
}

} // namespace
} // namespace codegen_test
