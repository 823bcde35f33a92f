// RunSupport: the parts of `seqc run` around the forward call: reading
// (or, without --input, generating) the inputs, and summarising the
// output on standard output when there is no --output.
#pragma once

#include "driver/Commands.h"
#include "tools/Npy.h"

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace seq::driver {

struct RunInputs {
  std::vector<tools::NpyArray> arrays;
  int64_t batch = 1;
};

// The inputs of `run` for `model`: read from the --input files (checked
// against the declared shapes), or, without any --input, drawn from a
// standard normal distribution seeded by --seed, with batch 1 (said on
// stderr). On failure returns false with the exit code in `status`
// (diagnostics collected in `frontend`, or printed).
bool prepareInputs(Frontend &frontend, const sema::CheckedModel &model, const RunCommand &run,
                   RunInputs &inputs, int &status);

// What `seqc run` prints without --output.
struct RunSummary {
  std::string model;
  std::vector<int64_t> shape;
  const std::vector<float> *values = nullptr;
  double forwardSeconds = 0, compileSeconds = 0;
  int threads = 0;
};

// The output's shape, its first values, min/max/mean and the times.
void printRunSummary(std::ostream &out, const RunSummary &summary);

} // namespace seq::driver
