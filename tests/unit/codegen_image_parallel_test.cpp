// The forward pass image by image (ir/ImageParallel.h): which graphs run
// so, and that they compute the same as node by node over the batch, for
// every batch and thread count (batches smaller and larger than the
// threads, odd ones), each image exactly as at batch 1.
#include "codegen_test_support.h"

#include "ir/ImageParallel.h"
#include "ir/Verifier.h"
#include "ir_test_builder.h"
#include "passes/Passes.h"

#include <cstring>

namespace codegen_test {
namespace {

// The pieces of the models below: a convolution of K x K (C -> OC on H x
// W, its weights and maybe bias and ReLU), a flatten (a Reshape alias) and
// a Linear layer (maybe with ReLU).
ir::EpilogueOp reluOp() {
  ir::EpilogueOp relu{ir::EpilogueOp::Kind::Unary};
  relu.unary = ir::UnaryKind::Relu;
  return relu;
}

int conv(TestModel &m, int x, const std::string &name, int64_t OC, int64_t K, int64_t stride, int64_t pad,
         bool bias, bool relu) {
  const std::vector<int64_t> &in = m.g.value(x).shape.dims;
  ir::Node c = makeNode(ir::OpKind::Conv2d, {x});
  c.attrs.kernel[0] = c.attrs.kernel[1] = K;
  c.attrs.stride[0] = c.attrs.stride[1] = stride;
  std::fill(c.attrs.pad, c.attrs.pad + 4, pad);
  c.attrs.weight = m.weight(name + ".w", OC * in[1] * K * K);
  if (bias) {
    c.attrs.bias = m.weight(name + ".b", OC);
    ir::EpilogueOp b{ir::EpilogueOp::Kind::Bias};
    b.packed = c.attrs.bias;
    c.epilogue.push_back(b);
  }
  if (relu)
    c.epilogue.push_back(reluOp());
  int64_t OH = (in[2] + 2 * pad - K) / stride + 1, OW = (in[3] + 2 * pad - K) / stride + 1;
  return m.add(c, {kBatch, OC, OH, OW});
}

int flatten(TestModel &m, int x) {
  int f = m.add(makeNode(ir::OpKind::Reshape, {x}), {kBatch, m.g.value(x).shape.elementsPerBatch()});
  m.g.value(f).storage = ir::Storage::Alias;
  m.g.value(f).aliasOf = x;
  return f;
}

int linear(TestModel &m, int x, const std::string &name, int64_t N, bool relu) {
  ir::Node fc = makeNode(ir::OpKind::Linear, {x});
  fc.attrs.weight = m.weight(name + ".w", m.g.value(x).shape.dims.back() * N);
  if (relu)
    fc.epilogue = {reluOp()};
  return m.add(fc, {kBatch, N});
}

// x [N, 3, 10, 12] -> Conv2d(3, 16, 3, pad 1) + ReLU -> Conv2d(16, 8, 3,
// stride 2) -> flatten -> Linear(8*4*5, 6): a scratch buffer (the padded
// copy), the workspace, a Reshape alias, and an output of another size
// than the input.
TestModel convModel(bool imageByImage) {
  TestModel m("imgs");
  int x = m.input("x", {kBatch, 3, 10, 12});
  int h = conv(m, conv(m, x, "c1", 16, 3, 1, 1, true, true), "c2", 8, 3, 2, 0, false, false);
  m.finish(linear(m, flatten(m, h), "fc", 6, false));
  if (imageByImage) // the per-batch layout of one image is one image's slot
    m.g.imageSlotBytes = (m.g.workspacePerBatch + m.g.workspaceFixed + 63) / 64 * 64;
  return m;
}

TEST(CodegenImageParallel, EveryBatchAndThreadCountMatchesNodeByNode) {
  TestModel images = convModel(true), nodes = convModel(false);
  ASSERT_GT(images.g.imageSlotBytes, 0);
  auto byImage = compile(images), byNode = compile(nodes);
  ASSERT_TRUE(byImage && byNode);
  const int64_t inPerImage = 3 * 10 * 12, outPerImage = 6;
  // (16 on 2 and 4 threads: more groups than slots, which the threads
  // claim as they take the groups, their own share's first)
  for (int64_t batch : {1, 2, 3, 5, 8, 16}) {
    std::vector<float> x = randomVector(size_t(batch * inPerImage), uint32_t(100 + batch));
    std::vector<float> want = run(*byNode, nodes, {x}, batch, 2);
    for (int threads : {1, 2, 3, 4}) {
      std::string what = "batch " + std::to_string(batch) + ", " + std::to_string(threads) + " threads";
      std::vector<float> got = run(*byImage, images, {x}, batch, threads);
      expectNear(got, want, what);
      // each image exactly as when it is alone
      for (int64_t n = 0; n < batch; ++n) {
        std::vector<float> one(x.begin() + n * inPerImage, x.begin() + (n + 1) * inPerImage);
        std::vector<float> alone = run(*byImage, images, {one}, 1, threads);
        EXPECT_EQ(std::memcmp(alone.data(), got.data() + n * outPerImage, sizeof(float) * outPerImage), 0)
            << what << ", image " << n;
      }
    }
  }
}

// The model `got` against `want` (the same computation another way), at
// batches 1, 2, 3 and 5 on 1 to 3 threads, from inputs of seed `seed`.
void expectSameOutputs(TestModel &got, TestModel &want, uint32_t seed) {
  auto a = compile(got), b = compile(want);
  ASSERT_TRUE(a && b);
  const int64_t inPerImage = got.g.value(got.g.inputs[0]).shape.elementsPerBatch();
  for (int64_t batch : {1, 2, 3, 5}) {
    std::vector<float> x = randomVector(size_t(batch * inPerImage), seed + uint32_t(batch));
    std::vector<float> expected = run(*b, want, {x}, batch, 1);
    for (int threads : {1, 2, 3})
      expectNear(run(*a, got, {x}, batch, threads), expected,
                 "batch " + std::to_string(batch) + ", " + std::to_string(threads) + " threads");
  }
}

// x [N, 3, 10, 12] -> cat(Conv2d(3, 16, 3, pad 1) + ReLU, Conv2d(3, 8, 1))
// -> Conv2d(24, 8, 3, stride 2) -> flatten -> Linear(160, 6). Image by
// image, the convolutions write the concat's two parts in place, as
// PlanMemory places them (Storage::Slice: 7,680 and 3,840 bytes, whole
// cache lines) and the concat copies nothing.
TestModel fireModel(bool inPlace) {
  TestModel m(inPlace ? "fire_in_place" : "fire");
  int x = m.input("x", {kBatch, 3, 10, 12});
  int a = conv(m, x, "c1", 16, 3, 1, 1, false, true), b = conv(m, x, "c2", 8, 1, 1, 0, false, false);
  ir::Node cat = makeNode(ir::OpKind::Concat, {a, b});
  cat.attrs.dim = 1;
  int both = m.add(cat, {kBatch, 24, 10, 12});
  m.finish(linear(m, flatten(m, conv(m, both, "c3", 8, 3, 2, 0, false, false)), "fc", 6, false));
  if (inPlace) {
    int64_t offset = 0;
    for (int part : {a, b}) {
      ir::Value &v = m.g.value(part);
      v.storage = ir::Storage::Slice;
      v.aliasOf = both;
      v.sliceOffset = offset;
      offset += v.shape.elementsPerBatch() * 4;
    }
    m.g.imageSlotBytes = (m.g.workspacePerBatch + m.g.workspaceFixed + 63) / 64 * 64;
  }
  return m;
}

TEST(CodegenImageParallel, ConcatInputsWrittenInPlaceMatchACopy) {
  TestModel inPlace = fireModel(true), copied = fireModel(false);
  ASSERT_TRUE(ir::concatInPlace(inPlace.g, inPlace.g.nodes[2]));
  ASSERT_FALSE(ir::concatInPlace(copied.g, copied.g.nodes[2]));
  expectSameOutputs(inPlace, copied, 200);
}

// x [N, 3, 10, 12] -> Conv2d(3, 16, 3, pad 1) + ReLU -> flatten ->
// Linear(1920, 40) + ReLU -> Linear(40, 6). With a head (as PlanMemory
// makes one): the convolution image by image, the two Linear layers once
// over the batch after the images, the convolution's output and the first
// Linear's in the head's region after the slots (Storage::Head).
TestModel headModel(bool withHead) {
  TestModel m(withHead ? "head" : "no_head");
  int x = m.input("x", {kBatch, 3, 10, 12});
  int h = conv(m, x, "c1", 16, 3, 1, 1, false, true);
  int f1 = linear(m, flatten(m, h), "fc1", 40, true);
  m.finish(linear(m, f1, "fc2", 6, false));
  if (withHead) {
    m.g.value(h).storage = m.g.value(f1).storage = ir::Storage::Head;
    m.g.value(h).offsetPerBatch = 0;
    m.g.value(f1).offsetPerBatch = 16 * 120 * 4;
    m.g.headStart = 1;
    m.g.headBytesPerBatch = 16 * 120 * 4 + 192;
    m.g.imageSlotBytes = (m.g.workspacePerBatch + m.g.workspaceFixed + 63) / 64 * 64;
  }
  return m;
}

TEST(CodegenImageParallel, AHeadOverTheBatchMatchesNodeByNode) {
  TestModel head = headModel(true), nodes = headModel(false);
  EXPECT_EQ(head.g.callWorkspacePerBatch(), head.g.imageSlotBytes + head.g.headBytesPerBatch);
  expectSameOutputs(head, nodes, 300);
}

// A forward call needs a slot per image; one slot fewer is refused.
TEST(CodegenImageParallel, NeedsASlotPerImage) {
  TestModel m = convModel(true);
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  EXPECT_EQ(jit->model().workspace_fixed, 0);
  EXPECT_EQ(jit->model().workspace_per_batch, m.g.imageSlotBytes);
  WeightsPtr weights = packedWeights(*jit, m);
  std::vector<float> x = randomVector(3 * 3 * 10 * 12, 7), y(3 * 6);
  const float *inputs[] = {x.data()};
  seqrt_context *ctx = nullptr;
  ASSERT_EQ(seqrt_context_new(2, size_t(2 * m.g.imageSlotBytes), &ctx), SEQRT_OK);
  EXPECT_EQ(jit->forward(weights.get(), inputs, y.data(), 3, ctx), SEQRT_ERR_WORKSPACE);
  EXPECT_EQ(jit->forward(weights.get(), inputs, y.data(), 2, ctx), SEQRT_OK);
  seqrt_context_free(ctx);
}

} // namespace
} // namespace codegen_test

