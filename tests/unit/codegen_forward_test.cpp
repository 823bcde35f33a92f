// Code generator: the forward function's contract (batch, workspace and
// argument checks; generated-code.md) and the model description, in
// memory (ModelDesc) and as compiled (`<prefix>_model`).
#include "codegen_test_support.h"

#include <cstddef>

namespace codegen_test {
namespace {

TEST(CodegenForward, BatchZeroReturnsAtOnce) {
  TestModel m = mlpModel();
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  float output = 42.0f;
  const float *inputs[] = {nullptr};
  EXPECT_EQ(jit->forward(m.packed.data(), inputs, &output, 0, nullptr), SEQRT_OK);
  EXPECT_EQ(output, 42.0f);
}

TEST(CodegenForward, RejectsBadBatches) {
  TestModel m = mlpModel();
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  seqrt_context *ctx = nullptr;
  ASSERT_EQ(seqrt_context_new(1, 1 << 20, &ctx), SEQRT_OK);
  std::vector<float> x(8), y(4);
  const float *inputs[] = {x.data()};
  for (int64_t batch : {int64_t(-1), std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                        std::numeric_limits<int64_t>::max() / 32})
    EXPECT_EQ(jit->forward(m.packed.data(), inputs, y.data(), batch, ctx), SEQRT_ERR_BATCH) << batch;
  seqrt_context_free(ctx);
}

TEST(CodegenForward, NeedsWorkspace) {
  TestModel m = mlpModel();
  ASSERT_GT(m.g.workspacePerBatch, 0);
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  std::vector<float> x(16), y(8);
  const float *inputs[] = {x.data()};
  EXPECT_EQ(jit->forward(m.packed.data(), inputs, y.data(), 2, nullptr), SEQRT_ERR_WORKSPACE);
  seqrt_context *ctx = nullptr;
  ASSERT_EQ(seqrt_context_new(1, size_t(m.g.workspacePerBatch * 2 - 1), &ctx), SEQRT_OK);
  EXPECT_EQ(jit->forward(m.packed.data(), inputs, y.data(), 2, ctx), SEQRT_ERR_WORKSPACE);
  ASSERT_EQ(seqrt_context_reserve(ctx, size_t(m.g.workspacePerBatch * 2)), SEQRT_OK);
  EXPECT_EQ(jit->forward(m.packed.data(), inputs, y.data(), 2, ctx), SEQRT_OK);
  seqrt_context_free(ctx);
}

TEST(CodegenForward, RejectsNullPointers) {
  TestModel m = mlpModel();
  auto jit = compile(m);
  ASSERT_TRUE(jit);
  seqrt_context *ctx = nullptr;
  ASSERT_EQ(seqrt_context_new(1, 1 << 20, &ctx), SEQRT_OK);
  std::vector<float> x(8), y(4);
  const float *inputs[] = {x.data()}, *noInputs[] = {nullptr};
  EXPECT_EQ(jit->forward(nullptr, inputs, y.data(), 1, ctx), SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(jit->forward(m.packed.data(), noInputs, y.data(), 1, ctx), SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(jit->forward(m.packed.data(), inputs, nullptr, 1, ctx), SEQRT_ERR_INVALID_ARGUMENT);
  seqrt_context_free(ctx);
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
  std::vector<float> in = randomVector(10, 3), out(10);
  const float *inputs[] = {in.data()};
  EXPECT_EQ(jit->forward(nullptr, inputs, out.data(), 3, nullptr), SEQRT_ERR_BATCH);
  EXPECT_EQ(jit->forward(nullptr, inputs, out.data(), 1, nullptr), SEQRT_ERR_BATCH);
  ASSERT_EQ(jit->forward(nullptr, inputs, out.data(), 2, nullptr), SEQRT_OK);
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
