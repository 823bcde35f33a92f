// Tests of the pack steps' numerics (COPY as is, transposed, in panels and
// as Winograd's transformed kernels, FOLD_BN in each layout,
// BN_SCALE_SHIFT, ZERO) and of their validation: a bad step must fail
// before anything is written.
#include "runtime_test_support.h"

#include <cmath>

namespace {

using namespace seqrt_test;

std::vector<float> iota(std::size_t count, float first = 0.0f) {
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i)
    values[i] = first + static_cast<float>(i);
  return values;
}

// Runs seqrt_pack into a buffer with guard values around it.
struct PackRun {
  static constexpr std::size_t kGuard = 16;
  static constexpr float kSentinel = -777.0f;

  PackRun(const seqrt_model *model, const std::vector<const float *> &params)
      : buffer(model->packed_size + 2 * kGuard, kSentinel) {
    status = seqrt_pack(model, params.data(), buffer.data() + kGuard);
  }

  std::vector<float> packed() const {
    return {buffer.begin() + kGuard, buffer.end() - kGuard};
  }
  bool guardsIntact() const {
    for (std::size_t i = 0; i < kGuard; ++i)
      if (buffer[i] != kSentinel || buffer[buffer.size() - 1 - i] != kSentinel)
        return false;
    return true;
  }

  std::vector<float> buffer;
  seqrt_status status;
};

TEST(RuntimePack, CopiesAndTransposes) {
  ModelBuilder builder;
  builder.param("w", {2, 3})
      .step(packStep(SEQRT_PACK_COPY, {0}, 0, 0, 2, 3))
      .step(packStep(SEQRT_PACK_COPY, {0}, 6, 0, 2, 3, true))
      .packedSize(14); // two floats at the end that no step writes
  std::vector<float> w = iota(6);
  PackRun run(builder.model(), {w.data()});
  ASSERT_EQ(run.status, SEQRT_OK) << seqrt_last_error();
  EXPECT_EQ(run.packed(), (std::vector<float>{0, 1, 2, 3, 4, 5,  //
                                              0, 3, 1, 4, 2, 5,  //
                                              0, 0}));
  EXPECT_TRUE(run.guardsIntact());
}

TEST(RuntimePack, TransposesLargeMatricesAcrossTiles) {
  const std::int64_t rows = 67, cols = 45;
  ModelBuilder builder;
  builder.param("w", {rows, cols})
      .step(packStep(SEQRT_PACK_COPY, {0}, 0, 0, rows, cols, true))
      .packedSize(rows * cols);
  std::vector<float> w = iota(rows * cols);
  PackRun run(builder.model(), {w.data()});
  ASSERT_EQ(run.status, SEQRT_OK);
  std::vector<float> packed = run.packed();
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c)
      ASSERT_EQ(packed[c * rows + r], w[r * cols + c]) << r << "," << c;
}

seqrt_pack_step inLayout(seqrt_pack_step step, std::int32_t layout) {
  step.transpose = layout;
  return step;
}

// Panels of SEQRT_PACK_PANEL_WIDTH source rows: 67 rows are two whole
// panels and one of 3 rows, zero-padded to the width.
TEST(RuntimePack, CopiesIntoPanels) {
  const std::int64_t rows = 67, cols = 5, width = SEQRT_PACK_PANEL_WIDTH;
  const std::int64_t size = 3 * width * cols;
  ModelBuilder builder;
  builder.param("w", {rows, cols})
      .step(inLayout(packStep(SEQRT_PACK_COPY, {0}, 0, 0, rows, cols), SEQRT_PACK_PANELS))
      .packedSize(size);
  std::vector<float> w = iota(rows * cols, 1.0f);
  PackRun run(builder.model(), {w.data()});
  ASSERT_EQ(run.status, SEQRT_OK) << seqrt_last_error();
  EXPECT_TRUE(run.guardsIntact());
  std::vector<float> packed = run.packed();
  for (std::int64_t p = 0; p < 3; ++p)
    for (std::int64_t c = 0; c < cols; ++c)
      for (std::int64_t j = 0; j < width; ++j) {
        std::int64_t r = p * width + j;
        ASSERT_EQ(packed[(p * cols + c) * width + j], r < rows ? w[r * cols + c] : 0.0f)
            << p << "," << c << "," << j;
      }
}

