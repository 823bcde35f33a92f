// graph_from_source.h: for unit tests that start from a .seq source: the
// first model of `source` parsed, checked (no error expected), lowered and
// through the pass pipeline, as `seqc build` gets it; nullopt when it does
// not parse or its model is not valid; and a JIT-compiled model's forward
// on a context of its own.
#pragma once

#include "codegen/Jit.h"
#include "seqrt.h"

#include "lower/AstToIr.h"
#include "parse/Parser.h"
#include "passes/Passes.h"
#include "sema/Sema.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <optional>
#include <vector>

namespace seq_test {

inline std::optional<seq::ir::Graph> graphOf(const char *source) {
  seq::SourceManager sources;
  seq::Diagnostics diags(sources);
  seq::FileId id = sources.addFile("model.seq", source);
  std::unique_ptr<seq::ast::File> file = seq::parse::parseFile(sources, id, diags);
  if (!file)
    return std::nullopt;
  auto models = seq::sema::check(*file, sources, diags);
  EXPECT_FALSE(diags.hasErrors()) << diags.render({});
  if (models.empty() || !models[0]->valid)
    return std::nullopt;
  seq::ir::Graph graph = seq::lower::lowerModel(*models[0]);
  seq::passes::runPipeline(graph);
  return graph;
}

// `jit`'s output for one input x at `batch`, on a new context of `threads`
// (NaN where the forward wrote nothing).
inline std::vector<float> jitForward(const seq::codegen::JitModel &jit, const seqrt_weights *weights,
                                     const std::vector<float> &x, int64_t batch, int threads,
                                     int64_t outPerSample) {
  seqrt_context *ctx = nullptr;
  EXPECT_EQ(seqrt_context_new(threads, size_t(seqrt_workspace_size(&jit.model(), batch)), &ctx), SEQRT_OK);
  std::vector<float> y(size_t(batch * outPerSample), NAN);
  const float *inputs[] = {x.data()};
  EXPECT_EQ(jit.forward(weights, inputs, y.data(), batch, ctx), SEQRT_OK) << seqrt_last_error();
  seqrt_context_free(ctx);
  return y;
}

} // namespace seq_test
