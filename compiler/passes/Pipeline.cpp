// Pipeline: the passes in order; in debug builds the Verifier runs after
// each, and an invalid graph is an internal compiler error naming the pass
// and every problem found.
#include "ir/Verifier.h"
#include "passes/Passes.h"

#include <cstdio>
#include <cstdlib>

namespace seq::passes {

namespace {

struct Pass {
  const char *name;
  void (*run)(ir::Graph &);
};

constexpr Pass kPipeline[] = {
    {"eliminate-dead-code", eliminateDeadCode},
    {"eliminate-identity", eliminateIdentity},
    {"fold-batch-norm", foldBatchNorm},
    {"fuse-elementwise", fuseElementwise},
    {"pack-conv-weights", packConvWeights},
    {"fuse-expand-depthwise", fuseExpandDepthwise},
    {"fuse-conv-max-pool", fuseConvMaxPool},
    {"pack-depthwise-weights", packDepthwiseWeights},
    {"fuse-channel-scale", fuseChannelScale},
    {"plan-memory", planMemory},
    {"plan-weights", planWeights},
};

[[maybe_unused]] void verifyAfter(const ir::Graph &g, const char *pass) {
  std::vector<std::string> errors = ir::verify(g);
  if (errors.empty())
    return;
  std::fprintf(stderr, "internal compiler error: invalid IR after pass '%s' (%s:%d)\n", pass,
               __FILE__, __LINE__);
  for (const std::string &error : errors)
    std::fprintf(stderr, "  %s\n", error.c_str());
  std::abort();
}

} // namespace

void runPipeline(ir::Graph &g) {
  for (const Pass &pass : kPipeline) {
    pass.run(g);
#ifndef NDEBUG
    verifyAfter(g, pass.name);
#endif
  }
}

} // namespace seq::passes
