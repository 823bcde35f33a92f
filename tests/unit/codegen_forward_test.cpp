// Code generator: the forward function's contract (batch, workspace and
// argument checks; generated-code.md) and the model description, in
// memory (ModelDesc) and as compiled (`<prefix>_model`).
#include "codegen_test_support.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

namespace codegen_test {
namespace {

struct ContextFree {
  void operator()(seqrt_context *ctx) const { seqrt_context_free(ctx); }
};
using ContextPtr = std::unique_ptr<seqrt_context, ContextFree>;

ContextPtr newContext(size_t workspace = 1 << 20) {
  seqrt_context *ctx = nullptr;
  EXPECT_EQ(seqrt_context_new(1, workspace, &ctx), SEQRT_OK);
  return ContextPtr(ctx);
}

bool mentions(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

TEST(CodegenForward, BatchZeroReturnsAtOnce) {
  TestModel m = mlpModel();
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  WeightsPtr weights = packedWeights(*jit, m);
  ContextPtr ctx = newContext(0);
  float x = 1.0f, output = 42.0f;
  const float *inputs[] = {&x};
  EXPECT_EQ(jit->forward(weights.get(), inputs, &output, 0, ctx.get()), SEQRT_OK);
  EXPECT_EQ(output, 42.0f);
}

// A negative batch is a bad argument; a batch above the model's maximum
// (where a size would overflow) is a bad batch; the maximum itself passes
// the batch check (and then needs more workspace than there is).
TEST(CodegenForward, RejectsBadBatches) {
  TestModel m = mlpModel();
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  WeightsPtr weights = packedWeights(*jit, m);
  ContextPtr ctx = newContext();
  std::vector<float> x(8), y(4);
  const float *inputs[] = {x.data()};
  for (int64_t batch : {int64_t(-1), std::numeric_limits<int64_t>::min()}) {
    EXPECT_EQ(jit->forward(weights.get(), inputs, y.data(), batch, ctx.get()), SEQRT_ERR_ARGUMENT) << batch;
    EXPECT_TRUE(mentions(seqrt_last_error(), "negative")) << seqrt_last_error();
  }
  int64_t maxBatch = jit->model().max_batch;
  ASSERT_GT(maxBatch, 1000);
  ASSERT_EQ(jit->compiledModel()->max_batch, maxBatch);
  // Every size of the model stays in range up to the maximum.
  int64_t largest = std::max(m.g.workspacePerBatch, int64_t(16 * sizeof(float)));
  EXPECT_LE(maxBatch, std::numeric_limits<int64_t>::max() / largest);
  for (int64_t batch : {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max() / 32, maxBatch + 1}) {
    EXPECT_EQ(jit->forward(weights.get(), inputs, y.data(), batch, ctx.get()), SEQRT_ERR_BATCH) << batch;
    EXPECT_TRUE(mentions(seqrt_last_error(), "above its maximum " + std::to_string(maxBatch))) << seqrt_last_error();
  }
  EXPECT_EQ(jit->forward(weights.get(), inputs, y.data(), maxBatch, ctx.get()), SEQRT_ERR_WORKSPACE);
}

TEST(CodegenForward, NeedsWorkspace) {
  TestModel m = mlpModel();
  ASSERT_GT(m.g.workspacePerBatch, 0);
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  WeightsPtr weights = packedWeights(*jit, m);
  std::vector<float> x(16), y(8);
  const float *inputs[] = {x.data()};
  ContextPtr ctx = newContext(size_t(m.g.workspacePerBatch * 2 - 1));
  EXPECT_EQ(jit->forward(weights.get(), inputs, y.data(), 2, ctx.get()), SEQRT_ERR_WORKSPACE);
  EXPECT_TRUE(mentions(seqrt_last_error(), std::to_string(m.g.workspacePerBatch * 2) + " bytes of workspace"))
      << seqrt_last_error();
  ASSERT_EQ(seqrt_context_reserve(ctx.get(), size_t(m.g.workspacePerBatch * 2)), SEQRT_OK);
  EXPECT_EQ(jit->forward(weights.get(), inputs, y.data(), 2, ctx.get()), SEQRT_OK);
  EXPECT_STREQ(seqrt_last_error(), "");
}

// NULL arguments are SEQRT_ERR_ARGUMENT, each named in the last error; a
// NULL context is not "workspace too small".
TEST(CodegenForward, RejectsNullPointers) {
  TestModel m = mlpModel();
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  WeightsPtr weights = packedWeights(*jit, m);
  ContextPtr ctx = newContext();
  std::vector<float> x(8), y(4);
  const float *inputs[] = {x.data()}, *noInputs[] = {nullptr};
  struct Case {
    const seqrt_weights *weights;
    const float *const *inputs;
    float *output;
    seqrt_context *ctx;
    const char *named;
  } cases[] = {{nullptr, inputs, y.data(), ctx.get(), "the weights are NULL"},
               {weights.get(), noInputs, y.data(), ctx.get(), "the input 'x' is NULL"},
               {weights.get(), inputs, nullptr, ctx.get(), "the output is NULL"},
               {weights.get(), inputs, y.data(), nullptr, "the context 'ctx' is NULL"}};
  for (const Case &c : cases) {
    for (int64_t batch : {1, 0}) {
      EXPECT_EQ(jit->forward(c.weights, c.inputs, c.output, batch, c.ctx), SEQRT_ERR_ARGUMENT) << c.named;
      std::string error = seqrt_last_error();
      EXPECT_TRUE(mentions(error, c.named)) << error;
      EXPECT_TRUE(mentions(error, "model 'MLP' (mlp_forward)")) << error;
      EXPECT_FALSE(mentions(error, "workspace")) << error;
    }
  }
  EXPECT_EQ(jit->forward(weights.get(), inputs, y.data(), 1, ctx.get()), SEQRT_OK);
  EXPECT_STREQ(seqrt_last_error(), "");
}

// x [N, 8] -> Linear(8, 3): another parameter table than mlpModel's.
TestModel otherModel(const std::string &name) {
  TestModel m("other");
  m.g.modelName = name;
  int x = m.input("x", {kBatch, 8});
  int w = m.g.addParam("fc.weight", {3, 8});
  ir::Node fc = makeNode(ir::OpKind::Linear, {x});
  fc.attrs.weight = m.weight("fc.weight", 8 * 3);
  m.finish(m.add(fc, {kBatch, 3}));
  ir::PackStep step;
  step.src[0] = w;
  step.out = fc.attrs.weight;
  step.rows = 3;
  step.cols = 8;
  step.transpose = true;
  m.g.packSteps.push_back(step);
  return m;
}

// Weights of another model, or of a model of the same name with another
// parameter table, are refused with both models named; weights loaded
// for another build with the same table are accepted.
TEST(CodegenForward, RejectsForeignWeights) {
  TestModel mlp = mlpModel(), other = otherModel("Other"), sameName = otherModel("MLP");
  auto mlpJit = compile(mlp), otherJit = compile(other), mlpJit2 = compile(mlp);
  ASSERT_TRUE(mlpJit && otherJit && mlpJit2);
  ASSERT_NE(mlpJit->model().fingerprint, otherJit->model().fingerprint);
  WeightsPtr mlpWeights = packedWeights(*mlpJit, mlp), otherWeights = packedWeights(*otherJit, other);
  ContextPtr ctx = newContext();
  std::vector<float> x(8), y(4);
  const float *inputs[] = {x.data()};

  EXPECT_EQ(mlpJit->forward(otherWeights.get(), inputs, y.data(), 1, ctx.get()), SEQRT_ERR_WEIGHTS);
  std::string error = seqrt_last_error();
  EXPECT_TRUE(mentions(error, "'Other'") && mentions(error, "'MLP'")) << error;
  EXPECT_EQ(otherJit->forward(mlpWeights.get(), inputs, y.data(), 1, ctx.get()), SEQRT_ERR_WEIGHTS);

  seqrt_weights *raw = nullptr;
  auto sameNameJit = compile(sameName);
  ASSERT_TRUE(sameNameJit);
  ASSERT_EQ(seqrt_weights_from_packed(&sameNameJit->model(), sameName.packed.data(), sameName.packed.size(), &raw),
            SEQRT_OK);
  WeightsPtr sameNameWeights(raw);
  EXPECT_EQ(mlpJit->forward(sameNameWeights.get(), inputs, y.data(), 1, ctx.get()), SEQRT_ERR_WEIGHTS);
  EXPECT_TRUE(mentions(seqrt_last_error(), "another parameter table")) << seqrt_last_error();

  EXPECT_EQ(mlpJit2->forward(mlpWeights.get(), inputs, y.data(), 1, ctx.get()), SEQRT_OK) << seqrt_last_error();
}

// The last error is per thread: a failing call on one thread leaves
// another's untouched, and a successful call clears it.
TEST(CodegenForward, LastErrorPerThread) {
  TestModel m = mlpModel();
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  WeightsPtr weights = packedWeights(*jit, m);
  ContextPtr ctx = newContext();
  std::vector<float> x(8), y(4);
  const float *inputs[] = {x.data()};
  ASSERT_EQ(jit->forward(weights.get(), inputs, y.data(), -3, ctx.get()), SEQRT_ERR_ARGUMENT);
  std::string mine = seqrt_last_error(), theirs = "unset";
  std::thread other([&] {
    ContextPtr own = newContext();
    std::vector<float> out(4);
    seqrt_status status = jit->forward(weights.get(), inputs, out.data(), 1, own.get());
    theirs = status == SEQRT_OK ? seqrt_last_error() : "failed";
  });
  other.join();
  EXPECT_EQ(theirs, "");
  EXPECT_EQ(seqrt_last_error(), mine);
}

// The checks cost a few compares: a whole forward call of a small model at
// batch 1 stays far below a microsecond (about 20 ns measured; the median
// of many rounds, so that a loaded machine does not fail the test).
TEST(CodegenForward, ChecksAreCheap) {
  TestModel m = otherModel("Small");
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  WeightsPtr weights = packedWeights(*jit, m);
  ContextPtr ctx = newContext();
  std::vector<float> x(8), y(3);
  const float *inputs[] = {x.data()};
  constexpr int kCalls = 2000;
  std::vector<double> perCall;
  for (int round = 0; round < 25; ++round) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i)
      if (jit->forward(weights.get(), inputs, y.data(), 1, ctx.get()) != SEQRT_OK)
        FAIL() << seqrt_last_error();
    std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;
    perCall.push_back(elapsed.count() / kCalls);
  }
  std::sort(perCall.begin(), perCall.end());
  EXPECT_LT(perCall[perCall.size() / 2], 1000.0) << "ns per call";
}

// A model declared with a fixed batch has no batched values and accepts
// only its batch.
TEST(CodegenForward, FixedBatch) {
  TestModel m("fixed");
  m.g.fixedBatch = 2;
  int x = m.input("x", {2, 5});
  ir::Node node = makeNode(ir::OpKind::Unary, {x});
  node.attrs.unary = ir::UnaryKind::Sigmoid;
  m.finish(m.add(node, {2, 5}));
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  ContextPtr ctx = newContext(0);
  std::vector<float> in = randomVector(10, 3), out(10);
  const float *inputs[] = {in.data()};
  EXPECT_EQ(jit->forward(nullptr, inputs, out.data(), 3, ctx.get()), SEQRT_ERR_BATCH);
  EXPECT_TRUE(mentions(seqrt_last_error(), "fixed batch 2, not 3")) << seqrt_last_error();
  EXPECT_EQ(jit->forward(nullptr, inputs, out.data(), 1, ctx.get()), SEQRT_ERR_BATCH);
  ASSERT_EQ(jit->forward(nullptr, inputs, out.data(), 2, ctx.get()), SEQRT_OK);
  for (size_t i = 0; i < 10; ++i)
    EXPECT_NEAR(out[i], refSigmoid(in[i]), 1e-6) << i;
}

// More threads than rows, and a single thread: the same results.
TEST(CodegenForward, ThreadCountsAgree) {
  TestModel m = mlpModel();
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  std::vector<float> x = randomVector(5 * 8, 9);
  std::vector<float> one = run(*jit, m, {x}, 5, 1), many = run(*jit, m, {x}, 5, 7);
  expectNear(many, one, "7 threads vs 1");
}

// 150 Linear(8, 8) + ReLU layers: more nodes than one function of the
// forward pass holds (LlvmGen::emitSegment), equal layers whose tasks
// merge; the same on 1 and 3 threads and as a naive reference computes.
TEST(CodegenForward, DeepModelInSegments) {
  TestModel m("deep");
  const int64_t D = 8, layers = 150;
  int h = m.input("x", {kBatch, D});
  std::vector<std::pair<int, int>> params;
  for (int64_t i = 0; i < layers; ++i) {
    ir::Node fc = makeNode(ir::OpKind::Linear, {h});
    fc.attrs.weight = m.weight("w" + std::to_string(i), D * D, -0.6f, 0.6f);
    fc.attrs.bias = m.weight("b" + std::to_string(i), D);
    ir::EpilogueOp bias{ir::EpilogueOp::Kind::Bias};
    bias.packed = fc.attrs.bias;
    fc.epilogue = {bias, ir::EpilogueOp{ir::EpilogueOp::Kind::Unary}};
    params.emplace_back(fc.attrs.weight, fc.attrs.bias);
    h = m.add(fc, {kBatch, D});
  }
  m.finish(h);
  auto reference = [&](const std::vector<std::vector<float>> &in, int64_t batch) {
    std::vector<float> y = in[0];
    for (auto [w, b] : params) {
      y = refLinear(y, batch, D, D, m.weightData(w), m.weightData(b));
      for (float &v : y)
        v = refRelu(v);
    }
    return y;
  };
  checkModel(m, reference, "deep", {1, 5});
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  std::vector<float> x = randomVector(5 * D, 9, -2, 2);
  expectNear(run(*jit, m, {x}, 5, 3), run(*jit, m, {x}, 5, 1), "3 threads vs 1");
}

void expectSameTensor(const seqrt_tensor_desc &a, const seqrt_tensor_desc &b) {
  EXPECT_STREQ(a.name, b.name);
  ASSERT_EQ(a.rank, b.rank) << a.name;
  for (int i = 0; i < SEQRT_MAX_RANK; ++i)
    EXPECT_EQ(a.dims[i], b.dims[i]) << a.name << " dim " << i;
}

TEST(CodegenForward, ModelDescription) {
  TestModel m = mlpModel();
  auto desc = seq::codegen::ModelDesc::create(m.g);
  ASSERT_TRUE(bool(desc)) << llvm::toString(desc.takeError());
  const seqrt_model &model = (*desc)->model();
  EXPECT_STREQ(model.name, "MLP");
  ASSERT_EQ(model.num_inputs, 1);
  EXPECT_STREQ(model.inputs[0].name, "x");
  EXPECT_EQ(model.inputs[0].rank, 2);
  EXPECT_EQ(model.inputs[0].dims[0], -1);
  EXPECT_EQ(model.inputs[0].dims[1], 8);
  EXPECT_EQ(model.output->dims[1], 4);
  ASSERT_EQ(model.num_params, 3);
  EXPECT_STREQ(model.params[2].name, "fc2.weight");
  ASSERT_EQ(model.num_pack_steps, 3);
  EXPECT_EQ(model.pack_steps[1].dst, m.g.packed[1].offset);
  EXPECT_EQ(model.pack_steps[0].transpose, 1);
  EXPECT_EQ(model.packed_size, m.g.packedSize);
  EXPECT_EQ(seqrt_workspace_size(&model, 3), 3 * m.g.workspacePerBatch);

  // The compiled constant, laid out by LLVM, reads the same from C++.
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  const seqrt_model *compiled = jit->compiledModel();
  ASSERT_NE(compiled, nullptr);
  EXPECT_STREQ(compiled->name, model.name);
  ASSERT_EQ(compiled->num_inputs, model.num_inputs);
  expectSameTensor(compiled->inputs[0], model.inputs[0]);
  expectSameTensor(*compiled->output, *model.output);
  ASSERT_EQ(compiled->num_params, model.num_params);
  for (int i = 0; i < model.num_params; ++i)
    expectSameTensor(compiled->params[i], model.params[i]);
  ASSERT_EQ(compiled->num_pack_steps, model.num_pack_steps);
  for (int i = 0; i < model.num_pack_steps; ++i) {
    const seqrt_pack_step &a = compiled->pack_steps[i], &b = model.pack_steps[i];
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.transpose, b.transpose);
    for (int k = 0; k < 6; ++k)
      EXPECT_EQ(a.src[k], b.src[k]);
    EXPECT_EQ(a.dst, b.dst);
    EXPECT_EQ(a.dst2, b.dst2);
    EXPECT_EQ(a.rows, b.rows);
    EXPECT_EQ(a.cols, b.cols);
    EXPECT_EQ(a.eps, b.eps);
  }
  EXPECT_EQ(compiled->packed_size, model.packed_size);
  EXPECT_EQ(compiled->workspace_fixed, model.workspace_fixed);
  EXPECT_EQ(compiled->workspace_per_batch, model.workspace_per_batch);
  EXPECT_EQ(compiled->abi_version, SEQRT_ABI_VERSION);
  EXPECT_STREQ(compiled->prefix, "mlp");
  EXPECT_EQ(compiled->fingerprint, model.fingerprint);
  EXPECT_EQ(compiled->fingerprint, seqrt_model_fingerprint(compiled));
  EXPECT_EQ(compiled->max_batch, model.max_batch);
  EXPECT_EQ(compiled->fixed_batch, 0);
}