namespace seq::ir::testing {
namespace {

// Convolutional networks run image by image; Linear stacks and graphs that
// mix images (a concatenation along the batch) do not.
TEST(ImageParallel, ConvolutionsYesLinearRowsAndBatchMixingNo) {
  TestGraph conv;
  int x = conv.input({3, 32, 32});
  conv.output(conv.relu(conv.conv(conv.relu(conv.conv(x, 16, 3, 1, 1)), 16, 3, 1, 1)));
  passes::runPipeline(conv.g);
  EXPECT_TRUE(imagesIndependent(conv.g));
  EXPECT_TRUE(runsImageByImage(conv.g));
  EXPECT_GT(conv.g.imageSlotBytes, 0);
  EXPECT_EQ(conv.g.callWorkspaceFixed(), 0);
  EXPECT_EQ(conv.g.callWorkspacePerBatch(), conv.g.imageSlotBytes);
  EXPECT_GE(conv.g.imageSlotBytes, conv.g.workspaceFixed + conv.g.workspacePerBatch);

  TestGraph mlp;
  int h = mlp.input({64});
  mlp.output(mlp.linear(mlp.relu(mlp.linear(h, 128)), 10));
  passes::runPipeline(mlp.g);
  EXPECT_TRUE(imagesIndependent(mlp.g));
  EXPECT_FALSE(runsImageByImage(mlp.g));
  EXPECT_EQ(mlp.g.imageSlotBytes, 0);

  TestGraph mixed;
  int a = mixed.input({3, 8, 8});
  int c = mixed.conv(a, 8, 3, 1, 1);
  mixed.output(mixed.concat({c, c}, 0));
  EXPECT_FALSE(imagesIndependent(mixed.g));
  EXPECT_FALSE(runsImageByImage(mixed.g));
}

// A convolutional network whose classifier takes more than
// kImageParallelMaxLinearBytes runs layer by layer, so that the
// classifier reads its weights once for the batch: two 3x3 convolutions
// of 64 channels at 48x48 (170 M multiply-adds an image) and a Linear
// from their 147,456 features to 64 (37.7 MB; 8 flops per weight byte
// and image overall), or to 32 (18.9 MB: image by image).
TEST(ImageParallel, ABigClassifierRunsOverTheBatch) {
  for (int64_t classes : {64, 32}) {
    TestGraph net;
    int x = net.input({64, 48, 48});
    int h = net.relu(net.conv(net.relu(net.conv(x, 64, 3, 1, 1)), 64, 3, 1, 1));
    net.output(net.linear(net.reshape(h, {64 * 48 * 48}), classes));
    passes::runPipeline(net.g);
    EXPECT_TRUE(imagesIndependent(net.g));
    EXPECT_EQ(runsImageByImage(net.g), classes == 32) << classes << " classes";
  }
}

// Image by image, the last nodes whose values are small (at most 64 KB an
// image) run once over the batch when their Linear layers hold 512 KB or
// more: a pool's 64 features an image into Linear(64, 4096) (1 MB), not
// into Linear(64, 10); the pool's output and the head's values move to
// the head's region, and the verifier accepts the plan.
TEST(ImageParallel, AClassifierHeadRunsOverTheBatch) {
  for (int64_t classes : {4096, 10}) {
    TestGraph net;
    int x = net.input({3, 64, 64});
    int h = net.relu(net.conv(net.relu(net.conv(x, 64, 3, 1, 1)), 64, 3, 1, 1));
    int pooled = net.reshape(net.maxPool(h, 64), {64});
    net.output(net.linear(net.relu(net.linear(pooled, 256)), classes));
    passes::runPipeline(net.g);
    ASSERT_GT(net.g.imageSlotBytes, 0);
    if (classes == 10) {
      EXPECT_EQ(net.g.headStart, -1);
      EXPECT_EQ(net.g.headBytesPerBatch, 0);
      continue;
    }
    ASSERT_GE(net.g.headStart, 0);
    const Node &first = net.g.nodes[size_t(net.g.headStart)];
    EXPECT_TRUE(first.kind == OpKind::Reshape || first.kind == OpKind::Linear);
    int heads = 0;
    for (const Value &v : net.g.values)
      heads += v.storage == Storage::Head;
    EXPECT_EQ(heads, 2); // the pool's output and the first Linear's
    EXPECT_EQ(net.g.headBytesPerBatch, 256 + 1024);
    EXPECT_EQ(net.g.callWorkspacePerBatch(), net.g.imageSlotBytes + net.g.headBytesPerBatch);
    EXPECT_TRUE(verify(net.g).empty());
    // the pooled features and the hidden layer are live together
    for (Value &v : net.g.values)
      if (v.storage == Storage::Head)
        v.offsetPerBatch = 0;
    std::vector<std::string> errors = verify(net.g);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("live together but overlap in the head's region"), std::string::npos) << errors[0];
  }
}

// Groups of images fill the group budget, unless one image's activations
// alone fill an L2: then images go one at a time.
TEST(ImageParallel, AGroupFillsItsBudgetUnlessOneImageFillsAnL2) {
  TestGraph conv; // 2.4 MB of weights: groups of up to kImageGroupBytes
  int x = conv.input({3, 16, 16});
  conv.output(conv.relu(conv.conv(conv.relu(conv.conv(x, 256, 3, 1, 1)), 256, 3, 1, 1)));
  passes::runPipeline(conv.g);
  ASSERT_EQ(imageGroupBytes(conv.g), kImageGroupBytes);
  conv.g.workspacePerBatch = 100 * 1024;
  EXPECT_EQ(maxImageGroup(conv.g), kImageGroupBytes / (100 * 1024));
  conv.g.workspacePerBatch = kImageGroupL2Bytes - 64;
  EXPECT_EQ(maxImageGroup(conv.g), 4);
  conv.g.workspacePerBatch = kImageGroupL2Bytes;
  EXPECT_EQ(maxImageGroup(conv.g), 1);
  conv.g.workspacePerBatch = 3 * kImageGroupL2Bytes;
  EXPECT_EQ(maxImageGroup(conv.g), 1);
  // on a machine of 1 MB of L2 an image of 1 MB goes alone; the budget of
  // big weights stays the last-level cache's
  const int64_t l2 = 1 << 20;
  conv.g.workspacePerBatch = l2;
  EXPECT_EQ(maxImageGroup(conv.g, l2), 1);
  conv.g.workspacePerBatch = l2 - 64;
  EXPECT_EQ(maxImageGroup(conv.g, l2), kImageGroupBytes / (l2 - 64));
}

// Weights that fit a core's L2: a group's activations fit the L2 the
// forward function runs on, whatever it is.
TEST(ImageParallel, SmallWeightsGroupToTheL2ItRunsOn) {
  TestGraph conv; // 2 x 16 x 16 x 9 floats of weights
  int x = conv.input({16, 32, 32});
  conv.output(conv.relu(conv.conv(conv.relu(conv.conv(x, 16, 3, 1, 1)), 16, 3, 1, 1)));
  passes::runPipeline(conv.g);
  ASSERT_TRUE(imageWeightsFitL2(conv.g));
  ASSERT_FALSE(oneImageAlways(conv.g));
  for (int64_t l2 : {int64_t(1) << 20, int64_t(2) << 20}) {
    EXPECT_EQ(imageGroupBytes(conv.g, l2), l2);
    conv.g.workspacePerBatch = 300 * 1024;
    EXPECT_EQ(maxImageGroup(conv.g, l2), l2 / (300 * 1024)) << l2;
    conv.g.workspacePerBatch = 900 * 1024; // the VGG block's 0.85 MB
    EXPECT_EQ(maxImageGroup(conv.g, l2), l2 == (1 << 20) ? 1 : 2) << l2;
  }
}

} // namespace
} // namespace seq::ir::testing
