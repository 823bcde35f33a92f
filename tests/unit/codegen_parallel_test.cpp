// ElfMerge and ParallelEmit: two objects joined into one that links and
// runs (a call across the parts, a table in each, the shared symbol made
// local again), what is refused, and small models left whole. (The zoo's
// e2e tests build and run models large enough to be split.)
#include "codegen_test_support.h"

#include "codegen/ElfMerge.h"
#include "codegen/ModuleBuilder.h"
#include "codegen/ObjectEmitter.h"
#include "codegen/ParallelEmit.h"

#include <llvm/AsmParser/Parser.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LLVMContext.h>
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
    if (name == "entry")
      EXPECT_TRUE(flags & object::SymbolRef::SF_Global);
    if (name == "twice")
      EXPECT_FALSE(flags & object::SymbolRef::SF_Global) << "the shared symbol is local again";
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

TEST(ParallelEmit, SmallModelsAreNotSplit) {
  TestModel m = mlpModel();
  auto target = seq::codegen::resolveTarget({});
  ASSERT_TRUE(bool(target));
  auto machine = seq::codegen::createTargetMachine(*target, 2);
  ASSERT_TRUE(bool(machine));
  LLVMContext context;
  auto module = seq::codegen::buildModuleFor(m.g, context, **machine, *target, {});
  ASSERT_TRUE(bool(module)) << errorText(module.takeError());
  EXPECT_EQ(seq::codegen::plannedParts(**module, *target, 2), 1);
}

} // namespace
} // namespace codegen_test
