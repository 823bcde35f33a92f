// Which kernel a fused producer + depthwise pair runs on. Both paths give
// the same bits (kernels_dwexpand_test), so only these tests notice when
// a pair falls back from 16 channels in the lanes (dwexpand.c) to the
// planar kernels, or when FuseExpandDepthwise fuses a producer the code
// generator cannot run with channels in the lanes (an internal error).
#include "codegen/Codegen.h"
#include "graph_from_source.h"

#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <optional>
#include <string>

namespace {

using namespace seq;

struct Built {
  bool fused = false; // a convolution's fusedInto is set
  bool lanes = false; // a task calls seqk_expand_depthwise_lanes or
                      // seqk_conv_depthwise_lanes
};

Built build(const std::string &source) {
  Built out;
  std::optional<ir::Graph> graph = seq_test::graphOf(source.c_str());
  if (!graph) {
    ADD_FAILURE() << "no graph";
    return out;
  }
  for (const ir::Node &node : graph->nodes)
    out.fused |= node.kind == ir::OpKind::Conv2d && node.fusedInto >= 0;
  llvm::LLVMContext context;
  auto module = codegen::buildModule(*graph, context, {}, nullptr);
  if (!module) {
    ADD_FAILURE() << llvm::toString(module.takeError());
    return out;
  }
  // a call from the generated code (the kernel library's entries call
  // each other)
  for (const char *kernel : {"seqk_expand_depthwise_lanes", "seqk_conv_depthwise_lanes"})
    if (const llvm::Function *f = (*module)->getFunction(kernel))
      for (const llvm::User *user : f->users())
        if (const auto *call = llvm::dyn_cast<llvm::CallInst>(user))
          out.lanes |= !call->getFunction()->getName().starts_with("seqk_");
  return out;
}

// `first` (a convolution of 3 channels to 32 and its activation, on a
// 56 x 56 image) feeding a 3x3 depthwise convolution of stride `stride`.
std::string pair(const std::string &first, const std::string &act, int stride) {
  return fmt::format(R"(
model Pair(x: [N, 3, 56, 56]) = Sequential(
    {0}, BatchNorm2d(32), {1},
    Conv2d(32, 32, 3, stride={2}, padding=1, groups=32, bias=False), BatchNorm2d(32), ReLU6())
)",
                     first, act, stride);
}

TEST(CodegenFused, AnExpansionRunsWithChannelsInTheLanes) {
  Built b = build(pair("Conv2d(3, 32, 1, bias=False)", "ReLU6()", 2));
  EXPECT_TRUE(b.fused);
  EXPECT_TRUE(b.lanes);
}

TEST(CodegenFused, AStemOfStrideTwoRunsInsideTheDepthwiseConvolution) {
  for (const char *act : {"ReLU()", "ReLU6()", "SiLU()", "Hardswish()"}) {
    Built b = build(pair("Conv2d(3, 32, 3, stride=2, padding=1, bias=False)", act, 1));
    EXPECT_TRUE(b.fused) << act;
    EXPECT_TRUE(b.lanes) << act;
  }
}

// An epilogue without a register form: an expansion falls back to the
// planar kernels, a stem is not fused at all (and the build succeeds).
TEST(CodegenFused, AnEpilogueWithoutRegisterFormTakesThePlanarPathOrNone) {
  Built expansion = build(pair("Conv2d(3, 32, 1, bias=False)", "GELU()", 1));
  EXPECT_TRUE(expansion.fused);
  EXPECT_FALSE(expansion.lanes);
  Built stem = build(pair("Conv2d(3, 32, 3, stride=2, padding=1, bias=False)", "GELU()", 1));
  EXPECT_FALSE(stem.fused);
  EXPECT_FALSE(stem.lanes);
}

} // namespace
