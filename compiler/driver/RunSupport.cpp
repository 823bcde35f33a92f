// RunSupport: inputs for `seqc run` (.npy files, or seeded random ones)
// and the summary it prints when no --output is given.
#include "driver/RunSupport.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <numbers>

namespace seq::driver {

namespace fs = std::filesystem;

namespace {

constexpr size_t kShownValues = 8;

// splitmix64 and Box-Muller: the same inputs for a seed on every platform
// (std::normal_distribution is not specified bit for bit).
class NormalSource {
public:
  explicit NormalSource(uint64_t seed) : state_(seed) {}

  float next() {
    double u1 = (double(bits() >> 11) + 1.0) * 0x1.0p-53; // (0, 1]
    double u2 = double(bits() >> 11) * 0x1.0p-53;         // [0, 1)
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
  }

private:
  uint64_t bits() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

// Batch 1, or the model's fixed batch.
RunInputs randomInputs(const sema::CheckedModel &model, uint64_t seed) {
  RunInputs inputs;
  if (!model.inputs.empty() && model.inputs[0].shape[0].isConstant())
    inputs.batch = model.inputs[0].shape[0].constant;
  NormalSource normal(seed);
  for (const sema::ModelInput &declared : model.inputs) {
    tools::NpyArray array;
    size_t count = 1;
    for (const sema::SymInt &dim : declared.shape) {
      array.shape.push_back(dim.isConstant() ? dim.constant : dim.coeff * inputs.batch + dim.constant);
      count *= size_t(array.shape.back());
    }
    array.data.resize(count);
    for (float &value : array.data)
      value = normal.next();
    std::cerr << fmt::format("seqc: note: no --input: input '{}' is random, shape [{}] (normal, seed {})\n",
                             declared.name, fmt::join(array.shape, ", "), seed);
    inputs.arrays.push_back(std::move(array));
  }
  return inputs;
}

bool readInputs(Frontend &frontend, const sema::CheckedModel &model, const RunCommand &run,
                RunInputs &inputs, int &status) {
  int64_t batch = -1;
  for (size_t i = 0; i < run.inputs.size(); ++i) {
    std::error_code ec;
    if (!fs::is_regular_file(run.inputs[i], ec)) {
      printError(fmt::format("cannot open input '{}'", run.inputs[i]));
      status = kUsage;
      return false;
    }
    std::string error;
    std::optional<tools::NpyArray> array = tools::readNpy(run.inputs[i], error);
    if (!array) {
      frontend.diagnostics().error(std::nullopt, error);
      status = frontend.finish();
      return false;
    }
    const sema::ModelInput &declared = model.inputs[i];
    bool ok = array->shape.size() == declared.shape.size();
    for (size_t d = 0; ok && d < declared.shape.size(); ++d)
      ok = declared.shape[d].isConstant() ? array->shape[d] == declared.shape[d].constant
                                          : (batch < 0 || array->shape[d] == batch);
    if (ok && !declared.shape[0].isConstant())
      batch = array->shape[0];
    if (ok && declared.shape[0].isConstant())
      batch = declared.shape[0].constant;
    if (!ok) {
      frontend.diagnostics().error(declared.range, fmt::format(
          "input '{}' must have shape {}{}, but '{}' has shape [{}]", declared.name,
          sema::shapeStr(declared.shape, declared.batchName.empty() ? "N" : declared.batchName),
          batch >= 0 && !declared.shape[0].isConstant() ? fmt::format(" with batch {}", batch) : "",
          run.inputs[i], fmt::join(array->shape, ", ")));
      status = frontend.finish();
      return false;
    }
    inputs.arrays.push_back(std::move(*array));
  }
  inputs.batch = batch;
  return true;
}

std::string formatValue(float value) { return fmt::format("{:.6g}", value); }

} // namespace

bool prepareInputs(Frontend &frontend, const sema::CheckedModel &model, const RunCommand &run,
                   RunInputs &inputs, int &status) {
  if (run.inputs.empty()) {
    inputs = randomInputs(model, run.seed);
    return true;
  }
  if (run.inputs.size() != model.inputs.size()) {
    std::string names;
    for (const sema::ModelInput &in : model.inputs)
      names += (names.empty() ? "" : ", ") + in.name;
    printError(fmt::format("model '{}' takes {} input{} ({}), but {} --input {} given", model.name,
                           model.inputs.size(), model.inputs.size() == 1 ? "" : "s", names,
                           run.inputs.size(), run.inputs.size() == 1 ? "was" : "were"));
    status = kUsage;
    return false;
  }
  return readInputs(frontend, model, run, inputs, status);
}

void printRunSummary(std::ostream &out, const RunSummary &summary) {
  const std::vector<float> &values = *summary.values;
  out << fmt::format("{}: output shape [{}]\n", summary.model, fmt::join(summary.shape, ", "));
  std::vector<std::string> shown;
  for (size_t i = 0; i < values.size() && i < kShownValues; ++i)
    shown.push_back(formatValue(values[i]));
  out << fmt::format("  values  {}{}\n", fmt::join(shown, " "),
                     values.size() > kShownValues ? fmt::format(" ... ({} in all)", values.size()) : "");
  if (!values.empty()) {
    auto [low, high] = std::minmax_element(values.begin(), values.end());
    double sum = 0;
    for (float value : values)
      sum += value;
    out << fmt::format("  min {}  max {}  mean {}\n", formatValue(*low), formatValue(*high),
                       formatValue(float(sum / double(values.size()))));
  }
  out << fmt::format("  forward {:.3f} ms ({} thread{}); compile {:.1f} ms\n",
                     summary.forwardSeconds * 1e3, summary.threads, summary.threads == 1 ? "" : "s",
                     summary.compileSeconds * 1e3);
}

} // namespace seq::driver
