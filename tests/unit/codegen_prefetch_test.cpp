// Which layers prefetch the next layer's weights (codegen's NextWeights,
// the kernels' xl and xlBytes). A prefetch changes no result, so only these
// tests notice when a model stops prefetching, or prefetches where it only
// costs: weights too big to stay in the caches until used, or a model
// small enough to stay cached from one call to the next.
#include "codegen/Codegen.h"
#include "graph_from_source.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

namespace {

using namespace seq;

// For each call of a convolution kernel from the generated code, in
// module order: whether it is given weights to prefetch (its xlBytes
// argument not the constant 0).
std::vector<bool> prefetches(const std::string &source) {
  std::vector<bool> out;
  std::optional<ir::Graph> graph = seq_test::graphOf(source.c_str());
  if (!graph) {
    ADD_FAILURE() << "no graph";
    return out;
  }
  llvm::LLVMContext context;
  auto module = codegen::buildModule(*graph, context, {}, nullptr);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return out;
  }
  for (const llvm::Function &f : **module) {
    if (f.getName().starts_with("seqk_"))
      continue; // the kernel library's entries call each other
    for (const llvm::BasicBlock &block : f)
      for (const llvm::Instruction &inst : block) {
        const auto *call = llvm::dyn_cast<llvm::CallInst>(&inst);
        const llvm::Function *callee = call ? call->getCalledFunction() : nullptr;
        if (!callee || (callee->getName() != "seqk_conv2d_packed" && callee->getName() != "seqk_conv2d_pointwise" &&
                        callee->getName() != "seqk_conv2d_winograd"))
          continue;
        const auto *bytes = llvm::dyn_cast<llvm::ConstantInt>(call->getArgOperand(call->arg_size() - 1));
        out.push_back(!bytes || !bytes->isZero());
      }
  }
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

// 8 x 2.4 MB of weights (4.2 MB each as Winograd's transformed weights):
// every layer but the last reads the next one's weights.
TEST(CodegenPrefetch, EachLayerOfABigModelPrefetchesTheNext) {
  for (int side : {14, 7}) { // Winograd's tiles, then packed tiles
    std::vector<bool> calls = prefetches(stack(8, 256, side));
    ASSERT_EQ(calls.size(), 8u) << side;
    for (size_t i = 0; i + 1 < calls.size(); ++i)
      EXPECT_TRUE(calls[i]) << "layer " << i << " at " << side << "x" << side;
    EXPECT_FALSE(calls.back()) << "the last layer has no next weights";
  }
}

// 9.4 MB a layer: more than stays cached until the next layer runs.
TEST(CodegenPrefetch, WeightsTooBigToStayCachedAreNotPrefetched) {
  for (bool calls : prefetches(stack(3, 512, 7)))
    EXPECT_FALSE(calls);
}

// 3 x 2.4 MB: under the 8 MB from which a model's weights leave the
// caches between two calls.
TEST(CodegenPrefetch, ASmallModelDoesNotPrefetch) {
  std::vector<bool> calls = prefetches(stack(3, 256, 7));
  ASSERT_EQ(calls.size(), 3u);
  for (bool call : calls)
    EXPECT_FALSE(call);
}

} // namespace
