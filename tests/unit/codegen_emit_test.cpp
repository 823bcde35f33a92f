// Code generator, ahead-of-time path: objects for another architecture,
// assembly, textual IR that parses back, the generated header, target
// errors, and outputs written atomically.
#include "codegen_test_support.h"

#include "codegen/ObjectEmitter.h"

#include <llvm/BinaryFormat/ELF.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Verifier.h>
#include <llvm/IRReader/IRReader.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/SourceMgr.h>

#include <cstdlib>
#include <set>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace codegen_test {
namespace {

namespace fs = std::filesystem;
using seq::codegen::EmitKind;
using seq::codegen::TargetOptions;

// A fresh directory, removed with everything in it at the end of a test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "seqc-codegen-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string &name) const { return (path / name).string(); }
};

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string errorText(llvm::Error error) { return llvm::toString(std::move(error)); }

// Options for a triple, a CPU and an -O level, the others their defaults.
TargetOptions target(std::string triple, std::string cpu, int optLevel) {
  TargetOptions options;
  options.triple = std::move(triple);
  options.cpu = std::move(cpu);
  options.optLevel = optLevel;
  return options;
}

TEST(CodegenEmit, Aarch64Object) {
  TestModel m = mlpModel();
  TempDir dir;
  std::string path = dir / "mlp.o";
  ASSERT_FALSE(bool(seq::codegen::emitFile(m.g, target("aarch64-linux-gnu", "", 2), EmitKind::Object, path, nullptr)));

  auto object = llvm::object::ObjectFile::createObjectFile(path);
  ASSERT_TRUE(bool(object)) << errorText(object.takeError());
  auto *elf = llvm::dyn_cast<llvm::object::ELFObjectFileBase>(object->getBinary());
  ASSERT_NE(elf, nullptr);
  EXPECT_EQ(elf->getEMachine(), llvm::ELF::EM_AARCH64);

  std::set<std::string> defined;
  for (const llvm::object::SymbolRef &symbol : elf->symbols()) {
    auto name = symbol.getName();
    auto flags = symbol.getFlags();
    ASSERT_TRUE(name && flags);
    if (!(*flags & llvm::object::SymbolRef::SF_Undefined) && (*flags & llvm::object::SymbolRef::SF_Global))
      defined.insert(name->str());
  }
  EXPECT_TRUE(defined.count("mlp_forward"));
  EXPECT_TRUE(defined.count("mlp_model"));
  // Only the forward function and the description are exported.
  EXPECT_EQ(defined.size(), 2u);
  // Nothing but the output is left in the directory.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
}

TEST(CodegenEmit, LlvmIrParsesBack) {
  TestModel m = mlpModel();
  TempDir dir;
  std::string path = dir / "mlp.ll";
  ASSERT_FALSE(bool(seq::codegen::emitFile(m.g, {}, EmitKind::LlvmIr, path, nullptr)));
  llvm::LLVMContext context;
  llvm::SMDiagnostic problem;
  std::unique_ptr<llvm::Module> module = llvm::parseIRFile(path, problem, context);
  ASSERT_TRUE(module) << problem.getMessage().str();
  EXPECT_FALSE(llvm::verifyModule(*module, &llvm::errs()));
  llvm::Function *forward = module->getFunction("mlp_forward");
  ASSERT_TRUE(forward && !forward->isDeclaration());
  EXPECT_EQ(forward->arg_size(), 5u); // weights, x, output, batch, ctx
  // After -O2 every kernel is inlined, none left as a function, except the
  // Linear GEMM shared by all call sites (KernelLink's sharedKernel).
  for (const llvm::Function &fn : *module) {
    bool shared = fn.getName() == "seqk_gemm_packed" || fn.getName() == "seqk_gemm_packed_stream";
    EXPECT_FALSE(fn.getName().starts_with("seqk_") && !fn.isDeclaration() && !shared) << fn.getName().str();
  }
}

