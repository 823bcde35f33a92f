// Weights.h: the seqrt_weights handle, shared by loading, random init and
// the forward checks. A handle knows the model it was packed for: its
// name and the fingerprint of its parameter table and layout.
#pragma once

#include "AlignedBuffer.h"
#include "seqrt.h"

#include <cstdint>
#include <string>
#include <utility>

struct seqrt_weights {
  // "seqrtWv2" while the handle lives: the forward checks tell a handle
  // from a freed one or from another pointer (e.g. seqrt_weights_data(),
  // what version 1 forward functions took).
  static constexpr std::uint64_t kMagic = 0x3276577472716573ull;

  seqrt_weights(seq::rt::AlignedBuffer buffer, std::string name,
                std::uint64_t print)
      : packed(std::move(buffer)), modelName(std::move(name)),
        fingerprint(print) {}
  ~seqrt_weights() { *static_cast<volatile std::uint64_t *>(&magic) = 0; }
  seqrt_weights(const seqrt_weights &) = delete;
  seqrt_weights &operator=(const seqrt_weights &) = delete;

  std::uint64_t magic = kMagic; // first: readable whatever the pointer is
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
