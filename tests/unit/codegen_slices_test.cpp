// Batch slices (LlvmGen.cpp): a small model at a large batch on two
// threads or more runs the whole graph on slices of the batch in
// parallel, each slice in its own part of the workspace. The output must
// be the one the whole batch gives (a one-thread context, which never
// slices) at every batch around the slice sizes: below two slices, a
// whole number of slices, a remainder, a prime. Models that must not be
// sliced (weights beyond L2, a fixed batch) are not. (Sema rejects the
// ops that mix the samples of a batch.)
#include "codegen/Codegen.h"
#include "codegen/Jit.h"

#include "graph_from_source.h"
#include "seqrt.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <random>

namespace {

using namespace seq;

// LeNet-5 as examples/lenet5.seq, with a log_softmax over dim 1: mostly
// convolutions, so it runs image by image, never sliced.
const char *kLeNet = R"(model LeNet(x: [N, 1, 28, 28]) {
    features = Sequential(Conv2d(1, 6, 5, padding=2), Tanh(), AvgPool2d(2),
                          Conv2d(6, 16, 5), Tanh(), AvgPool2d(2))
    classifier = Sequential(Linear(400, 120), Tanh(), Linear(120, 84), Tanh(), Linear(84, 10))
    forward(x) { return log_softmax(classifier(flatten(features(x), 1)), dim=1) }
}
)";

// A small convolution with a fixed-region scratch (the padded image), a
// pool, then Linear layers that do most of the work and whose output rows
// (10 floats) are no multiple of a cache line: sliced, not image by image.
const char *kConvMlp = R"(model ConvMlp(x: [N, 1, 28, 28]) {
    features = Sequential(Conv2d(1, 4, 3, padding=1), Tanh(), AvgPool2d(2))
    classifier = Sequential(Linear(784, 200), Tanh(), Linear(200, 84), Tanh(), Linear(84, 10))
    forward(x) { return log_softmax(classifier(flatten(features(x), 1)), dim=1) }
}
)";

// 2 MB of weights: past kSliceMaxWeights.
const char *kWide = R"(model Wide(x: [N, 512]) = Sequential(Linear(512, 1024), ReLU()))";

// A fixed batch of 64: its forward function takes no other batch.
const char *kFixedBatch = R"(model Fixed(x: [64, 64]) = Sequential(Linear(64, 64), ReLU()))";

using seq_test::graphOf;
using seq_test::jitForward;

// Whether the generated module has the slice task.
bool sliced(const ir::Graph &graph) {
  llvm::LLVMContext context;
  auto module = codegen::buildModule(graph, context, {}, nullptr);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return false;
  }
  return (*module)->getFunction(graph.symbolPrefix + ".slices.task") != nullptr;
}

TEST(CodegenSlices, SlicedBatchesMatchTheWholeBatch) {
  std::optional<ir::Graph> lenet = graphOf(kLeNet);
  ASSERT_TRUE(lenet);
  EXPECT_GT(lenet->imageSlotBytes, 0) << "LeNet-5 runs image by image";
  EXPECT_FALSE(sliced(*lenet));
  std::optional<ir::Graph> graph = graphOf(kConvMlp);
  ASSERT_TRUE(graph);
  ASSERT_EQ(graph->imageSlotBytes, 0);
  ASSERT_GT(graph->workspaceFixed, 0) << "the test wants a fixed-region scratch";
  EXPECT_TRUE(sliced(*graph));
  auto jit = codegen::JitModel::create(*graph, {});
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
  seqrt_weights *weights = nullptr;
  ASSERT_EQ(seqrt_weights_random(&(*jit)->model(), 11, &weights), SEQRT_OK) << seqrt_last_error();
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> unit(-1, 1);
  for (int64_t batch : {1, 8, 15, 16, 17, 24, 37, 64, 101}) {
    std::vector<float> x(size_t(batch * 28 * 28));
    for (float &v : x)
      v = unit(rng);
    x[size_t(batch / 2) * 28 * 28 + 300] = NAN; // one sample's output only
    std::vector<float> want = jitForward(**jit, weights, x, batch, 1, 10);
    for (int threads : {2, 3}) {
      std::vector<float> got = jitForward(**jit, weights, x, batch, threads, 10);
      for (size_t i = 0; i < got.size(); ++i) {
        bool nanSample = int64_t(i / 10) == batch / 2;
        ASSERT_EQ(std::isnan(got[i]), nanSample) << "batch " << batch << ", element " << i;
        if (!nanSample) {
          ASSERT_NEAR(got[i], want[i], 1e-5f + 1e-5f * std::fabs(want[i]))
              << "batch " << batch << ", " << threads << " threads, element " << i;
        }
      }
    }
  }
  seqrt_weights_free(weights);
}

TEST(CodegenSlices, OnlySmallModelsWithIndependentSamplesAreSliced) {
  std::optional<ir::Graph> wide = graphOf(kWide);
  ASSERT_TRUE(wide);
  EXPECT_FALSE(sliced(*wide));
  std::optional<ir::Graph> fixed = graphOf(kFixedBatch);
  ASSERT_TRUE(fixed);
  EXPECT_FALSE(sliced(*fixed));
}

} // namespace
