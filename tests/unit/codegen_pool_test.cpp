// ParallelEmit's pool (ParallelEmit.h): a split model's noinline kernels
// (seqk_gemm_packed, the convPoint and convRows tile kernels and the loops
// around them) are compiled once, in the pool, not in every part that
// calls them; the object is the same on every run and computes what the
// unsplit -O0 module does. And optimizeModule's pipeline in two halves
// (the pool's report between them) gives the module the one-piece
// pipeline gives.
#include "codegen/Codegen.h"
#include "codegen/Jit.h"
#include "codegen/ModuleBuilder.h"
#include "codegen/ObjectEmitter.h"
#include "codegen/ParallelEmit.h"

#include "graph_from_source.h"
#include "seqrt.h"

#include <llvm/ADT/SmallString.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <random>

namespace {

using namespace seq;

// Pointwise convolutions (convPoint variants, seqk_pointwise_lanes), padded 3x3 ones
// (convRows variants) and a Linear (seqk_gemm_packed): large enough to be
// split, the kernels called from both parts.
const char *kPoints = R"(model Points(x: [N, 32, 28, 28]) = Sequential(
    Conv2d(32, 96, 1), ReLU(), Conv2d(96, 80, 1), ReLU(), Conv2d(80, 112, 1), Sigmoid(),
    Conv2d(112, 72, 1), ReLU(), Conv2d(72, 144, 1), Tanh(), Conv2d(144, 40, 1), ReLU(),
    Conv2d(40, 88, 3, padding=1), ReLU(), Conv2d(88, 48, 3, padding=1, stride=2), ReLU(),
    Flatten(), Linear(9408, 10),
))";

using seq_test::graphOf;
using seq_test::jitForward;

bool hostIsElf64() {
  llvm::Triple host(llvm::sys::getProcessTriple());
  return host.isOSBinFormatELF() && (host.getArch() == llvm::Triple::x86_64 || host.getArch() == llvm::Triple::aarch64);
}

// The object of `graph` at -O2, as `seqc build` compiles it (with
// `kernelCache`: keeping the pool's objects there).
llvm::SmallVector<char, 0> objectOf(const ir::Graph &graph, int *parts = nullptr,
                                    const std::string &kernelCache = {},
                                    const codegen::TargetOptions &options = {}) {
  llvm::SmallVector<char, 0> object;
  auto target = codegen::resolveTarget(options);
  EXPECT_TRUE(bool(target));
  auto machine = codegen::createTargetMachine(*target, 2);
  EXPECT_TRUE(bool(machine));
  llvm::LLVMContext context;
  auto module = codegen::buildModuleFor(graph, context, **machine, *target, {});
  EXPECT_TRUE(bool(module)) << llvm::toString(module.takeError());
  if (parts) {
    llvm::LLVMContext other;
    auto copy = codegen::buildModuleFor(graph, other, **machine, *target, {});
    EXPECT_TRUE(bool(copy));
    *parts = codegen::plannedParts(**copy, *target, 2);
  }
  llvm::Error e = codegen::compileModule(**module, **machine, *target, 2, object, "emit", kernelCache);
  EXPECT_FALSE(bool(e)) << llvm::toString(std::move(e));
  return object;
}

// The cache's entries (JitCache.h): files named *.o.
int cacheEntries(const std::string &dir) {
  int n = 0;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    n += llvm::StringRef(it->path()).ends_with(".o");
  return n;
}

