// Tests of PlanMemory: output storage, convolution scratch, and the interval
// allocator (live values never share bytes; dead ones do).
#include "ir/ConvPool.h"
#include "ir/ConvScratch.h"
#include "ir/ImageParallel.h"
#include "ir/Liveness.h"
#include "ir/Verifier.h"
#include "ir_test_builder.h"
#include "passes/Passes.h"

namespace seq::ir::testing {
namespace {

int64_t sumOfBuffers(const Graph &g) {
  int64_t sum = 0;
  for (const Buffer &b : workspaceBuffers(g))
    sum += b.bytes;
  return sum;
}

bool overlap(const Graph &g, int a, int b) {
  int64_t oa = g.value(a).offsetPerBatch, ob = g.value(b).offsetPerBatch;
  int64_t sa = alignTo(valueBytes(g, a), 64), sb = alignTo(valueBytes(g, b), 64);
  return oa < ob + sb && ob < oa + sa;
}

// The graph's last Conv2d node (the one a test built), or null.
const Node *lastConv(const ir::Graph &g) {
  const Node *conv = nullptr;
  for (const Node &n : g.nodes)
    if (n.kind == ir::OpKind::Conv2d)
      conv = &n;
  return conv;
}

TEST(PlanMemory, TwoBranchesStayAliveTogether) {
  TestGraph t;
  int x = t.input({32});
  int trunk = t.relu(t.linear(x, 64));
  int left = t.linear(t.linear(trunk, 48), 40); // trunk lives until `right` starts
  int right = t.linear(trunk, 40);
  t.output(t.linear(t.concat({left, right}, 1), 10));

  passes::runPipeline(t.g);

  ASSERT_EQ(t.g.nodes.size(), 6u);
  int trunkV = t.g.nodes[0].output, l1 = t.g.nodes[1].output, l2 = t.g.nodes[2].output,
      r = t.g.nodes[3].output, cat = t.g.nodes[4].output;
  EXPECT_FALSE(overlap(t.g, trunkV, l1));
  EXPECT_FALSE(overlap(t.g, trunkV, l2));
  EXPECT_FALSE(overlap(t.g, l2, r)); // both read by the concat
  EXPECT_FALSE(overlap(t.g, r, cat));
  EXPECT_LT(t.g.workspacePerBatch, sumOfBuffers(t.g));
  EXPECT_EQ(t.g.workspaceFixed, 0);
  EXPECT_VALID(t.g);
}

TEST(PlanMemory, AChainNeedsOnlyTwoBuffers) {
  TestGraph t;
  int h = t.input({100});
  for (int i = 0; i < 6; ++i)
    h = t.linear(h, 100 + 16 * i);
  t.output(h);

  passes::runPipeline(t.g);

  // The last output is the model's; of the five in the workspace, the two
  // largest neighbours: 4 * 164 bytes -> 704 and 4 * 148 -> 640.
  EXPECT_EQ(t.g.workspacePerBatch, 704 + 640);
  for (const Buffer &b : workspaceBuffers(t.g))
    EXPECT_EQ(bufferOffset(t.g, b) % 64, 0);
  EXPECT_VALID(t.g);
}

// MobileNetV2's first block: 112 x 112 planes, 12.25 pages apart. Each
// 1x1 convolution reads one large buffer and writes another at the same
// positions; were they a multiple of 1 KB apart, a quarter of its loads
// would match a pending store's page offset (4K aliasing). Large buffers
// live at once start at least 128 bytes from that (PlanMemory's
// footprint).
TEST(PlanMemory, LargeBuffersLiveTogetherStartApartWithinAKilobyte) {
  TestGraph t;
  int h = t.input({32, 112, 112});
  h = t.relu(t.conv(h, 32, 1));
  h = t.conv(h, 16, 1);
  h = t.relu(t.conv(h, 96, 1));
  t.output(t.conv(h, 24, 1, 2));

  passes::runPipeline(t.g);

  int checked = 0;
  for (const Node &n : t.g.nodes) {
    if (n.kind != OpKind::Conv2d)
      continue;
    int in = t.g.storageOf(n.inputs[0]).id, out = t.g.storageOf(n.output).id;
    if (t.g.value(in).storage != Storage::Workspace || t.g.value(out).storage != Storage::Workspace)
      continue;
    int64_t apart = (t.g.value(in).offsetPerBatch - t.g.value(out).offsetPerBatch) % 1024;
    apart = (apart + 1024) % 1024;
    EXPECT_GE(std::min(apart, 1024 - apart), 128) << "node " << n.name;
    ++checked;
  }
  EXPECT_GE(checked, 2);
  EXPECT_VALID(t.g);
}

TEST(PlanMemory, AnAliasKeepsItsStorageAlive) {
  TestGraph t;
  int x = t.input({4, 4, 4}), y = t.input({64}, "y");
  int c = t.conv(x, 4, 1);                      // node 0
  int flat = t.reshape(c, {64});                // node 1
  int a = t.linear(t.linear(y, 64), 64);        // nodes 2, 3
  t.output(t.binary(t.linear(flat, 64), a));    // nodes 4, 5

  passes::planMemory(t.g);

  std::vector<Buffer> buffers = workspaceBuffers(t.g);
  ASSERT_FALSE(buffers.empty());
  EXPECT_EQ(buffers[0].value, c);
  EXPECT_EQ(buffers[0].first, 0);
  EXPECT_EQ(buffers[0].last, 4); // the linear reading the reshape of c
  EXPECT_VALID(t.g);
}

TEST(PlanMemory, Im2colScratchOnlyWhereNeeded) {
  TestGraph t;
  int x = t.input({8, 10, 10});
  int a = t.conv(x, 8, 1);                    // pointwise: none
  int b = t.conv(a, 8, 3, 2, 1, true, 8);      // strided depthwise, small plane: channels in the lanes
  int c = t.conv(b, 16, 3, 2, 1, true, 2);     // grouped 3x3: groups*(C/g*9)*(OH*OW)
  t.output(c);

  passes::runPipeline(t.g);

  // One image's buffer, reused image after image: a fixed size, once (the
  // forward pass runs image by image). The depthwise one: a block of 16
  // channels in the lanes, its 5x5 outputs reading 11x11 padded positions,
  // and 9 taps.
  ASSERT_EQ(t.g.scratch.size(), 2u);
  ASSERT_GT(t.g.imageSlotBytes, 0);
  EXPECT_EQ(t.g.scratch[0].node, 1);
  EXPECT_EQ(t.g.scratch[0].bytesFixed, (11 * 11 + 5 * 5 + 9) * 16 * 4);
  EXPECT_EQ(t.g.scratch[1].node, 2);
  EXPECT_EQ(t.g.scratch[1].bytesPerBatch, 0);
  EXPECT_EQ(t.g.scratch[1].bytesFixed, (2 * (4 * 9) * (3 * 3) * 4 + 63) / 64 * 64);
  EXPECT_VALID(t.g);
}

TEST(PlanMemory, WideStridedConvolutionsGatherWithoutScratch) {
  TestGraph t;
  // 16-wide rows: the GEMM gathers its blocks (72 taps an output: on 64
  // or fewer, the lanes kernel would read a padded copy)
  int x = t.input({8, 32, 32});
  t.output(t.conv(x, 8, 3, 2, 1));

  passes::runPipeline(t.g);

  EXPECT_TRUE(t.g.scratch.empty());
  EXPECT_VALID(t.g);
}

TEST(PlanMemory, StrideOneConvolutionsGetAPaddedImage) {
  TestGraph t;
  int x = t.input({4, 32, 30});
  t.output(t.conv(x, 8, 3, 1, 2));

  passes::runPipeline(t.g);

  // [C, H + 4, W + 4] and the kernel's slack after it, one image (the
  // forward pass runs image by image)
  ASSERT_EQ(t.g.scratch.size(), 1u);
  ASSERT_GT(t.g.imageSlotBytes, 0);
  EXPECT_EQ(t.g.scratch[0].bytesFixed, (4 * 36 * 34 + 64) * 4);
  EXPECT_EQ(t.g.imageSlotBytes, t.g.workspaceFixed + t.g.workspacePerBatch);
  EXPECT_EQ(t.g.scratch[0].bytesPerBatch, 0);
  EXPECT_VALID(t.g);
}

TEST(PlanMemory, FixedBatchUsesFixedOffsets) {
  TestGraph t(/*fixedBatch=*/3);
  int x = t.input({2, 6, 6});
  t.output(t.conv(t.relu(t.maxPool(t.conv(x, 4, 3, 1, 1), 2)), 4, 3));

  passes::runPipeline(t.g);

  EXPECT_EQ(t.g.workspacePerBatch, 0);
  EXPECT_GT(t.g.workspaceFixed, 0);
  ASSERT_EQ(t.g.scratch.size(), 2u);
  EXPECT_EQ(t.g.scratch[0].bytesFixed, ir::kConvScratchSlots * (2 * 8 * 8 + 64) * 4); // a padded image a slot
  for (const Value &v : t.g.values)
    EXPECT_EQ(v.offsetPerBatch, 0);
  EXPECT_VALID(t.g);
}

// A Winograd convolution splits each image into its own slot tasks: one
// work buffer a task it can run (here 2 blocks of tile rows), whether or
// not the forward pass runs image by image, and not kConvScratchSlots
// images' worth of all of them (a layer-by-layer model reserved 64 work
// buffers, 53.6 MB, for one 64-channel 56x56 convolution).
TEST(PlanMemory, WinogradReservesAWorkBufferPerTask) {
  TestGraph t(/*fixedBatch=*/3);
  int x = t.input({32, 16, 16});
  t.output(t.conv(x, 32, 3, 1, 1));

  passes::runPipeline(t.g);

  ASSERT_EQ(t.g.scratch.size(), 1u);
  const Node &conv = t.g.nodes[size_t(t.g.scratch[0].node)];
  ASSERT_EQ(ir::convAlgorithm(t.g, conv), ir::ConvAlgorithm::Winograd);
  EXPECT_EQ(ir::winogradPlan(t.g, conv).tasks(), 2);
  EXPECT_EQ(ir::convImageSlotTasks(t.g, conv), 2);
  EXPECT_EQ(t.g.scratch[0].bytesFixed, 2 * ir::convScratchSlotBytes(t.g, conv));
  EXPECT_EQ(ir::convScratchSlotBytes(t.g, conv), ir::winogradPlan(t.g, conv).workFloats * 4);
  EXPECT_VALID(t.g);
}

// Which 3x3 stride-1 convolutions Winograd takes (ir::winogradFits): on a
// plane with an odd side under 16 only with 128 channels or more in and
// out (SqueezeNet's 48 -> 192 and 64 -> 256 at 13x13 ran 13% and 10%
// faster packed); even planes from 8, odd ones from 17, with 16 channels.
TEST(PlanMemory, WinogradSkipsSmallOddPlanesOfFewChannels) {
  struct Case {
    int64_t C, OC, side;
    bool winograd;
  };
  const Case cases[] = {{48, 192, 13, false}, {64, 256, 13, false}, {128, 128, 13, true},
                        {48, 64, 14, true},   {48, 64, 17, true},   {16, 16, 8, true},
                        {64, 64, 9, false},   {128, 96, 9, false},  {128, 128, 7, true}};
  for (const Case &c : cases) {
    TestGraph t;
    int x = t.input({c.C, c.side, c.side});
    t.output(t.conv(x, c.OC, 3, 1, 1));
    passes::runPipeline(t.g);
    const Node *conv = lastConv(t.g);
    ASSERT_NE(conv, nullptr);
    EXPECT_EQ(ir::convAlgorithm(t.g, *conv) == ir::ConvAlgorithm::Winograd, c.winograd)
        << c.C << " -> " << c.OC << " at " << c.side << "x" << c.side;
  }
}

// Convolutions of few taps an output on rows of 16 or more take the
// packed lanes kernel whatever their output channels (LeNet-5's 1 -> 6,
// 5x5 at 28x28: its tanh in registers), but a 1 -> 1 convolution stays
// depthwise (its weight unpacked), a 1x1 one pointwise, one of more taps
// or narrower rows direct.
TEST(PlanMemory, FewTapsTakeThePackedLanesKernel) {
  struct Case {
    int64_t C, OC, K, side;
    ir::ConvAlgorithm algorithm;
  };
  const Case cases[] = {{1, 6, 5, 28, ir::ConvAlgorithm::Packed},     {2, 1, 3, 19, ir::ConvAlgorithm::Packed},
                        {1, 1, 3, 19, ir::ConvAlgorithm::Depthwise},  {9, 1, 1, 19, ir::ConvAlgorithm::Pointwise},
                        {8, 8, 3, 19, ir::ConvAlgorithm::Direct},     {1, 6, 5, 14, ir::ConvAlgorithm::Direct}};
  for (const Case &c : cases) {
    TestGraph t;
    int x = t.input({c.C, c.side, c.side});
    t.output(t.conv(x, c.OC, c.K, 1, c.K / 2));
    passes::runPipeline(t.g);
    const Node *conv = lastConv(t.g);
    ASSERT_NE(conv, nullptr);
    EXPECT_EQ(int(ir::convAlgorithm(t.g, *conv)), int(c.algorithm))
        << c.C << " -> " << c.OC << ", " << c.K << "x" << c.K << " at " << c.side << "x" << c.side;
    // the depthwise kernel reads the weight as it is (packed in panels,
    // the 1 -> 1 convolution computed garbage)
    EXPECT_EQ(ir::weightInPanels(t.g, *conv), c.algorithm == ir::ConvAlgorithm::Packed)
        << c.C << " -> " << c.OC << ", " << c.K << "x" << c.K << " at " << c.side << "x" << c.side;
  }
}

// A grouped strided convolution takes im2col (ResNeXt-50's 32 groups of
// 8 channels at 56x56 -> 28x28, a 7.2 MB im2col; wide rows would gather
// if ungrouped), unless its im2col passes kConvGroupedIm2colMaxBytes or
// its groups fill half panels or whole ones (16, 32 channels: packed, its
// weight in panels; 24 channels a group, 21.7 MB of im2col, gathers).
TEST(PlanMemory, GroupedStridedConvolutionsTakeIm2col) {
  struct Case {
    int64_t C, side, groups;
    ir::ConvAlgorithm algorithm;
  };
  const Case cases[] = {{256, 56, 32, ir::ConvAlgorithm::Im2col},
                        {256, 56, 1, ir::ConvAlgorithm::Packed},
                        {48, 224, 2, ir::ConvAlgorithm::Gathered},
                        // groups of 16 and 32 channels: packed (groupedPackedFits)
                        {512, 28, 32, ir::ConvAlgorithm::Packed},
                        {1024, 14, 32, ir::ConvAlgorithm::Packed},
                        {96, 28, 4, ir::ConvAlgorithm::Im2col}};
  for (const Case &c : cases) {
    TestGraph t;
    int x = t.input({c.C, c.side, c.side});
    t.output(t.conv(x, c.C, 3, 2, 1, true, c.groups));
    passes::runPipeline(t.g);
    const Node *node = lastConv(t.g);
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(int(ir::convAlgorithm(t.g, *node)), int(c.algorithm)) << c.groups << " groups at " << c.side;
    EXPECT_EQ(ir::weightInPanels(t.g, *node), c.algorithm == ir::ConvAlgorithm::Packed);
  }
}

// Stride-1 grouped 3x3s: groups of 16 or 32 channels packed (their
// padded copy in scratch), of 4 or 8 on the direct kernel (a 1x1 grouped
// one too), a depthwise one depthwise.
TEST(PlanMemory, GroupedConvolutionsOfHalfOrWholePanelsOrSmallGroupsArePacked) {
  struct Case {
    int64_t C, groups, K;
    ir::ConvAlgorithm algorithm;
  };
  // groups of 16 or 32k channels: the packed tiles; of 4 or 8 (a divisor
  // of a panel, at most 8: ir::groupLanesFit): the lanes kernel, here on
  // the 14x14 plane's padded grid; of 6, and 1x1 ones: the direct kernel
  const Case cases[] = {{512, 32, 3, ir::ConvAlgorithm::Packed},   {1024, 32, 3, ir::ConvAlgorithm::Packed},
                        {128, 2, 3, ir::ConvAlgorithm::Packed},    {128, 32, 3, ir::ConvAlgorithm::Packed},
                        {256, 32, 3, ir::ConvAlgorithm::Packed},   {96, 16, 3, ir::ConvAlgorithm::Direct},
                        {512, 32, 1, ir::ConvAlgorithm::Direct},   {64, 64, 3, ir::ConvAlgorithm::Depthwise}};
  for (const Case &c : cases) {
    TestGraph t;
    int x = t.input({c.C, 14, 14});
    t.output(t.conv(x, c.C, c.K, 1, c.K / 2, true, c.groups));
    passes::runPipeline(t.g);
    const Node *node = lastConv(t.g);
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(int(ir::convAlgorithm(t.g, *node)), int(c.algorithm)) << c.C << " channels, " << c.groups << " groups";
    // (a depthwise convolution of a 14x14 plane: the lanes kernel, whose
    // weights are in panels too)
    EXPECT_EQ(ir::weightInPanels(t.g, *node), c.algorithm == ir::ConvAlgorithm::Packed ||
                                                  c.algorithm == ir::ConvAlgorithm::Depthwise);
    EXPECT_VALID(t.g);
  }
}

// The depthwise convolutions of small planes, and at stride 1 of planes
// up to 56 x 56 with 16 channels or more, run with 16 channels in the
// lanes (ir::depthwiseLanes), their taps read from weights in panels
// (packDepthwiseWeights); those of larger planes, of larger strided ones,
// of few channels on larger planes, and those an expansion is fused into,
// read them as they are.
TEST(PlanMemory, DepthwiseWeightsAreInPanelsWhereTheLanesKernelReadsThem) {
  struct Case {
    int64_t C, H, stride;
    bool expand, panels;
  };
  const Case cases[] = {{960, 7, 1, false, true},  {144, 14, 1, false, true}, {32, 112, 1, false, false},
                        {96, 56, 1, true, false},  {32, 56, 1, false, true},  {17, 29, 1, false, true},
                        {15, 30, 1, false, false}, {64, 57, 1, false, false}, {144, 56, 2, false, false},
                        {144, 28, 2, false, true}};
  for (const Case &c : cases) {
    TestGraph t;
    int x = t.input({c.expand ? 16 : c.C, c.H, c.H});
    int e = c.expand ? t.conv(x, c.C, 1, 1, 0, false) : x;
    t.output(t.conv(e, c.C, 3, c.stride, 1, true, c.C));
    passes::runPipeline(t.g);
    const Node *node = lastConv(t.g);
    ASSERT_NE(node, nullptr);
    EXPECT_EQ(ir::depthwiseLanes(t.g, *node), c.panels)
        << c.C << " channels of " << c.H << "x" << c.H << " stride " << c.stride;
    EXPECT_EQ(ir::weightInPanels(t.g, *node), c.panels)
        << c.C << " channels of " << c.H << "x" << c.H << " stride " << c.stride;
    EXPECT_VALID(t.g);
  }
}

// A 1x1 expansion fused into the stride-2 depthwise convolution after it
// (MobileNetV2's first expansion, 16 -> 96 at 112x112): bands of output
// rows whose expanded rows fit kExpandBandBytes, covering the plane, in an
// even number of tasks with the panels (7 bands x 3 panels kept one of two
// threads waiting a tenth of the layer), each task a work buffer.
TEST(PlanMemory, AFusedExpansionSplitsIntoAnEvenNumberOfBands) {
  TestGraph t;
  int x = t.input({16, 112, 112});
  int e = t.conv(x, 96, 1, 1, 0, false);
  t.output(t.conv(e, 96, 3, 2, 1, false, 96));

  passes::runPipeline(t.g);

  const Node &dw = t.g.nodes.back();
  ASSERT_NE(ir::fusedExpansion(t.g, dw), nullptr);
  ir::ExpandDepthwisePlan plan = ir::expandDepthwisePlan(t.g, dw);
  EXPECT_EQ(plan.panels, 3);
  EXPECT_EQ(plan.tasks() % 2, 0) << plan.bands << " bands";
  EXPECT_LT((plan.bands - 1) * plan.bandRows, 56); // every band holds rows
  EXPECT_GE(plan.bands * plan.bandRows, 56);       // and they cover the plane
  EXPECT_EQ(plan.inputRows, 2 * plan.bandRows + 1);
  EXPECT_LE(plan.bandFloats * 4, ir::kExpandBandBytes);
  EXPECT_VALID(t.g);
}

// A stem fused into the max pool after it (ResNet's: 7x7 of stride 2,
// then 3x3 of stride 2 padded by 1): bands of pooled rows whose
// convolution rows fit kConvPoolBandBytes, every window's rows inside its
// band's, the bands covering the pool's rows; the convolution's output
// takes no workspace, the pool a buffer per band up to kConvScratchSlots.
// It stays apart where its output has another reader, or is small enough
// for L2 (under kConvPoolMinBytes an image).
TEST(PlanMemory, AStemFusedIntoItsPoolComputesBandsOfItsRows) {
  TestGraph t;
  int x = t.input({3, 224, 224});
  int c = t.relu(t.conv(x, 64, 7, 2, 3, false));
  int pool = t.maxPool(c, 2);
  Node &p = t.g.nodes.back();
  p.attrs.kernel[0] = p.attrs.kernel[1] = 3;
  for (int64_t &pad : p.attrs.pad)
    pad = 1;
  t.output(pool);

  passes::runPipeline(t.g);

  const Node &pn = t.g.nodes.back();
  const Node *conv = ir::fusedPoolConvolution(t.g, pn);
  ASSERT_NE(conv, nullptr);
  ir::ConvPoolPlan plan = ir::convPoolPlan(t.g, pn);
  EXPECT_EQ(plan.poolRows, 56);
  EXPECT_EQ(plan.rows, 112);
  EXPECT_LE(plan.bandFloats * 4, ir::kConvPoolBandBytes);
  int64_t next = 0;
  for (int64_t k = 0; k < plan.bands; ++k) {
    ir::ConvPoolPlan::Band b = plan.band(k);
    EXPECT_EQ(b.r0, next);
    EXPECT_GT(b.r1, b.r0);
    EXPECT_LE(b.hi - b.lo, plan.convRows);
    for (int64_t r = b.r0; r < b.r1; ++r) { // its window's rows, in the band
      EXPECT_GE(std::max<int64_t>(0, 2 * r - 1), b.lo) << "row " << r;
      EXPECT_LE(std::min<int64_t>(112, 2 * r - 1 + 3), b.hi) << "row " << r;
    }
    EXPECT_EQ(b.pad, b.lo - (2 * b.r0 - 1));
    next = b.r1;
  }
  EXPECT_EQ(next, 56);
  bool scratch = false;
  for (const ir::Scratch &s : t.g.scratch)
    if (s.node == int(t.g.nodes.size()) - 1) {
      scratch = true;
      EXPECT_EQ(s.bytesFixed, std::min(plan.bands, ir::kConvScratchSlots) * plan.slotBytes());
    }
  EXPECT_TRUE(scratch) << "no band buffers";
  EXPECT_VALID(t.g);

  TestGraph shared; // the convolution's output read twice
  int sx = shared.input({3, 224, 224});
  int sc = shared.conv(sx, 64, 3, 2, 1, false);
  shared.output(shared.binary(shared.maxPool(sc, 2), shared.maxPool(sc, 2)));
  passes::runPipeline(shared.g);
  for (const Node &n : shared.g.nodes)
    EXPECT_LT(n.fusedInto, 0) << n.name;

  TestGraph small; // 64 x 56 x 56: 784 KB
  int mx = small.input({3, 112, 112});
  small.output(small.maxPool(small.conv(mx, 64, 3, 2, 1, false), 2));
  passes::runPipeline(small.g);
  for (const Node &n : small.g.nodes)
    EXPECT_LT(n.fusedInto, 0) << n.name;
}

TEST(PlanMemory, AnInputOutputIsCopied) {
  TestGraph t;
  int x = t.input({5});
  t.linear(x, 3);
  t.output(x);

  passes::runPipeline(t.g);

  const Node &last = t.g.nodes.back();
  EXPECT_EQ(last.kind, OpKind::Copy);
  EXPECT_EQ(last.inputs, std::vector{x});
  EXPECT_EQ(last.output, t.g.output);
  EXPECT_EQ(t.g.value(t.g.output).storage, Storage::Output);
  EXPECT_EQ(t.g.value(x).storage, Storage::Input);
  EXPECT_VALID(t.g);
}

TEST(PlanMemory, AReshapedInputOutputIsCopied) {
  TestGraph t;
  t.output(t.reshape(t.input({2, 3}), {6}));

  passes::runPipeline(t.g);

  ASSERT_EQ(t.g.nodes.size(), 2u);
  EXPECT_EQ(t.g.nodes[1].kind, OpKind::Copy);
  EXPECT_EQ(t.g.value(t.g.output).shape.dims, (std::vector<int64_t>{kBatch, 6}));
  EXPECT_EQ(t.g.value(t.g.output).storage, Storage::Output);
  EXPECT_VALID(t.g);
}

TEST(PlanMemory, AReshapedResultWritesTheOutputBufferDirectly) {
  TestGraph t;
  int c = t.conv(t.input({2, 3, 3}), 4, 1);
  int flat = t.reshape(c, {36});
  t.output(flat);

  passes::runPipeline(t.g);

  ASSERT_EQ(t.g.nodes.size(), 2u); // no copy
  EXPECT_EQ(t.g.value(flat).storage, Storage::Alias);
  EXPECT_EQ(t.g.value(c).storage, Storage::Output);
  EXPECT_EQ(t.g.workspacePerBatch, 0);
  EXPECT_VALID(t.g);
}

TEST(PlanWeights, PackedTensorsAreAlignedAndDisjoint) {
  TestGraph t;
  int x = t.input({3, 8, 8});
  t.output(t.linear(t.reshape(t.batchNorm(t.conv(x, 5, 3, 1, 1, false)), {320}), 7));

  passes::runPipeline(t.g);

  ASSERT_EQ(t.g.packed.size(), 4u);
  int64_t expected = 0;
  for (const Packed &p : t.g.packed) {
    EXPECT_EQ(p.offset, expected) << p.name;
    expected = alignTo(p.offset + p.size, 16);
  }
  EXPECT_EQ(t.g.packedSize, expected);
  // 5*27 = 135 -> 144; the folded bias (5) is created last.
  EXPECT_EQ(t.g.packed[1].offset, 144);
  EXPECT_VALID(t.g);
}

} // namespace
} // namespace seq::ir::testing