// Folding into panels scales the same elements as folding in rows.
TEST(RuntimePack, FoldsBatchNormIntoPanels) {
  const std::int64_t rows = 33, cols = 2, width = SEQRT_PACK_PANEL_WIDTH;
  std::vector<float> w = iota(rows * cols, -20.0f), mean = iota(rows), var = iota(rows, 0.5f);
  ModelBuilder builder;
  builder.param("w", {rows, cols}).param("mean", {rows}).param("var", {rows})
      .step(packStep(SEQRT_PACK_FOLD_BN, {0, -1, -1, -1, 1, 2}, 0, rows * cols, rows, cols))
      .step(inLayout(packStep(SEQRT_PACK_FOLD_BN, {0, -1, -1, -1, 1, 2}, 2 * rows * cols,
                              2 * rows * cols + 2 * width * cols, rows, cols),
                     SEQRT_PACK_PANELS))
      .packedSize(2 * rows * cols + 2 * width * cols + rows);
  PackRun run(builder.model(), {w.data(), mean.data(), var.data()});
  ASSERT_EQ(run.status, SEQRT_OK) << seqrt_last_error();
  std::vector<float> packed = run.packed();
  const float *panels = packed.data() + 2 * rows * cols;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c)
      ASSERT_EQ(panels[(r / width * cols + c) * width + r % width], packed[r * cols + c]);
    ASSERT_EQ(packed[2 * rows * cols + 2 * width * cols + r], packed[rows * cols + r]);
  }
  for (std::int64_t c = 0; c < cols; ++c)
    for (std::int64_t j = 1; j < width; ++j)
      ASSERT_EQ(panels[(cols + c) * width + j], 0.0f);
}

// SEQRT_PACK_WINOGRAD: U = G g G^T for every (row, 3x3 kernel), element
// xi of each U in the panel-packed [rows, C] matrix xi, the panels'
// padding zero; FOLD_BN scales each U by its row's factor, rounding once.
TEST(RuntimePack, TransformsKernelsForWinograd) {
  const std::int64_t rows = 33, C = 2, cols = C * 9, width = SEQRT_PACK_PANEL_WIDTH;
  const std::int64_t matrix = 2 * width * C, size = 16 * matrix;
  std::vector<float> w = iota(rows * cols, -300.0f), mean = iota(rows), var = iota(rows, 0.5f);
  for (float &v : w)
    v *= 0.01f;
  ModelBuilder builder;
  builder.param("w", {rows, cols}).param("mean", {rows}).param("var", {rows})
      .step(inLayout(packStep(SEQRT_PACK_COPY, {0}, 0, 0, rows, cols), SEQRT_PACK_WINOGRAD))
      .step(inLayout(packStep(SEQRT_PACK_FOLD_BN, {0, -1, -1, -1, 1, 2}, size, 2 * size, rows, cols, false, 0.5f),
                     SEQRT_PACK_WINOGRAD))
      .packedSize(2 * size + rows);
  PackRun run(builder.model(), {w.data(), mean.data(), var.data()});
  ASSERT_EQ(run.status, SEQRT_OK) << seqrt_last_error();
  EXPECT_TRUE(run.guardsIntact());
  std::vector<float> packed = run.packed();
  const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  for (std::int64_t r = 0; r < 2 * width; ++r)
    for (std::int64_t c = 0; c < C; ++c)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          double u = 0;
          for (int k = 0; k < 3 && r < rows; ++k)
            for (int l = 0; l < 3; ++l)
              u += G[i][k] * w[r * cols + c * 9 + k * 3 + l] * G[j][l];
          double scale = r < rows ? 1 / std::sqrt(double(var[r]) + 0.5) : 0;
          std::int64_t at = (i * 4 + j) * matrix + (r / width * C + c) * width + r % width;
          ASSERT_NEAR(packed[at], u, 1e-6 * (1 + std::fabs(u))) << r << "," << c << "," << i << "," << j;
          ASSERT_NEAR(packed[size + at], u * scale, 1e-6 * (1 + std::fabs(u))) << r << "," << c;
        }
  EXPECT_EQ(packed[2 * size], static_cast<float>(-mean[0] / std::sqrt(double(var[0]) + 0.5)));
}

class RuntimeFoldBatchNorm : public ::testing::TestWithParam<bool> {};

