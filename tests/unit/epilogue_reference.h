// epilogue_reference.h: what the tests of the register epilogue
// (seqk_fused) share: weights packed in panels as seqrt packs them, a
// float's bits, and the activations each test runs through.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "seqk.h"
}

namespace seqk_test {

// w [OC, C] in panels of SEQK_PANEL_WIDTH rows, transposed
// (SEQRT_PACK_PANELS): panel p is [C][32], zero past the last row.
inline std::vector<float> panels(int64_t OC, int64_t C, const std::vector<float> &w) {
  constexpr int64_t kPanel = SEQK_PANEL_WIDTH;
  std::vector<float> wp(size_t((OC + kPanel - 1) / kPanel * C * kPanel), 0.0f);
  for (int64_t m = 0; m < OC; ++m)
    for (int64_t k = 0; k < C; ++k)
      wp[size_t((m / kPanel * C + k) * kPanel + m % kPanel)] = w[size_t(m * C + k)];
  return wp;
}

inline uint32_t bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

// Every activation a seqk_fused takes, and a clamp that is not ReLU6.
struct Act {
  int32_t act;
  float lo, hi;
  const char *name;
};
inline constexpr Act kActs[] = {{SEQK_ACT_NONE, 0, 0, "none"},
                                {SEQK_ACT_RELU, 0, 0, "relu"},
                                {SEQK_ACT_HARDTANH, 0.0f, 6.0f, "relu6"},
                                {SEQK_ACT_HARDTANH, -0.5f, 0.25f, "hardtanh"},
                                {SEQK_ACT_SILU, 0, 0, "silu"},
                                {SEQK_ACT_HARDSWISH, 0, 0, "hardswish"},
                                {SEQK_ACT_TANH, 0, 0, "tanh"}};

} // namespace seqk_test
