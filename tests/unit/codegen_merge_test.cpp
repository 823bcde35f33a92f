// Tasks and kernel specialisations that layers of different sizes share,
// so that a deep model compiles each kind of task once (compile time):
// concats of long rows and per-channel maps (NodeGenElementwise.cpp) merge
// whatever their channel counts. Each must still compute what it did: the
// outputs of a batch, split over threads at any row, match each image's
// alone.
#include "codegen/Codegen.h"
#include "codegen/Jit.h"
#include "codegen/ObjectEmitter.h"

#include "graph_from_source.h"
#include "seqrt.h"

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <random>

namespace {

using namespace seq;
using namespace llvm;

// Three DenseNet layers: each concatenates the features so far (rows of
// 16 x 144 floats and more: long) and normalises them (BatchNorm + ReLU of
// 16, 24 and 32 channels, the concat's epilogue) before its convolutions.
const char *kDense = R"(
module Layer(c: int) {
    norm = BatchNorm2d(c)
    conv = Conv2d(c, 8, kernel_size=3, padding=1, bias=false)
    forward(x) { return conv(relu(norm(x))) }
}
model Dense(x: [N, 16, 12, 12]) {
    l1 = Layer(16)
    l2 = Layer(24)
    l3 = Layer(32)
    forward(x) {
        features = [x]
        features.append(l1(torch.cat(features, 1)))
        features.append(l2(torch.cat(features, 1)))
        features.append(l3(torch.cat(features, 1)))
        return torch.cat(features, 1)
    }
}
)";

// The functions of `graph`'s module, once equal ones have merged, whose
// names end with `suffix`.
int tasksEndingWith(const ir::Graph &graph, StringRef suffix) {
  LLVMContext context;
  auto module = codegen::buildModule(graph, context, {}, nullptr);
  if (!module) {
    ADD_FAILURE() << toString(module.takeError());
    return -1;
  }
  codegen::prepareModule(**module, 2);
  EXPECT_FALSE(verifyModule(**module, &errs()));
  int n = 0;
  for (const Function &f : **module)
    n += !f.isDeclaration() && f.getName().ends_with(suffix);
  return n;
}

TEST(CodegenMerge, ConcatsOfDifferentSizesAndEpiloguesMerge) {
  std::optional<ir::Graph> graph = seq_test::graphOf(kDense);
  ASSERT_TRUE(graph);
  // four concats of 1 to 4 inputs, three of them through the BatchNorm +
  // ReLU of 16, 24 and 32 channels that follows them (no maps left)
  EXPECT_EQ(tasksEndingWith(*graph, ".concat.task"), 1);
  EXPECT_EQ(tasksEndingWith(*graph, ".map.task"), 0);
}

// Image i of a batch gives what it gives alone, on 1 and 2 threads, at
// batches whose rows (channels x images) split mid-image.
void expectImagesAsAlone(const char *source, int64_t inPerImage, int64_t outPerImage) {
  std::optional<ir::Graph> graph = seq_test::graphOf(source);
  ASSERT_TRUE(graph);
  auto jit = codegen::JitModel::create(*graph, {});
  ASSERT_TRUE(bool(jit)) << toString(jit.takeError());
  seqrt_weights *weights = nullptr;
  ASSERT_EQ(seqrt_weights_random(&(*jit)->model(), 3, &weights), SEQRT_OK) << seqrt_last_error();
  std::mt19937 rng(9);
  std::normal_distribution<float> normal;
  for (int64_t batch : {2, 3, 7}) {
    std::vector<float> x(size_t(batch * inPerImage));
    for (float &v : x)
      v = normal(rng);
    for (int threads : {1, 2}) {
      std::vector<float> y = seq_test::jitForward(**jit, weights, x, batch, threads, outPerImage);
      for (int64_t n = 0; n < batch; ++n) {
        std::vector<float> xn(x.begin() + n * inPerImage, x.begin() + (n + 1) * inPerImage);
        std::vector<float> alone = seq_test::jitForward(**jit, weights, xn, 1, 1, outPerImage);
        for (int64_t i = 0; i < outPerImage; ++i) {
          float want = alone[size_t(i)], got = y[size_t(n * outPerImage + i)];
          ASSERT_NEAR(got, want, 1e-5f + 1e-5f * std::fabs(want))
              << "batch " << batch << ", " << threads << " threads, image " << n << ", element " << i;
        }
      }
    }
  }
  seqrt_weights_free(weights);
}

