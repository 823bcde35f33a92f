// graph_from_source.h: for unit tests that start from a .seq source: the
// first model of `source` parsed, checked (no error expected), lowered and
// through the pass pipeline, as `seqc build` gets it; nullopt when it does
// not parse or its model is not valid.
#pragma once

#include "lower/AstToIr.h"
#include "parse/Parser.h"
#include "passes/Passes.h"
#include "sema/Sema.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>

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

} // namespace seq_test
