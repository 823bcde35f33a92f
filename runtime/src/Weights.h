// Weights.h: the seqrt_weights handle, shared by loading and random init.
#pragma once

#include "AlignedBuffer.h"
#include "seqrt.h"

struct seqrt_weights {
  seq::rt::AlignedBuffer packed;
};

namespace seq::rt {

// Checks a model's parameter table and pack steps (see Model.h, Pack.h).
void validateModel(const seqrt_model *model);

// Hands `packed` to the caller as a new seqrt_weights in *out.
void publishWeights(AlignedBuffer packed, seqrt_weights **out);

} // namespace seq::rt
