// seqrt.hpp, the C++17 wrappers, on a model the code generator compiled to
// an object: a C++ program using seqrt::Model<mlp_desc> (the description
// struct of the generated header) is compiled, linked against libseqrt and
// run; its output must equal the JIT's for the same weights, and its
// failures must arrive as seqrt::Error with the runtime's status.
#include "codegen_test_support.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace codegen_test {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "seqc-hpp-XXXXXX").string();
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

constexpr int64_t kBatch3 = 3;
constexpr uint64_t kSeed = 7;

std::vector<float> inputValues() {
  std::vector<float> x(kBatch3 * 8);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 0.1f * float(i) - 1.0f;
  return x;
}

const char *kProgram = R"(#include "seqrt.hpp"
#include "mlp.h"

#include <cstdio>
#include <vector>

int main() {
  std::vector<float> x(3 * 8);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 0.1f * float(i) - 1.0f;
  try {
    seqrt::Weights weights = seqrt::Weights::random(mlp_model, 7);
    seqrt::Model<mlp_desc> model(weights, 2);
    seqrt::Model<mlp_desc> second(weights, 1); // one set of weights, shared
    std::vector<float> y = model(3, x.data());
    if (second(3, x.data()) != y || model.outputElements(3) != 12 || model.numInputs() != 1)
      return 3;
    for (float v : y)
      std::printf("%.9g\n", v);
  } catch (const seqrt::Error &e) {
    std::printf("unexpected: %s\n", e.what());
    return 2;
  }
  try {
    seqrt::Model<mlp_desc> noWeights;
    noWeights(1, x.data());
    return 4;
  } catch (const seqrt::Error &e) {
    std::printf("error %d: %s\n", int(e.status()), e.what());
  }
  return 0;
}
)";

TEST(CodegenCxxWrapper, ModelRunsThroughSeqrtHpp) {
  // $CXX when set: a sanitizer build's libseqrt needs a program built with
  // the same sanitizer (scripts/sanitize.sh exports it); under
  // ThreadSanitizer a plain c++ program crashes on loading it.
  const char *cxxEnv = std::getenv("CXX");
  std::string cxx = cxxEnv && *cxxEnv ? cxxEnv : "c++";
  if (std::system(("command -v " + cxx + " >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << cxx << " is not installed";
  TestModel m = mlpModel();
  TempDir dir;
  ASSERT_FALSE(bool(seq::codegen::emitFile(m.g, {}, seq::codegen::EmitKind::Object, dir / "mlp.o", nullptr)));
  std::ofstream(dir / "mlp.h") << seq::codegen::emitHeader(m.g, false);
  std::ofstream(dir / "main.cpp") << kProgram;
  std::string lib = SEQ_RUNTIME_LIB_DIR;
  std::string command = cxx + " -std=c++17 -Wall -Wextra -Werror -I" + std::string(SEQ_RUNTIME_INCLUDE_DIR) + " -I" +
                        dir.path.string() + " " + (dir / "main.cpp") + " " + (dir / "mlp.o") + " -L" + lib +
                        " -lseqrt -Wl,-rpath," + lib + " -o " + (dir / "main") + " 2>" + (dir / "cc.txt");
  ASSERT_EQ(std::system(command.c_str()), 0) << command << "\n" << readFile(dir / "cc.txt");
  ASSERT_EQ(std::system(((dir / "main") + " >" + (dir / "out.txt")).c_str()), 0) << readFile(dir / "out.txt");

  // The same model and weights through the JIT.
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  seqrt_weights *raw = nullptr;
  ASSERT_EQ(seqrt_weights_random(&jit->model(), kSeed, &raw), SEQRT_OK);
  WeightsPtr weights(raw);
  std::vector<float> x = inputValues(), want(kBatch3 * 4);
  seqrt_context *ctx = nullptr;
  ASSERT_EQ(seqrt_context_new(1, 1 << 16, &ctx), SEQRT_OK);
  const float *inputs[] = {x.data()};
  ASSERT_EQ(jit->forward(weights.get(), inputs, want.data(), kBatch3, ctx), SEQRT_OK);
  seqrt_context_free(ctx);

  std::istringstream out(readFile(dir / "out.txt"));
  std::vector<float> got;
  std::string line;
  while (std::getline(out, line) && line.rfind("error", 0) != 0)
    got.push_back(std::stof(line));
  expectNear(got, want, "seqrt::Model<mlp_desc> vs the JIT");
  EXPECT_EQ(line.rfind("error 1: mlp_forward: invalid argument", 0), 0u) << line;
  EXPECT_NE(line.find("the weights are NULL"), std::string::npos) << line;
}

} // namespace
} // namespace codegen_test
