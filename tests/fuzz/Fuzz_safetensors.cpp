// Fuzz target: raw bytes as a safetensors file, loaded (validated, matched,
// converted and packed) against a small model with a convolution, a batch
// norm and a linear layer. Loading either succeeds with a buffer of the
// packed size or fails with a status and a message.
#include "FuzzSupport.h"

#include "codegen/ModelDesc.h"

#include "seqrt.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

const char *kModel = R"(model Small(x: [N, 2, 4, 4]) {
    conv = Conv2d(2, 3, 3, padding=1)
    bn = BatchNorm2d(3)
    fc = Linear(48, 2)
    forward(x) { return fc(bn(conv(x)).view(x.shape[0], -1)) }
}
)";

const seqrt_model &model() {
  static std::unique_ptr<seq::fuzz::CompiledSource> source = seq::fuzz::compileSource(kModel);
  static std::unique_ptr<seq::codegen::ModelDesc> desc = [] {
    if (!source->graph) {
      std::fprintf(stderr, "fuzz_safetensors: the model does not compile:\n%s", source->errors().c_str());
      std::abort();
    }
    auto created = seq::codegen::ModelDesc::create(*source->graph);
    if (!created)
      std::abort();
    return std::move(*created);
  }();
  return desc->model();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  seqrt_weights *weights = nullptr;
  seqrt_status status = seqrt_weights_load_memory(&model(), data, size, &weights);
  if (status == SEQRT_OK) {
    const float *packed = seqrt_weights_data(weights);
    if (!weights || (model().packed_size > 0 && !packed))
      std::abort();
    volatile float sum = 0; // every packed float is readable
    for (int64_t i = 0; i < model().packed_size; ++i)
      sum = sum + packed[i];
  } else if (weights || std::strlen(seqrt_last_error()) == 0) {
    std::abort(); // a failure leaves no weights and says why
  }
  seqrt_weights_free(weights);
  return 0;
}