TEST(CodegenMerge, MergedConcatsAndMapsComputeEachImage) {
  expectImagesAsAlone(kDense, 16 * 144, 40 * 144);
}

// Concats of long rows copy each output row in pieces of about 32 KB (at
// most 8), a task each, cut at multiples of 16 floats wherever the inputs
// meet: here the input's 42 channels of 40 x 40 split in three (10, 3 and
// 29 channels: 64, 19 and 186 KB rows) and joined again in another order,
// 8 pieces of 8,400 floats, most crossing an input's edge. The output is
// the input's channels rearranged, exactly, at every batch and thread
// count.
TEST(CodegenMerge, ConcatPiecesCopyEachRowExactly) {
  std::optional<ir::Graph> graph = seq_test::graphOf(R"(
model Cat(x: [N, 42, 40, 40]) {
    forward(x) {
        a, b, c = torch.split(x, [10, 3, 29], dim=1)
        return torch.cat([c, a, b], 1)
    }
}
)");
  ASSERT_TRUE(graph);
  auto jit = codegen::JitModel::create(*graph, {});
  ASSERT_TRUE(bool(jit)) << toString(jit.takeError());
  seqrt_weights *weights = nullptr;
  ASSERT_EQ(seqrt_weights_random(&(*jit)->model(), 3, &weights), SEQRT_OK) << seqrt_last_error();
  const int64_t plane = 40 * 40, image = 42 * plane;
  for (int64_t batch : {1, 2, 3}) {
    std::vector<float> x(size_t(batch * image));
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = float(i);
    for (int threads : {1, 2, 3}) {
      std::vector<float> y = seq_test::jitForward(**jit, weights, x, batch, threads, image);
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t ch = 0; ch < 42; ++ch) {
          int64_t from = ch < 29 ? ch + 13 : ch - 29; // c, then a and b
          for (int64_t i = 0; i < plane; ++i)
            ASSERT_EQ(y[size_t(n * image + ch * plane + i)], x[size_t(n * image + from * plane + i)])
                << "batch " << batch << ", " << threads << " threads, image " << n << ", channel " << ch;
        }
    }
  }
  seqrt_weights_free(weights);
}

// 37 channels of 20 x 20: a batch of 2 or more is split over the threads
// in runs of rows (image, channel) that start and end inside images.
TEST(CodegenMerge, ChannelMapsSplitMidImage) {
  expectImagesAsAlone(R"(model Norm(x: [N, 37, 20, 20]) = Sequential(BatchNorm2d(37), ReLU6()))", 37 * 400,
                      37 * 400);
}

// Two 5x5 depthwise layers on 14 x 14 planes (the lanes kernel), of 32
// and 48 channels: both multiples of 16, so both pass the kernel the same
// C and share one specialisation (NodeGenConv.cpp, emitDepthwise); a
// third of 40 channels has its own.
TEST(CodegenMerge, LanesDepthwiseOfFullBlocksShareOneSpecialisation) {
  auto lanesShares = [](const char *source) {
    std::optional<ir::Graph> graph = seq_test::graphOf(source);
    if (!graph) {
      ADD_FAILURE() << "no graph";
      return -1;
    }
    LLVMContext context;
    auto module = codegen::buildModule(*graph, context, {}, nullptr);
    if (!module) {
      ADD_FAILURE() << toString(module.takeError());
      return -1;
    }
    codegen::prepareModule(**module, 2);
    int n = 0;
    for (const Function &f : **module)
      n += !f.isDeclaration() && f.getName().starts_with("seqk.share.seqk_depthwise2d_lanes");
    return n;
  };
  // dw1 on 32 channels, dw2 on `c`
  auto model = [](int c) {
    return fmt::format(R"(
model Dw(x: [N, 32, 14, 14]) {{
    dw1 = Conv2d(32, 32, 5, padding=2, groups=32)
    pw = Conv2d(32, {0}, 1)
    dw2 = Conv2d({0}, {0}, 5, padding=2, groups={0})
    forward(x) {{ y = pw(dw1(x)); return dw2(y + y) }}
}}
)",
                       c);
  };
  EXPECT_EQ(lanesShares(model(48).c_str()), 1);
  EXPECT_EQ(lanesShares(model(40).c_str()), 2);
}

} // namespace
