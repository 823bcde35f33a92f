// Fuzz target: raw bytes as a .seq file through the front end as `seqc
// check`, `print` and `summary` run it (no lowering, so it stays fast):
// the file checks (size, UTF-8), parsing, checking, diagnostics rendered as
// text and JSON, and for each valid model print (both styles), summary and
// the parameter list. Any crash, sanitizer report or hang is a finding.
#include "basic/Diagnostics.h"
#include "basic/SourceManager.h"
#include "parse/Parser.h"
#include "sema/Sema.h"
#include "tools/Print.h"
#include "tools/Summary.h"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace seq;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  if (SourceManager::firstInvalidUtf8(text))
    return 0; // rejected by the driver before parsing (tested in lit)
  SourceManager sources;
  Diagnostics diags(sources);
  FileId id = sources.addFile("fuzz.seq", std::move(text));
  std::unique_ptr<ast::File> file = parse::parseFile(sources, id, diags);
  if (file) {
    for (const std::unique_ptr<sema::CheckedModel> &model : sema::check(*file, sources, diags)) {
      if (!model->valid || !model->root)
        continue;
      tools::printModel(*model->root, tools::PrintStyle::PyTorch);
      tools::printModel(*model->root, tools::PrintStyle::MindSpore);
      tools::paramsJson(*model);
      for (int64_t batch : {int64_t(1), int64_t(3)})
        if (!tools::batchTooLarge(*model, batch)) {
          tools::SummaryOptions options;
          options.batch = batch;
          tools::summarize(*model, options);
        }
    }
  }
  diags.render({DiagFormat::Text, true});
  diags.render({DiagFormat::Json, false});
  if (!file && !diags.hasErrors())
    std::abort(); // a rejected file must say why
  return 0;
}