// Every optimisation level computes the same (at -O0 nothing is inlined
// but the kernels: epilogues are called through their pointers).
TEST(CodegenForward, OptimisationLevels) {
  TestModel m = mlpModel();
  for (int level = 0; level <= 2; ++level)
    checkModel(m, [&](const std::vector<std::vector<float>> &in, int64_t batch) {
      auto h = refLinear(in[0], batch, 8, 16, m.weightData(0), m.weightData(1));
      for (float &v : h)
        v = refRelu(v);
      return refLinear(h, batch, 16, 4, m.weightData(2), nullptr);
    }, "mlp at -O" + std::to_string(level), {1, 3}, level);
}

// Weights from the runtime's packer (seqrt_pack with the description's
// steps, from PyTorch-layout params) give PyTorch's result.
TEST(CodegenForward, PackedByRuntime) {
  TestModel m = mlpModel();
  auto desc = seq::codegen::ModelDesc::create(m.g);
  ASSERT_TRUE(bool(desc)) << llvm::toString(desc.takeError());
  std::vector<float> w1 = randomVector(16 * 8, 21), b1 = randomVector(16, 22), w2 = randomVector(4 * 16, 23);
  const float *params[] = {w1.data(), b1.data(), w2.data()};
  m.packed.assign(size_t(m.g.packedSize), 0.0f);
  ASSERT_EQ(seqrt_pack((*desc)->get(), params, m.packed.data()), SEQRT_OK) << seqrt_last_error();
  checkModel(m, [&](const std::vector<std::vector<float>> &in, int64_t batch) {
    std::vector<float> h(size_t(batch * 16)), y(size_t(batch * 4));
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t o = 0; o < 16; ++o) {
        double s = b1[size_t(o)];
        for (int64_t k = 0; k < 8; ++k)
          s += double(in[0][size_t(n * 8 + k)]) * w1[size_t(o * 8 + k)];
        h[size_t(n * 16 + o)] = refRelu(float(s));
      }
      for (int64_t o = 0; o < 4; ++o) {
        double s = 0;
        for (int64_t k = 0; k < 16; ++k)
          s += double(h[size_t(n * 16 + k)]) * w2[size_t(o * 16 + k)];
        y[size_t(n * 4 + o)] = float(s);
      }
    }
    return y;
  }, "mlp packed by seqrt_pack");
}

} // namespace
} // namespace codegen_test