namespace seq::ir::testing {
namespace {

// x [N, 8, side, side] -> a = Conv2d(8, 24, 3, pad 1) + ReLU, b = Conv2d(8,
// 40, 1) -> cat(a, b) -> Conv2d(64, 8, 1): a Fire module's shape.
struct FireGraph {
  TestGraph t;
  int a = -1, b = -1, cat = -1;
  FireGraph(int64_t side, int64_t fixedBatch = 0) : t(fixedBatch) {
    int x = t.input({8, side, side});
    a = t.relu(t.conv(x, 24, 3, 1, 1));
    b = t.conv(x, 40, 1);
    cat = t.concat({a, b}, 1);
    t.output(t.conv(cat, 8, 1));
    passes::runPipeline(t.g);
    // the passes renumber the values (the ReLU is fused away)
    for (const Node &n : t.g.nodes)
      if (n.kind == OpKind::Concat)
        cat = n.output, a = n.inputs.at(0), b = n.inputs.at(1);
  }
  const Node &concat() const { return t.g.nodes[size_t(t.g.value(cat).producer)]; }
};

// One image a call (96 x 96: an image's activations fill an L2, so it runs
// image by image in groups of one): the convolutions write the concat's
// halves in place, the concat copies nothing, and the concat's buffer is
// live from the first of them on.
TEST(PlanMemory, ConcatInputsLiveInPlaceWhenOneImageRunsAtATime) {
  FireGraph f(96);
  const Graph &g = f.t.g;
  ASSERT_GT(g.imageSlotBytes, 0);
  EXPECT_EQ(maxImageGroup(g), 1);
  ASSERT_EQ(g.value(f.a).storage, Storage::Slice);
  ASSERT_EQ(g.value(f.b).storage, Storage::Slice);
  EXPECT_EQ(g.value(f.a).aliasOf, f.cat);
  EXPECT_EQ(g.value(f.a).sliceOffset, 0);
  EXPECT_EQ(g.value(f.b).sliceOffset, 24 * 96 * 96 * 4);
  EXPECT_EQ(g.storageOffset(f.b), 24 * 96 * 96 * 4);
  EXPECT_TRUE(concatInPlace(g, f.concat()));
  // and it stays one image at a time, whatever the size of an image
  Graph small = g;
  small.workspacePerBatch = 4096;
  EXPECT_EQ(maxImageGroup(small), 1);
  small.value(f.a).storage = small.value(f.b).storage = Storage::Workspace;
  EXPECT_GT(maxImageGroup(small), 1);
  for (const Buffer &b : workspaceBuffers(g)) {
    EXPECT_NE(b.value, f.a);
    EXPECT_NE(b.value, f.b);
    if (b.value == f.cat) {
      EXPECT_EQ(b.first, g.value(f.a).producer); // written from a's convolution on
    }
  }
  EXPECT_VALID(g);
}

// A fixed batch of one: the same, at any size.
TEST(PlanMemory, ConcatInputsLiveInPlaceAtAFixedBatchOfOne) {
  FireGraph f(8, /*fixedBatch=*/1);
  EXPECT_TRUE(concatInPlace(f.t.g, f.concat()));
  EXPECT_VALID(f.t.g);
}

// Several images a call (a fixed batch of 3, or small images grouped):
// an image's part of an input is not contiguous in the concat's output.
TEST(PlanMemory, ConcatsCopyWhenImagesRunTogether) {
  for (int64_t fixedBatch : {3, 0}) {
    FireGraph f(8, fixedBatch);
    EXPECT_FALSE(concatInPlace(f.t.g, f.concat()));
    EXPECT_EQ(f.t.g.value(f.a).storage, Storage::Workspace);
    EXPECT_VALID(f.t.g);
  }
}

// Inputs that cannot be written in place keep the concat a copy: a model
// input, a value two concats read, a value that ends mid cache line
// (3 channels of 5 x 5: 300 bytes), and a concat with an epilogue.
TEST(PlanMemory, ConcatsCopyInputsThatCannotLiveInPlace) {
  auto expectCopies = [](TestGraph &t) {
    passes::runPipeline(t.g);
    for (const Value &v : t.g.values)
      EXPECT_NE(v.storage, Storage::Slice) << "%" << v.id;
    for (const Node &n : t.g.nodes)
      EXPECT_FALSE(concatInPlace(t.g, n));
    EXPECT_VALID(t.g);
  };
  {
    TestGraph t(1);
    int x = t.input({8, 4, 4});
    t.output(t.conv(t.concat({x, t.conv(x, 8, 1)}, 1), 4, 1));
    expectCopies(t);
  }
  {
    TestGraph t(1);
    int x = t.input({8, 4, 4});
    int a = t.conv(x, 8, 1), b = t.conv(x, 8, 1);
    t.output(t.binary(t.concat({a, b}, 1), t.concat({b, a}, 1)));
    expectCopies(t);
  }
  {
    TestGraph t(1);
    int x = t.input({8, 5, 5});
    t.output(t.conv(t.concat({t.conv(x, 3, 1), t.conv(x, 16, 1)}, 1), 4, 1));
    expectCopies(t);
  }
  {
    TestGraph t(1);
    int x = t.input({8, 4, 4});
    t.output(t.conv(t.relu(t.concat({t.conv(x, 16, 1), t.conv(x, 16, 1)}, 1)), 4, 1));
    expectCopies(t);
    for (const Node &n : t.g.nodes)
      if (n.kind == OpKind::Concat) {
        EXPECT_FALSE(n.epilogue.empty()); // the ReLU, merged into it
      }
  }
}

} // namespace
} // namespace seq::ir::testing