// The pooled kernels are compiled once per target: a second model that
// uses the same ones (another name, other shapes) finds their objects in
// the cache and stores nothing new; the objects are those compiled
// without a cache, byte for byte.
TEST(ParallelEmitPool, PooledKernelsAreCachedAcrossModels) {
  if (!hostIsElf64())
    GTEST_SKIP() << "ParallelEmit splits only ELF64 modules";
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("seqc-kernel-cache", dir));
  std::optional<ir::Graph> graph = graphOf(kPoints);
  ASSERT_TRUE(graph);
  llvm::SmallVector<char, 0> fresh = objectOf(*graph);
  llvm::SmallVector<char, 0> first = objectOf(*graph, nullptr, std::string(dir));
  int entries = cacheEntries(std::string(dir));
  EXPECT_GE(entries, 1);
  llvm::SmallVector<char, 0> second = objectOf(*graph, nullptr, std::string(dir));
  EXPECT_TRUE(fresh == first) << "the object depends on the cache";
  EXPECT_TRUE(fresh == second) << "the object read from the cache differs";
  EXPECT_EQ(cacheEntries(std::string(dir)), entries);
  std::string other = kPoints;
  other.replace(other.find("Points"), 6, "Others");
  other.replace(other.find("Conv2d(96, 80, 1)"), 17, "Conv2d(96, 64, 1)");
  other.replace(other.find("Conv2d(80, 112, 1)"), 18, "Conv2d(64, 112, 1)");
  other.replace(other.find("Linear(9408, 10)"), 16, "Linear(9408, 12)");
  std::optional<ir::Graph> graph2 = graphOf(other.c_str());
  ASSERT_TRUE(graph2);
  llvm::SmallVector<char, 0> fresh2 = objectOf(*graph2);
  EXPECT_TRUE(fresh2 == objectOf(*graph2, nullptr, std::string(dir)));
  EXPECT_EQ(cacheEntries(std::string(dir)), entries) << "the second model's pool was not found in the cache";
  llvm::sys::fs::remove_directories(dir);
}

TEST(ParallelEmitPool, NoinlineKernelsAreCompiledOnce) {
  if (!hostIsElf64())
    GTEST_SKIP() << "ParallelEmit splits only ELF64 modules";
  std::optional<ir::Graph> graph = graphOf(kPoints);
  ASSERT_TRUE(graph);
  int parts = 0;
  llvm::SmallVector<char, 0> object = objectOf(*graph, &parts);
  ASSERT_EQ(parts, 2) << "the test wants a split model";
  auto file = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(llvm::StringRef(object.data(), object.size()), "points.o"));
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  std::map<std::string, int> defined; // pooled kernel -> definitions
  for (const llvm::object::SymbolRef &symbol : (*file)->symbols()) {
    std::string name = llvm::cantFail(symbol.getName()).str();
    auto section = llvm::cantFail(symbol.getSection());
    if (section == (*file)->section_end())
      continue;
    if (name.starts_with("convPoint_") || name.starts_with("convRows_") || name == "seqk_pointwise_lanes" ||
        name == "seqk_gemm_packed" || name == "packedConvRows" || name == "packedPointRows") {
      ++defined[name];
      EXPECT_FALSE(llvm::cantFail(symbol.getFlags()) & llvm::object::SymbolRef::SF_Global) << name << " is local";
    }
  }
  EXPECT_TRUE(defined.count("seqk_gemm_packed"));
  EXPECT_TRUE(defined.count("seqk_pointwise_lanes"));
  EXPECT_GE(defined.size(), 4u);
  for (const auto &[name, count] : defined)
    EXPECT_EQ(count, 1) << name;
  llvm::SmallVector<char, 0> again = objectOf(*graph);
  EXPECT_TRUE(object == again) << "the object differs between runs";
}