// With the weights compiled in: an aligned internal constant, and the same
// signature (the weights parameter may be NULL).
TEST(CodegenEmit, EmbeddedWeights) {
  TestModel m = mlpModel();
  llvm::LLVMContext context;
  auto module = seq::codegen::buildModule(m.g, context, {}, &m.packed);
  ASSERT_TRUE(bool(module)) << errorText(module.takeError());
  llvm::GlobalVariable *weights = (*module)->getGlobalVariable("mlp_weights", /*AllowInternal=*/true);
  ASSERT_NE(weights, nullptr);
  EXPECT_TRUE(weights->isConstant() && weights->hasInternalLinkage());
  EXPECT_EQ(weights->getAlign().valueOrOne().value(), uint64_t(SEQRT_ALIGNMENT));
  EXPECT_EQ((*module)->getFunction("mlp_forward")->arg_size(), 5u);

  std::vector<float> wrongSize(3);
  auto bad = seq::codegen::buildModule(m.g, context, {}, &wrongSize);
  EXPECT_FALSE(bool(bad));
  llvm::consumeError(bad.takeError());
}

// The vectorised loops use the target's vector registers (checked for a
// named AVX-512 CPU, so that the test does not depend on the host).
TEST(CodegenEmit, AssemblyIsVectorised) {
  TestModel m("vec");
  int x = m.input("x", {kBatch, 64, 28, 28});
  ir::Node conv = makeNode(ir::OpKind::Conv2d, {x});
  conv.attrs.kernel[0] = conv.attrs.kernel[1] = 3;
  std::fill(conv.attrs.pad, conv.attrs.pad + 4, 1);
  conv.attrs.weight = m.weight("w", 64 * 64 * 9);
  conv.attrs.bias = m.weight("b", 64);
  ir::EpilogueOp bias{ir::EpilogueOp::Kind::Bias}, silu{ir::EpilogueOp::Kind::Unary};
  bias.packed = conv.attrs.bias;
  silu.unary = ir::UnaryKind::Silu;
  conv.epilogue = {bias, silu};
  m.finish(m.add(conv, {kBatch, 64, 28, 28}));
  TempDir dir;
  std::string path = dir / "vec.s";
  ASSERT_FALSE(bool(seq::codegen::emitFile(m.g, target("x86_64-linux-gnu", "skylake-avx512", 3), EmitKind::Assembly,
                                           path, nullptr)));
  std::string text = readFile(path);
  EXPECT_NE(text.find("vfmadd"), std::string::npos);
  EXPECT_TRUE(text.find("%zmm") != std::string::npos || text.find("%ymm") != std::string::npos);
}

TEST(CodegenEmit, TargetErrors) {
  auto unknown = seq::codegen::resolveTarget(target("nonsense-unknown-none", "", 3));
  ASSERT_FALSE(bool(unknown));
  std::string message = errorText(unknown.takeError());
  EXPECT_NE(message.find("unknown target 'nonsense-unknown-none'"), std::string::npos) << message;
  EXPECT_NE(message.find("x86-64"), std::string::npos) << message;

  TestModel m = mlpModel();
  TempDir dir;
  llvm::Error badCpu = seq::codegen::emitFile(m.g, target("x86_64-linux-gnu", "no-such-cpu", 3), EmitKind::Object,
                                              dir / "a.o", nullptr);
  ASSERT_TRUE(bool(badCpu));
  EXPECT_NE(errorText(std::move(badCpu)).find("unknown CPU 'no-such-cpu'"), std::string::npos);

  // LLVM knows RISC-V, but seqc carries no kernels for it.
  llvm::Error noKernels = seq::codegen::emitFile(m.g, target("riscv64-linux-gnu", "", 3), EmitKind::Object,
                                                 dir / "b.o", nullptr);
  ASSERT_TRUE(bool(noKernels));
  message = errorText(std::move(noKernels));
  EXPECT_NE(message.find("riscv64"), std::string::npos) << message;
  EXPECT_NE(message.find("aarch64"), std::string::npos) << message;
  EXPECT_TRUE(fs::is_empty(dir.path));
}

TEST(CodegenEmit, UnwritableOutput) {
  TestModel m = mlpModel();
  TempDir dir;
  llvm::Error error = seq::codegen::emitFile(m.g, {}, EmitKind::Object, dir / "missing/mlp.o", nullptr);
  ASSERT_TRUE(bool(error));
  EXPECT_NE(errorText(std::move(error)).find("cannot write"), std::string::npos);
}

// ---- The header ---------------------------------------------------------------------

