// seqrt.hpp: C++17 RAII wrappers over libseqrt's C API (seqrt.h) and the
// forward function of a model seqc generated.
//
//   #include "seqrt.hpp"
//   #include "mlp.h"            // declares mlp_model, mlp_forward, mlp_desc
//
//   seqrt::Model<mlp_desc> model(seqrt::Weights::load(mlp_model, "mlp.safetensors"));
//   std::vector<float> y = model(batch, x);       // one pointer per input
//
// Every failure throws seqrt::Error, holding the status and the runtime's
// message. Weights are shared (std::shared_ptr): several Model objects,
// on several threads, may use one set; a Model owns its context, so one
// Model serves one call at a time.
#ifndef SEQRT_HPP
#define SEQRT_HPP

#include "seqrt.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace seqrt {

// A failing call: its status and seqrt_last_error() at the time.
class Error : public std::runtime_error {
public:
  Error(seqrt_status status, const std::string &what)
      : std::runtime_error(what), status_(status) {}
  seqrt_status status() const noexcept { return status_; }

private:
  seqrt_status status_;
};

// Throws Error when `status` is not SEQRT_OK.
inline void check(seqrt_status status, const char *call) {
  if (status == SEQRT_OK)
    return;
  const char *detail = seqrt_last_error();
  throw Error(status, std::string(call) + ": " + seqrt_status_string(status) +
                          (detail && *detail ? std::string(" (") + detail + ")" : std::string()));
}

// An immutable, shareable weights handle.
class Weights {
public:
  Weights() = default;

  static Weights load(const seqrt_model &model, const std::string &path) {
    seqrt_weights *raw = nullptr;
    check(seqrt_weights_load(&model, path.c_str(), &raw), "seqrt_weights_load");
    return Weights(raw);
  }
  static Weights fromMemory(const seqrt_model &model, const void *data, std::size_t size) {
    seqrt_weights *raw = nullptr;
    check(seqrt_weights_load_memory(&model, data, size, &raw), "seqrt_weights_load_memory");
    return Weights(raw);
  }
  static Weights fromPacked(const seqrt_model &model, const float *packed, std::size_t count) {
    seqrt_weights *raw = nullptr;
    check(seqrt_weights_from_packed(&model, packed, count, &raw), "seqrt_weights_from_packed");
    return Weights(raw);
  }
  static Weights random(const seqrt_model &model, std::uint64_t seed) {
    seqrt_weights *raw = nullptr;
    check(seqrt_weights_random(&model, seed, &raw), "seqrt_weights_random");
    return Weights(raw);
  }

  const seqrt_weights *get() const noexcept { return handle_.get(); }
  explicit operator bool() const noexcept { return handle_ != nullptr; }
  const char *modelName() const noexcept { return seqrt_weights_model_name(get()); }

private:
  explicit Weights(seqrt_weights *raw) : handle_(raw, seqrt_weights_free) {}
  std::shared_ptr<const seqrt_weights> handle_;
};

// A context: worker threads and a workspace; one call at a time.
class Context {
public:
  explicit Context(int threads = 0, std::size_t workspaceBytes = 0) {
    seqrt_context *raw = nullptr;
    check(seqrt_context_new(threads, workspaceBytes, &raw), "seqrt_context_new");
    handle_.reset(raw);
  }
  void reserve(std::size_t bytes) { check(seqrt_context_reserve(get(), bytes), "seqrt_context_reserve"); }
  int threads() const noexcept { return seqrt_context_threads(handle_.get()); }
  seqrt_context *get() const noexcept { return handle_.get(); }

private:
  struct Free {
    void operator()(seqrt_context *ctx) const noexcept { seqrt_context_free(ctx); }
  };
  std::unique_ptr<seqrt_context, Free> handle_;
};

// A compiled model: its weights and a context of its own. `Desc` is the
// description struct seqc writes into the header (`<prefix>_desc`): the
// model, the number of inputs and the forward function.
template <class Desc> class Model {
public:
  // No weights: a build with compiled-in weights, or a model without any.
  explicit Model(int threads = 0) : context_(threads) {}
  explicit Model(Weights weights, int threads = 0)
      : weights_(std::move(weights)), context_(threads) {}

  static const seqrt_model &description() noexcept { return Desc::model(); }
  static constexpr int numInputs() noexcept { return Desc::num_inputs; }

  // Elements of one input or of the output for `batch`.
  static std::int64_t inputElements(int input, std::int64_t batch) {
    return elements(description().inputs[input], batch);
  }
  static std::int64_t outputElements(std::int64_t batch) {
    return elements(*description().output, batch);
  }

  // Runs the model into `output` (outputElements(batch) floats); grows
  // the workspace first when the batch needs more.
  template <class... Inputs> void forward(float *output, std::int64_t batch, const Inputs *...inputs) {
    static_assert(sizeof...(Inputs) == Desc::num_inputs, "one pointer per model input");
    std::int64_t bytes = seqrt_workspace_size(&description(), batch);
    if (bytes > 0)
      context_.reserve(static_cast<std::size_t>(bytes));
    check(Desc::forward(weights_.get(), inputs..., output, batch, context_.get()), Desc::forward_name());
  }

  // The same, returning the output as a vector.
  template <class... Inputs> std::vector<float> operator()(std::int64_t batch, const Inputs *...inputs) {
    std::int64_t count = batch < 0 || batch > description().max_batch ? 0 : outputElements(batch);
    // Never empty: an empty vector's data() may be NULL, which forward refuses.
    std::vector<float> output(static_cast<std::size_t>(count > 0 ? count : 1));
    forward(output.data(), batch, inputs...);
    output.resize(static_cast<std::size_t>(count));
    return output;
  }

  const Weights &weights() const noexcept { return weights_; }
  Context &context() noexcept { return context_; }

private:
  static std::int64_t elements(const seqrt_tensor_desc &tensor, std::int64_t batch) {
    std::int64_t count = 1;
    for (std::int32_t d = 0; d < tensor.rank; ++d)
      count *= tensor.dims[d] < 0 ? batch : tensor.dims[d];
    return count;
  }

  Weights weights_;
  Context context_;
};

} // namespace seqrt

#endif // SEQRT_HPP