TEST_P(RuntimeFoldBatchNorm, MatchesAHandComputation) {
  const bool transpose = GetParam();
  const float eps = 1e-3f;
  std::vector<float> w = {1, -2, 3, 0.5f, 4, -6};  // [2, 3]
  std::vector<float> b = {0.25f, -1};
  std::vector<float> gamma = {2, 0.5f}, beta = {0.1f, -0.2f};
  std::vector<float> mean = {1, -3}, var = {4, 0.25f};
  ModelBuilder builder;
  builder.param("fc.weight", {2, 3}).param("fc.bias", {2})
      .param("bn.weight", {2}).param("bn.bias", {2})
      .param("bn.running_mean", {2}).param("bn.running_var", {2})
      .step(packStep(SEQRT_PACK_FOLD_BN, {0, 1, 2, 3, 4, 5}, 0, 6, 2, 3, transpose, eps))
      .packedSize(8);
  PackRun run(builder.model(), {w.data(), b.data(), gamma.data(), beta.data(),
                                mean.data(), var.data()});
  ASSERT_EQ(run.status, SEQRT_OK) << seqrt_last_error();
  std::vector<float> packed = run.packed();
  for (int r = 0; r < 2; ++r) {
    double a = gamma[r] / std::sqrt(static_cast<double>(var[r]) + eps);
    for (int c = 0; c < 3; ++c) {
      float expected = static_cast<float>(w[r * 3 + c] * a);
      EXPECT_EQ(packed[transpose ? c * 2 + r : r * 3 + c], expected) << r << "," << c;
    }
    EXPECT_EQ(packed[6 + r], static_cast<float>((b[r] - mean[r]) * a + beta[r]));
  }
  EXPECT_NEAR(packed[0], 1.0 * 2 / std::sqrt(4.001), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Layouts, RuntimeFoldBatchNorm, ::testing::Bool());

TEST(RuntimePack, FoldBatchNormDefaultsAbsentTensors) {
  // No bias, gamma or beta: A = 1/sqrt(var+eps), b' = -mean*A.
  std::vector<float> w = {2, 4}, mean = {1}, var = {3};
  ModelBuilder builder;
  builder.param("w", {1, 2}).param("mean", {1}).param("var", {1})
      .step(packStep(SEQRT_PACK_FOLD_BN, {0, -1, -1, -1, 1, 2}, 0, 2, 1, 2, false, 1.0f))
      .packedSize(3);
  PackRun run(builder.model(), {w.data(), mean.data(), var.data()});
  ASSERT_EQ(run.status, SEQRT_OK) << seqrt_last_error();
  EXPECT_EQ(run.packed(), (std::vector<float>{1.0f, 2.0f, -0.5f}));
}

TEST(RuntimePack, BatchNormScaleShift) {
  std::vector<float> gamma = {3, 1}, beta = {1, 2}, mean = {2, -4}, var = {8, 0};
  ModelBuilder builder;
  builder.param("g", {2}).param("b", {2}).param("m", {2}).param("v", {2})
      .step(packStep(SEQRT_PACK_BN_SCALE_SHIFT, {-1, -1, 0, 1, 2, 3}, 0, 2, 2, 1, false, 1.0f))
      .packedSize(4);
  PackRun run(builder.model(), {gamma.data(), beta.data(), mean.data(), var.data()});
  ASSERT_EQ(run.status, SEQRT_OK) << seqrt_last_error();
  // scale = gamma/sqrt(var+1) = {1, 1}; shift = beta - mean*scale = {-1, 6}.
  EXPECT_EQ(run.packed(), (std::vector<float>{1, 1, -1, 6}));
}

TEST(RuntimePack, ZeroesItsRangeAndEverythingUnwritten) {
  std::vector<float> w = iota(6, 1.0f);
  ModelBuilder builder;
  builder.param("w", {6})
      .step(packStep(SEQRT_PACK_COPY, {0}, 0, 0, 1, 6))
      .step(packStep(SEQRT_PACK_ZERO, {}, 2, 0, 2, 1))
      .packedSize(8);
  PackRun run(builder.model(), {w.data()});
  ASSERT_EQ(run.status, SEQRT_OK);
  EXPECT_EQ(run.packed(), (std::vector<float>{1, 2, 0, 0, 5, 6, 0, 0}));
}

// Each invalid step fails with SEQRT_ERR_INTERNAL and writes nothing.
struct BadStep {
  const char *what;
  seqrt_pack_step step;
  std::int64_t packedSize;
  const char *fragment;
};

class RuntimeBadPackStep : public ::testing::TestWithParam<BadStep> {};

TEST_P(RuntimeBadPackStep, FailsBeforeWriting) {
  const BadStep &bad = GetParam();
  std::vector<float> w = iota(6), v = iota(2);
  ModelBuilder builder;
  builder.param("w", {2, 3}).param("v", {2})
      .step(packStep(SEQRT_PACK_ZERO, {}, 0, 0, 1, 1))
      .step(bad.step)
      .packedSize(bad.packedSize);
  PackRun run(builder.model(), {w.data(), v.data()});
  EXPECT_EQ(run.status, SEQRT_ERR_INTERNAL);
  EXPECT_NE(std::string(seqrt_last_error()).find(bad.fragment), std::string::npos)
      << seqrt_last_error();
  EXPECT_EQ(run.buffer, std::vector<float>(run.buffer.size(), PackRun::kSentinel));
}

const BadStep kBadSteps[] = {
    {"SourceOutOfRange", packStep(SEQRT_PACK_COPY, {2}, 0, 0, 2, 3), 6,
     "names parameter 2, which does not exist"},
    {"SourceBelowMinusOne", packStep(SEQRT_PACK_COPY, {-2}, 0, 0, 2, 3), 6,
     "names parameter -2"},
    {"MissingSource", packStep(SEQRT_PACK_COPY, {-1}, 0, 0, 2, 3), 6,
     "lacks its source 0"},
    {"SizeMismatch", packStep(SEQRT_PACK_COPY, {0}, 0, 0, 2, 2), 6,
     "reads 4 elements from 'w', which has shape [2, 3]"},
    {"DstPastEnd", packStep(SEQRT_PACK_COPY, {0}, 1, 0, 2, 3), 6,
     "outside the packed buffer of 6"},
    {"NegativeDst", packStep(SEQRT_PACK_ZERO, {}, -1, 0, 1, 1), 6,
     "outside the packed buffer"},
    {"HugeDst", packStep(SEQRT_PACK_ZERO, {}, INT64_MAX, 0, 1, 1), 6,
     "outside the packed buffer"},
    {"Dst2PastEnd", packStep(SEQRT_PACK_FOLD_BN, {0, 1, -1, -1, 1, 1}, 0, 5, 2, 3), 6,
     "outside the packed buffer"},
    {"MissingVariance", packStep(SEQRT_PACK_BN_SCALE_SHIFT, {-1, -1, 1, 1, 1, -1}, 0, 2, 2, 1), 6,
     "lacks its source 5"},
    {"NegativeRows", packStep(SEQRT_PACK_ZERO, {}, 0, 0, -1, 3), 6,
     "has a negative size"},
    {"AreaOverflow", packStep(SEQRT_PACK_ZERO, {}, 0, 0, INT64_MAX, 2), 6,
     "has a size that overflows"},
    {"UnknownOp", packStep(9, {}, 0, 0, 1, 1), 6,
     "has unknown op 9"},
    {"PanelsPastEnd", inLayout(packStep(SEQRT_PACK_COPY, {0}, 0, 0, 2, 3), SEQRT_PACK_PANELS), 64,
     "outside the packed buffer of 64"},
    {"UnknownLayout", inLayout(packStep(SEQRT_PACK_COPY, {0}, 0, 0, 2, 3), 4), 6,
     "has unknown layout 4"},
    {"WinogradOfNot3x3", inLayout(packStep(SEQRT_PACK_COPY, {0}, 0, 0, 2, 3), SEQRT_PACK_WINOGRAD), 4096,
     "has the Winograd layout, which needs a matrix of 3x3 kernels"},
    {"NegativeEps", packStep(SEQRT_PACK_BN_SCALE_SHIFT, {-1, -1, -1, -1, 1, 1}, 0, 2, 2, 1,
                             false, -1.0f), 6,
     "has an invalid eps"},
};

INSTANTIATE_TEST_SUITE_P(Steps, RuntimeBadPackStep, ::testing::ValuesIn(kBadSteps),
                         [](const auto &test) { return std::string(test.param.what); });

TEST(RuntimePack, RejectsMissingParameterData) {
  ModelBuilder builder;
  builder.param("w", {2}).step(packStep(SEQRT_PACK_COPY, {0}, 0, 0, 1, 2)).packedSize(2);
  std::vector<float> packed(2);
  const float *params[] = {nullptr};
  EXPECT_EQ(seqrt_pack(builder.model(), params, packed.data()), SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(seqrt_pack(builder.model(), nullptr, packed.data()), SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(seqrt_pack(builder.model(), params, nullptr), SEQRT_ERR_INVALID_ARGUMENT);
}

TEST(RuntimePack, LoadRejectsABadStepAsInternal) {
  ModelBuilder builder;
  builder.param("w", {2}).step(packStep(SEQRT_PACK_COPY, {0}, 1, 0, 1, 2)).packedSize(2);
  WeightsPtr weights;
  EXPECT_EQ(loadImage(builder.model(), buildImage({f32Tensor("w", {2})}), weights),
            SEQRT_ERR_INTERNAL);
  EXPECT_EQ(weights, nullptr);
}

} // namespace