// Compiles `header` with `compiler` (cc or c++) if it exists.
void expectCompiles(const std::string &header, const std::string &compiler, const std::string &flags) {
  if (std::system(("command -v " + compiler + " >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << compiler << " is not installed";
  TempDir dir;
  std::string path = dir / "model.h";
  std::ofstream(path) << header;
  fs::path runtime = SEQ_RUNTIME_INCLUDE_DIR;
  std::string command = compiler + " " + flags + " -fsyntax-only -Wall -Wextra -Werror -I" + runtime.string() +
                        " " + path + " 2>" + (dir / "errors.txt");
  int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << command << "\n" << readFile(dir / "errors.txt") << "\n" << header;
}

TEST(CodegenHeader, Content) {
  TestModel m = mlpModel();
  std::string header = seq::codegen::emitHeader(m.g, false);
  for (const char *expected :
       {"#ifndef SEQC_MLP_H", "#include \"seqrt.h\"", "extern \"C\" {", "extern const seqrt_model mlp_model;",
        "#define MLP_NUM_INPUTS 1", "#define MLP_BATCH_FIXED 0", "#define MLP_X_ELEMS(batch) ((int64_t)(batch) * 8)",
        "#define MLP_OUTPUT_ELEMS(batch) ((int64_t)(batch) * 4)", "#define MLP_OUTPUT_RANK 2",
        "#define MLP_OUTPUT_SHAPE { -1, 4 }", "#define MLP_WORKSPACE_SIZE(batch)", "#define MLP_PACKED_SIZE 208",
        "#define MLP_MAX_BATCH INT64_C(", "#if SEQRT_ABI_VERSION != 2",
        "seqrt_status mlp_forward(const seqrt_weights *weights, const float *x, float *output,",
        "fc1.weight  [16, 8]", "may be shared by any number of\n * threads; a context is used by one call at a time"})
    EXPECT_NE(header.find(expected), std::string::npos) << expected << "\n" << header;
  EXPECT_EQ(header.find("WEIGHTS_EMBEDDED"), std::string::npos);

  std::string embedded = seq::codegen::emitHeader(m.g, true);
  EXPECT_NE(embedded.find("#define MLP_WEIGHTS_EMBEDDED 1"), std::string::npos);
  EXPECT_NE(embedded.find("seqrt_status mlp_forward(const seqrt_weights *weights, const float *x, float *output,"),
            std::string::npos);
  EXPECT_NE(embedded.find("weights: NULL for the weights compiled in"), std::string::npos);
}

// Input names that are not C identifiers, or clash with the other
// parameters, still make a valid prototype.
TestModel awkwardInputs() {
  TestModel m("awkward");
  int a = m.input("output", {kBatch, 3}), b = m.input("int", {kBatch, 3});
  ir::Node add = makeNode(ir::OpKind::Binary, {a, b});
  m.finish(m.add(add, {kBatch, 3}));
  return m;
}

TEST(CodegenHeader, CompilesAsC) {
  expectCompiles(seq::codegen::emitHeader(mlpModel().g, false), "cc", "-x c -std=c99 -pedantic");
  expectCompiles(seq::codegen::emitHeader(mlpModel().g, true), "cc", "-x c -std=c99 -pedantic");
  expectCompiles(seq::codegen::emitHeader(awkwardInputs().g, false), "cc", "-x c -std=c99");
}

// A header generated for one ABI version does not compile against the
// seqrt.h of another.
TEST(CodegenHeader, RefusesAnotherSeqrtHeader) {
  if (std::system("command -v cc >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "cc is not installed";
  TempDir dir;
  std::ofstream(dir / "seqrt.h") << "#define SEQRT_ABI_VERSION 1\n";
  std::ofstream(dir / "model.h") << seq::codegen::emitHeader(mlpModel().g, false);
  std::string command = "cc -x c -fsyntax-only -I" + dir.path.string() + " " + (dir / "model.h") + " 2>" +
                        (dir / "errors.txt");
  EXPECT_NE(std::system(command.c_str()), 0);
  EXPECT_NE(readFile(dir / "errors.txt").find("generated by seqc for seqrt ABI version 2"), std::string::npos)
      << readFile(dir / "errors.txt");
}

TEST(CodegenHeader, CompilesAsCxx) {
  expectCompiles(seq::codegen::emitHeader(mlpModel().g, false), "c++", "-x c++ -std=c++17");
}

} // namespace
} // namespace codegen_test
