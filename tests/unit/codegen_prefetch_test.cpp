// Which weights each layer prefetches (codegen's NextWeights, the
// kernels' xl and xlBytes). A prefetch changes no result, so only these
// tests notice when a model stops prefetching, or prefetches where it only
// costs: weights too big to stay in the caches until used, or a model
// small enough to stay cached from one call to the next.
#include "codegen/Codegen.h"
#include "codegen/NodeGenConv.h"
#include "graph_from_source.h"

#include <llvm/IR/LLVMContext.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace seq;

// For each convolution, in order: the bytes of weights it prefetches.
std::vector<int64_t> prefetches(const std::string &source) {
  std::vector<int64_t> out;
  std::optional<ir::Graph> graph = seq_test::graphOf(source.c_str());
  if (!graph) {
    ADD_FAILURE() << "no graph";
    return out;
  }
  for (size_t i = 0; i < graph->nodes.size(); ++i)
    if (graph->nodes[i].kind == ir::OpKind::Conv2d) {
      codegen::NextWeights::Range r = codegen::NextWeights::of(*graph, int(i));
      out.push_back(r.first >= 0 ? r.floats * int64_t(sizeof(float)) : 0);
    }
  // and the module builds
  llvm::LLVMContext context;
  auto module = codegen::buildModule(*graph, context, {}, nullptr);
  if (!module)
    ADD_FAILURE() << llvm::toString(module.takeError());
  return out;
}

// `layers` 3x3 convolutions of `channels` channels on a `side` x `side`
// image, with batch norms and ReLUs.
std::string stack(int layers, int channels, int side) {
  std::string body;
  for (int i = 0; i < layers; ++i)
    body += fmt::format("    Conv2d({0}, {0}, 3, padding=1, bias=False), BatchNorm2d({0}), ReLU(),\n", channels);
  return fmt::format("model Stack(x: [N, {0}, {1}, {1}]) = Sequential(\n{2})\n", channels, side, body);
}

using codegen::NextWeights;

// 32 x 590 KB of weights (1 MB each as Winograd's transformed weights, at
// 14x14; packed at 6x6): every layer but the last reads the next one's
// weights, and no more than NextWeights::kNextWeightsMaxBytes of them.
TEST(CodegenPrefetch, EachLayerOfABigModelPrefetchesTheNext) {
  const int64_t packed = 128 * 128 * 9 * 4, winograd = 128 * 128 * 16 * 4;
  for (auto [side, layer] : {std::pair<int, int64_t>{14, winograd}, {6, packed}}) {
    std::vector<int64_t> bytes = prefetches(stack(32, 128, side));
    ASSERT_EQ(bytes.size(), 32u) << side;
    for (size_t i = 0; i + 1 < bytes.size(); ++i) {
      int64_t next =
          std::min<int64_t>(int64_t(bytes.size() - 1 - i), NextWeights::kNextWeightsMaxBytes / layer) * layer;
      EXPECT_EQ(bytes[i], next) << "layer " << i << " at " << side << "x" << side;
      EXPECT_GT(bytes[i], 0) << "layer " << i << " at " << side << "x" << side;
    }
    EXPECT_EQ(bytes.back(), 0) << "the last layer has no next weights";
  }
}

// 8 x 2.4 MB (packed, at 6x6): a big enough model, but each layer's
// weights are more than kNextWeightsMaxBytes: the kernels' own next-panel
// prefetch reads them.
TEST(CodegenPrefetch, WeightsOverTheRangeAreNotPrefetched) {
  std::optional<ir::Graph> graph = seq_test::graphOf(stack(8, 256, 6).c_str());
  ASSERT_TRUE(graph);
  ASSERT_GE(NextWeights::callBytesAtBatch1(*graph), NextWeights::kNextWeightsMinCallBytes);
  for (int64_t bytes : prefetches(stack(8, 256, 6)))
    EXPECT_EQ(bytes, 0);
}

// 3 x 2.4 MB (packed, at 6x6): a call touches less than
// kNextWeightsMinCallBytes, which stays in the caches between two calls.
TEST(CodegenPrefetch, ASmallModelDoesNotPrefetch) {
  std::optional<ir::Graph> graph = seq_test::graphOf(stack(3, 256, 6).c_str());
  ASSERT_TRUE(graph);
  ASSERT_LT(NextWeights::callBytesAtBatch1(*graph), NextWeights::kNextWeightsMinCallBytes);
  for (size_t i = 0; i < graph->nodes.size(); ++i)
    EXPECT_FALSE(NextWeights::of(*graph, int(i)).enabled);
}

// The same 12.6 MB of weights (three 1024 -> 1024 1x1 convolutions): on
// a 6x6 image a call touches little more, and the prefetch is off; on
// 40x40 its activations (6.6 MB each) take it past
// kNextWeightsMinCallBytes, and it is on (each next layer's 4 MB is over
// the range: what this checks is the switch).
TEST(CodegenPrefetch, TheThresholdCountsTheWorkspace) {
  auto pointwise = [](int side) {
    std::string body;
    for (int i = 0; i < 3; ++i)
      body += "    Conv2d(1024, 1024, 1, bias=False), ReLU(),\n";
    return fmt::format("model Wide(x: [N, 1024, {0}, {0}]) = Sequential(\n{1})\n", side, body);
  };
  for (int side : {6, 40}) {
    std::optional<ir::Graph> graph = seq_test::graphOf(pointwise(side).c_str());
    ASSERT_TRUE(graph) << side;
    const int64_t weights = graph->packedSize * int64_t(sizeof(float));
    EXPECT_EQ(weights, 3 * 1024 * 1024 * 4) << side;
    const int64_t call = NextWeights::callBytesAtBatch1(*graph);
    EXPECT_GT(call, weights) << side;
    const bool big = side == 40;
    EXPECT_EQ(call >= NextWeights::kNextWeightsMinCallBytes, big) << side << ": " << call << " bytes";
    for (size_t i = 0; i < graph->nodes.size(); ++i)
      EXPECT_EQ(NextWeights::of(*graph, int(i)).enabled, big) << side << " node " << i;
  }
}

} // namespace
