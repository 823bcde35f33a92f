// Pack.h: the packed weight buffer, made from state_dict tensors by the
// model's pack steps (see seqrt_pack_op in seqrt.h).
#pragma once

#include "AlignedBuffer.h"
#include "seqrt.h"

namespace seq::rt {

// Checks every pack step against the parameter table and packed_size, so
// that running them cannot read or write out of bounds. Throws
// Error(SEQRT_ERR_INTERNAL) naming the first bad step. Expects a model
// that validateParams accepted.
void validatePackSteps(const seqrt_model &model);

// Runs the validated steps into `packed` (model.packed_size floats),
// leaving what no step writes untouched.
void runPackSteps(const seqrt_model &model, const float *const *params,
                  float *packed);

// A new packed buffer, aligned to SEQRT_ALIGNMENT, made from `params` by
// the validated steps.
AlignedBuffer packWeights(const seqrt_model &model, const float *const *params);

} // namespace seq::rt
