// Model.h: checks on a seqrt_model that seqc emitted, and the facts about
// its parameters the rest of the runtime needs.
#pragma once

#include "seqrt.h"

#include <cstdint>
#include <span>
#include <string>

namespace seq::rt {

// Throws Error: SEQRT_ERR_ARGUMENT for a NULL model, SEQRT_ERR_ABI for a
// model compiled for another SEQRT_ABI_VERSION, SEQRT_ERR_INTERNAL for a
// model without a name or with a malformed parameter table (a NULL name, a rank
// outside [0, SEQRT_MAX_RANK], a negative dimension, an element count
// that overflows).
void validateParams(const seqrt_model *model);

// Throws SEQRT_ERR_INTERNAL when model.fingerprint is not the fingerprint
// of its (validated) tables: a corrupt or hand-made description.
void validateFingerprint(const seqrt_model &model);

// The message for a model of ABI version `version`.
std::string abiMismatch(std::int32_t version);

// "model 'MLP' (mlp_forward)", for messages.
std::string describeModel(const seqrt_model &model);

std::span<const seqrt_tensor_desc> paramsOf(const seqrt_model &model);
std::span<const std::int64_t> dimsOf(const seqrt_tensor_desc &param);

// The element count of a parameter that validateParams accepted.
std::int64_t elementCount(const seqrt_tensor_desc &param);

} // namespace seq::rt
