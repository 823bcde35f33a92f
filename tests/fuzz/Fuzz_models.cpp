// Fuzz target: structure-aware. The bytes steer ModelGen to a valid random
// model; it is checked, lowered, optimised, JIT-compiled for the host and
// run on random weights and inputs, and its output compared with the
// double-precision reference (Reference.cpp) within 1e-4 + 1e-4 * |y|.
// A rejected valid model, a failed build or run, or a mismatch (a
// miscompile) aborts, as a crash does.
#include "FuzzSupport.h"
#include "ModelGen.h"

#include "codegen/Jit.h"
#include "ir/Verifier.h"

#include <llvm/Support/TargetSelect.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

using namespace seq;

namespace {

[[noreturn]] void finding(const fuzz::GenModel &m, const std::string &what) {
  std::fprintf(stderr, "fuzz_models: %s\n--- model ---\n%s", what.c_str(), m.text.c_str());
  std::abort();
}

// Values as PyTorch initialises them, and plausible BatchNorm statistics.
std::vector<float> paramValues(const std::string &name, int64_t count, int64_t fanIn, std::mt19937 &rng) {
  auto uniform = [&](double lo, double hi) {
    std::uniform_real_distribution<double> d(lo, hi);
    std::vector<float> v(static_cast<size_t>(count));
    for (float &x : v)
      x = float(d(rng));
    return v;
  };
  auto is = [&](const std::string &suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (is("running_var")) return uniform(0.5, 1.5);
  if (is("running_mean")) return uniform(-0.5, 0.5);
  double bound = 1 / std::sqrt(double(std::max<int64_t>(fanIn, 1)));
  return uniform(-bound, bound);
}

// Within 1e-4 + 1e-4 * |want|; an infinity must be the same infinity (a max
// pool window that covers only padding is -inf, as in PyTorch) and NaN must
// stay NaN.
bool matches(float got, double want) {
  if (std::isnan(want))
    return std::isnan(got);
  if (std::isinf(want))
    return double(got) == want;
  return std::fabs(double(got) - want) <= 1e-4 + 1e-4 * std::fabs(want);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool initialised = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialised;
  fuzz::ByteSource bytes(data, size);
  fuzz::GenModel m = fuzz::generateModel(bytes);
  int64_t batch = bytes.pick(1, 3);
  int threads = int(bytes.pick(1, 2));
  std::mt19937 rng(bytes.seed());
  if (std::getenv("SEQ_FUZZ_PRINT")) // to see what a corpus holds
    std::fprintf(stderr, "batch %lld, %d threads:\n%s", (long long)batch, threads, m.text.c_str());

  std::unique_ptr<fuzz::CompiledSource> source = fuzz::compileSource(m.text);
  if (!source->graph)
    finding(m, "a valid model was rejected:\n" + source->errors());
  if (std::vector<std::string> problems = ir::verify(*source->graph); !problems.empty())
    finding(m, "the optimised graph is invalid: " + problems[0]);
  auto jit = codegen::JitModel::create(*source->graph, {});
  if (!jit)
    finding(m, "JIT compilation failed: " + llvm::toString(jit.takeError()));
  const seqrt_model &desc = (*jit)->model();

  // The state_dict, in the model's order, then packed.
  std::map<std::string, std::vector<float>> params;
  std::vector<const float *> pointers;
  for (int32_t i = 0; i < desc.num_params; ++i) {
    const seqrt_tensor_desc &t = desc.params[i];
    int64_t count = 1, fanIn = 1;
    for (int32_t d = 0; d < t.rank; ++d) {
      count *= t.dims[d];
      if (d > 0)
        fanIn *= t.dims[d];
    }
    if (t.rank == 1) // a bias: PyTorch bounds it by the weight's fan-in; any O(1) scale will do
      fanIn = 4;
    params[t.name] = paramValues(t.name, count, fanIn, rng);
  }
  for (int32_t i = 0; i < desc.num_params; ++i)
    pointers.push_back(params[desc.params[i].name].data());
  std::vector<float> packed(size_t(desc.packed_size) + 1);
  seqrt_weights *weights = nullptr;
  if (seqrt_pack(&desc, pointers.data(), packed.data()) != SEQRT_OK ||
      seqrt_weights_from_packed(&desc, packed.data(), size_t(desc.packed_size), &weights) != SEQRT_OK)
    finding(m, std::string("packing the weights failed: ") + seqrt_last_error());

  int64_t inCount = batch, outCount = batch;
  for (int64_t d : m.input)
    inCount *= d;
  for (int64_t d : m.output)
    outCount *= d;
  std::vector<float> x(static_cast<size_t>(inCount));
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (float &v : x)
    v = unit(rng);
  std::vector<float> y(size_t(outCount), std::nanf(""));
  seqrt_context *ctx = nullptr;
  int64_t workspace = seqrt_workspace_size(&desc, batch);
  if (workspace < 0 || seqrt_context_new(threads, size_t(workspace), &ctx) != SEQRT_OK)
    finding(m, "no context");
  const float *inputs[] = {x.data()};
  seqrt_status status = (*jit)->forward(weights, inputs, y.data(), batch, ctx);
  seqrt_context_free(ctx);
  seqrt_weights_free(weights);
  if (status != SEQRT_OK)
    finding(m, std::string("forward failed: ") + seqrt_status_string(status));

  std::vector<double> want = fuzz::evaluate(m, x, batch, params);
  if (want.size() != y.size())
    finding(m, "the reference and the model disagree on the output size");
  for (size_t i = 0; i < y.size(); ++i)
    if (!matches(y[i], want[i]))
      finding(m, "miscompile: output " + std::to_string(i) + " is " + std::to_string(y[i]) + ", the reference " +
                     std::to_string(want[i]) + " (batch " + std::to_string(batch) + ")");
  return 0;
}
