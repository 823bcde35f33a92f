// WeightsLoad: the weights side of the commands: checking and loading a
// safetensors or torch.save file for a model (with --strip-prefix), its
// problems as diagnostics, and `seqc convert`.
#pragma once

#include "driver/Frontend.h"

#include <seqrt.h>

#include <string>

namespace seq::driver {

// --weights and --strip-prefix.
struct WeightsSource {
  std::string path;
  std::string stripPrefix;
};

// seqc check --weights: every problem of the file against the model, at
// once, as diagnostics at the model's name. Returns kUsage (reported) for
// a file that cannot be read, else kSuccess.
int checkWeights(Frontend &frontend, const sema::CheckedModel &model,
                  const WeightsSource &source);

// Loads the weights for `desc` (the compiled model's description). Every
// problem becomes a diagnostic; on failure returns null with the exit code
// in `status` (kUsage for a file that cannot be read).
seqrt_weights *loadWeights(Frontend &frontend, const seqrt_model &desc,
                           const WeightsSource &source,
                           const sema::CheckedModel &model, int &status);

struct ConvertCommand {
  std::string input, output, stripPrefix;
};

// seqc convert W.pth -o W.safetensors: any weights file seqc reads, written
// as safetensors (same tensors, names and dtypes), atomically.
int runConvert(const ConvertCommand &command, const CommonOptions &common);

} // namespace seq::driver
