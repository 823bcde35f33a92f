// Weights.h: the seqrt_weights handle, shared by loading, random init and
// the forward checks. A handle knows the model it was packed for: its
// name and the fingerprint of its parameter table and layout.
#pragma once

#include "AlignedBuffer.h"
#include "seqrt.h"

#include <cstdint>
#include <string>

struct seqrt_weights {
  seq::rt::AlignedBuffer packed;
  std::string modelName;
  std::uint64_t fingerprint = 0;
};

namespace seq::rt {

// Checks a model's ABI version, parameter table, fingerprint and pack
// steps (see Model.h, Pack.h).
void validateModel(const seqrt_model *model);

// Hands `packed`, packed for `model`, to the caller as a new seqrt_weights
// in *out.
void publishWeights(const seqrt_model &model, AlignedBuffer packed,
                    seqrt_weights **out);

} // namespace seq::rt
