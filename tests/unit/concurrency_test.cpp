// Concurrency: one compiled forward called by 8 threads at once, sharing
// one weights handle, each thread with its own context (of 2 worker threads),
// must give every thread the same output, bit for bit, as a lone call.
// scripts/sanitize.sh tsan runs this under ThreadSanitizer, with the
// forward itself instrumented (--sanitize thread, SanitizeThread.h), so
// that its own loads and stores are checked too.
#include "codegen/Jit.h"
#include "codegen/SanitizeThread.h"
#include "lower/AstToIr.h"
#include "parse/Parser.h"
#include "passes/Passes.h"
#include "sema/Sema.h"

#include "seqrt.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>

namespace {

using namespace seq;

const char *kSource = R"(model Net(x: [N, 3, 16, 16]) {
    features = Sequential(Conv2d(3, 16, 3, padding=1), BatchNorm2d(16), ReLU(), MaxPool2d(2),
                          Conv2d(16, 32, 3, padding=1), ReLU(), AdaptiveAvgPool2d(2))
    head = Linear(128, 10)
    forward(x) { return log_softmax(head(features(x).view(x.shape[0], -1)), dim=1) }
}
)";

std::unique_ptr<codegen::JitModel> compileNet() {
  SourceManager sources;
  Diagnostics diags(sources);
  FileId id = sources.addFile("net.seq", kSource);
  std::unique_ptr<ast::File> file = parse::parseFile(sources, id, diags);
  if (!file)
    return nullptr;
  auto models = sema::check(*file, sources, diags);
  EXPECT_FALSE(diags.hasErrors()) << diags.render({});
  if (models.empty() || !models[0]->valid)
    return nullptr;
  ir::Graph graph = lower::lowerModel(*models[0]);
  passes::runPipeline(graph);
  codegen::TargetOptions options;
  options.sanitizeThread = codegen::processHasThreadSanitizer();
  auto jit = codegen::JitModel::create(graph, options);
  if (!jit) {
    ADD_FAILURE() << llvm::toString(jit.takeError());
    return nullptr;
  }
  return std::move(*jit);
}

std::vector<float> forward(const codegen::JitModel &jit, const seqrt_weights *weights, const std::vector<float> &x,
                           int64_t batch, int calls) {
  seqrt_context *ctx = nullptr;
  int64_t workspace = seqrt_workspace_size(&jit.model(), batch);
  EXPECT_EQ(seqrt_context_new(2, size_t(workspace), &ctx), SEQRT_OK);
  std::vector<float> y(size_t(batch * 10));
  const float *inputs[] = {x.data()};
  for (int i = 0; i < calls; ++i)
    EXPECT_EQ(jit.forward(weights, inputs, y.data(), batch, ctx), SEQRT_OK);
  seqrt_context_free(ctx);
  return y;
}

TEST(Concurrency, EightThreadsShareOneForwardAndOneWeights) {
  std::unique_ptr<codegen::JitModel> jit = compileNet();
  ASSERT_TRUE(jit);
  seqrt_weights *weights = nullptr;
  ASSERT_EQ(seqrt_weights_random(&jit->model(), 7, &weights), SEQRT_OK) << seqrt_last_error();
  constexpr int64_t kBatch = 4;
  std::vector<float> x(size_t(kBatch * 3 * 16 * 16));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> unit(-1, 1);
  for (float &v : x)
    v = unit(rng);
  std::vector<float> want = forward(*jit, weights, x, kBatch, 1);

  constexpr int kThreads = 8;
  std::vector<std::vector<float>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { got[size_t(t)] = forward(*jit, weights, x, kBatch, 5); });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[size_t(t)].size(), want.size());
    EXPECT_EQ(std::memcmp(got[size_t(t)].data(), want.data(), want.size() * sizeof(float)), 0)
        << "thread " << t << " computed a different output";
  }
  seqrt_weights_free(weights);
}

} // namespace