// A tile shape's pooled kernel (convPoint_TW_V, convRows_R_TW_SW_V) is
// only its tile's multiply-adds: the loops over tiles and blocks and the
// transposed store with its epilogues are packedConvRows and
// packedPointRows, compiled once however many shapes a model uses. (On
// x86 compiled for AVX-512 whatever the host: without it the wide tiles
// spill, and the narrow ones repeat the multiply-adds for each group of
// positions and half-panel, up to six times; the bound does not allow for
// either.)
TEST(ParallelEmitPool, TileKernelsLeaveTheirLoopsAndStoreToOneFunction) {
  if (!hostIsElf64())
    GTEST_SKIP() << "ParallelEmit splits only ELF64 modules";
  codegen::TargetOptions options;
  if (llvm::Triple(llvm::sys::getProcessTriple()).isX86())
    options.cpu = "x86-64-v4";
  std::optional<ir::Graph> graph = graphOf(kPoints);
  ASSERT_TRUE(graph);
  llvm::SmallVector<char, 0> object = objectOf(*graph, nullptr, {}, options);
  auto file = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(llvm::StringRef(object.data(), object.size()), "points.o"));
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  std::map<std::string, uint64_t> size; // defined function -> bytes
  for (const llvm::object::ELFSymbolRef symbol : (*file)->symbols())
    if (llvm::cantFail(symbol.getType()) == llvm::object::SymbolRef::ST_Function &&
        llvm::cantFail(symbol.getSection()) != (*file)->section_end())
      size[llvm::cantFail(symbol.getName()).str()] = symbol.getSize();
  ASSERT_TRUE(size.count("packedPointRows"));
  ASSERT_TRUE(size.count("packedConvRows"));
  int tiles = 0;
  for (const auto &[name, bytes] : size)
    if (name.starts_with("convPoint_") || name.starts_with("convRows_")) {
      ++tiles;
      EXPECT_LT(bytes * 3, size["packedPointRows"]) << name;
      EXPECT_LT(bytes * 3, size["packedConvRows"]) << name;
    }
  EXPECT_GE(tiles, 3);
}

TEST(ParallelEmitPool, SplitModelComputesWhatTheWholeOneDoes) {
  std::optional<ir::Graph> graph = graphOf(kPoints);
  ASSERT_TRUE(graph);
  codegen::TargetOptions o2, o0;
  o0.optLevel = 0;
  auto split = codegen::JitModel::create(*graph, o2);
  ASSERT_TRUE(bool(split)) << llvm::toString(split.takeError());
  auto whole = codegen::JitModel::create(*graph, o0);
  ASSERT_TRUE(bool(whole)) << llvm::toString(whole.takeError());
  seqrt_weights *weights = nullptr;
  ASSERT_EQ(seqrt_weights_random(&(*split)->model(), 3, &weights), SEQRT_OK) << seqrt_last_error();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> unit(-1, 1);
  const int64_t batch = 2;
  std::vector<float> x(size_t(batch * 32 * 28 * 28));
  for (float &v : x)
    v = unit(rng);
  std::vector<float> got = jitForward(**split, weights, x, batch, 1, 10);
  std::vector<float> want = jitForward(**whole, weights, x, batch, 1, 10);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-4f + 1e-4f * std::fabs(want[i])) << "element " << i;
  seqrt_weights_free(weights);
}

TEST(ObjectEmitter, PipelineInTwoHalvesIsTheOnePiecePipeline) {
  std::optional<ir::Graph> graph = graphOf(kPoints);
  ASSERT_TRUE(graph);
  auto target = codegen::resolveTarget({});
  ASSERT_TRUE(bool(target));
  auto machine = codegen::createTargetMachine(*target, 2);
  ASSERT_TRUE(bool(machine));
  auto optimised = [&](bool halves, bool *seen) {
    llvm::LLVMContext context;
    auto module = codegen::buildModuleFor(*graph, context, **machine, *target, {});
    EXPECT_TRUE(bool(module)) << llvm::toString(module.takeError());
    if (halves)
      codegen::optimizeModule(**module, **machine, 2, true, [&](llvm::Module &) { *seen = true; });
    else
      codegen::optimizeModule(**module, **machine, 2);
    std::string text;
    llvm::raw_string_ostream out(text);
    (*module)->print(out, nullptr);
    return text;
  };
  bool seen = false;
  std::string one = optimised(false, nullptr), two = optimised(true, &seen);
  EXPECT_TRUE(seen);
  EXPECT_GT(one.size(), 1000u);
  EXPECT_TRUE(one == two) << "the two-halves pipeline changed the module";
}

} // namespace
