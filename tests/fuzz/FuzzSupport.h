// FuzzSupport: a .seq text checked, lowered and run through every pass,
// for the fuzz targets that need a real model (safetensors, models).
#pragma once

#include "basic/Diagnostics.h"
#include "basic/SourceManager.h"
#include "ir/Graph.h"
#include "lower/AstToIr.h"
#include "parse/Parser.h"
#include "passes/Passes.h"
#include "sema/Sema.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace seq::fuzz {

struct CompiledSource {
  SourceManager sources;
  std::unique_ptr<Diagnostics> diags;
  std::unique_ptr<ast::File> file;
  std::vector<std::unique_ptr<sema::CheckedModel>> models;
  std::optional<ir::Graph> graph; // of the first model, when it is valid

  std::string errors() const { return diags->render({DiagFormat::Text, false}); }
};

// Parses and checks `text`; lowers the first model through every pass.
inline std::unique_ptr<CompiledSource> compileSource(std::string text) {
  auto out = std::make_unique<CompiledSource>();
  out->diags = std::make_unique<Diagnostics>(out->sources);
  FileId id = out->sources.addFile("model.seq", std::move(text));
  out->file = parse::parseFile(out->sources, id, *out->diags);
  if (!out->file)
    return out;
  out->models = sema::check(*out->file, out->sources, *out->diags);
  if (out->models.empty() || !out->models[0]->valid || out->diags->hasErrors())
    return out;
  ir::Graph graph = lower::lowerModel(*out->models[0]);
  passes::runPipeline(graph);
  out->graph = std::move(graph);
  return out;
}

} // namespace seq::fuzz
