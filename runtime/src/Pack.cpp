// Pack.cpp: validation and execution of pack steps (COPY and FOLD_BN in
// one of three layouts: as is, transposed, transposed in panels;
// BN_SCALE_SHIFT, ZERO), and seqrt_pack.
//
// BatchNorm folding (as in Glow): with A = gamma / sqrt(var + eps),
//   W' = W * A (per output row)  and  b' = (b - mean) * A + beta,
// computed in double and rounded once to float.
#include "Pack.h"

#include "Model.h"
#include "Status.h"
#include "Text.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace seq::rt {
namespace {

// Source slots of a BatchNorm step.
enum Slot { kWeight = 0, kBias = 1, kGamma = 2, kBeta = 3, kMean = 4, kVar = 5 };

const char *opName(int32_t op) {
  switch (op) {
  case SEQRT_PACK_COPY: return "COPY";
  case SEQRT_PACK_FOLD_BN: return "FOLD_BN";
  case SEQRT_PACK_BN_SCALE_SHIFT: return "BN_SCALE_SHIFT";
  case SEQRT_PACK_ZERO: return "ZERO";
  default: return "unknown op";
  }
}

class StepValidator {
public:
  StepValidator(const seqrt_model &model, int32_t index)
      : model_(model), step_(model.pack_steps[index]), index_(index) {}

  void validate() const {
    if (step_.rows < 0 || step_.cols < 0)
      fail("has a negative size");
    for (int slot = 0; slot < 6; ++slot)
      if (step_.src[slot] < -1 || step_.src[slot] >= model_.num_params)
        fail("names parameter " + std::to_string(step_.src[slot]) +
             ", which does not exist");
    if (step_.transpose < 0 || step_.transpose > SEQRT_PACK_WINOGRAD)
      fail("has unknown layout " + std::to_string(step_.transpose));
    if (step_.transpose == SEQRT_PACK_WINOGRAD &&
        (step_.cols % 9 != 0 || step_.op == SEQRT_PACK_BN_SCALE_SHIFT ||
         step_.op == SEQRT_PACK_ZERO))
      fail("has the Winograd layout, which needs a matrix of 3x3 kernels");
    const int64_t rows = step_.rows, area = matrixSize();
    switch (step_.op) {
    case SEQRT_PACK_COPY:
      requireSource(kWeight, area, true);
      requireRange(step_.dst, laidOutSize());
      return;
    case SEQRT_PACK_FOLD_BN:
      requireSource(kWeight, area, true);
      requireSource(kBias, rows, false);
      requireBatchNorm();
      requireRange(step_.dst, laidOutSize());
      requireRange(step_.dst2, rows);
      return;
    case SEQRT_PACK_BN_SCALE_SHIFT:
      requireBatchNorm();
      requireRange(step_.dst, rows);
      requireRange(step_.dst2, rows);
      return;
    case SEQRT_PACK_ZERO:
      requireRange(step_.dst, area);
      return;
    default:
      fail("has unknown op " + std::to_string(step_.op));
    }
  }

private:
  [[noreturn]] void fail(const std::string &what) const {
    throw Error(SEQRT_ERR_INTERNAL, "pack step " + std::to_string(index_) +
                                        " (" + opName(step_.op) + ") " + what);
  }

  int64_t matrixSize() const {
    int64_t area = 0;
    if (__builtin_mul_overflow(step_.rows, step_.cols, &area))
      fail("has a size that overflows");
    return area;
  }

  // Floats the matrix takes in its layout (panels round rows up).
  int64_t laidOutSize() const {
    if (step_.transpose != SEQRT_PACK_PANELS &&
        step_.transpose != SEQRT_PACK_WINOGRAD)
      return matrixSize();
    int64_t rows = step_.rows + SEQRT_PACK_PANEL_WIDTH - 1, area = 0;
    rows -= rows % SEQRT_PACK_PANEL_WIDTH;
    bool winograd = step_.transpose == SEQRT_PACK_WINOGRAD;
    int64_t cols = winograd ? step_.cols / 9 : step_.cols;
    if (__builtin_mul_overflow(rows, cols, &area) ||
        (winograd && __builtin_mul_overflow(area, 16, &area)))
      fail("has a size that overflows");
    return area;
  }

  void requireBatchNorm() const {
    if (!std::isfinite(step_.eps) || step_.eps < 0)
      fail("has an invalid eps");
    requireSource(kGamma, step_.rows, false);
    requireSource(kBeta, step_.rows, false);
    requireSource(kMean, step_.rows, true);
    requireSource(kVar, step_.rows, true);
  }

  void requireSource(int slot, int64_t elements, bool required) const {
    int32_t index = step_.src[slot];
    if (index < 0) {
      if (required)
        fail("lacks its source " + std::to_string(slot));
      return;
    }
    const seqrt_tensor_desc &param = model_.params[index];
    if (elementCount(param) != elements)
      fail("reads " + std::to_string(elements) + " elements from " +
           quoted(param.name) + ", which has shape " +
           formatShape(dimsOf(param)));
  }

  void requireRange(int64_t offset, int64_t size) const {
    if (offset < 0 || offset > model_.packed_size ||
        size > model_.packed_size - offset)
      fail("writes floats " + std::to_string(offset) + " to " +
           std::to_string(offset) + "+" + std::to_string(size) +
           ", outside the packed buffer of " +
           std::to_string(model_.packed_size));
  }

  const seqrt_model &model_;
  const seqrt_pack_step &step_;
  int32_t index_;
};

// Where element (r, c) of a [rows, cols] matrix goes in `layout`.
int64_t laidOutIndex(int64_t r, int64_t c, int64_t rows, int64_t cols,
                     int32_t layout) {
  constexpr int64_t kWidth = SEQRT_PACK_PANEL_WIDTH;
  switch (layout) {
  case SEQRT_PACK_TRANSPOSED: return c * rows + r;
  case SEQRT_PACK_PANELS: return (r / kWidth * cols + c) * kWidth + r % kWidth;
  default: return r * cols + c;
  }
}

// dst = src viewed as [rows, cols] in `layout`: as it is, its [cols, rows]
// transpose (in tiles, to stay in cache for large matrices), or panels
// (each panel reads its kWidth source rows side by side, in order; a
// short last panel is zero-padded).
void copyMatrix(const float *src, int64_t rows, int64_t cols, int32_t layout,
                float *dst) {
  if (layout == SEQRT_PACK_PANELS) {
    constexpr int64_t kWidth = SEQRT_PACK_PANEL_WIDTH;
    for (int64_t r0 = 0; r0 < rows; r0 += kWidth) {
      float *panel = dst + r0 * cols;
      int64_t width = std::min(kWidth, rows - r0);
      for (int64_t c = 0; c < cols; ++c)
        for (int64_t j = 0; j < kWidth; ++j)
          panel[c * kWidth + j] = j < width ? src[(r0 + j) * cols + c] : 0.0f;
    }
    return;
  }
  if (layout != SEQRT_PACK_TRANSPOSED) {
    std::copy(src, src + rows * cols, dst);
    return;
  }
  constexpr int64_t kTile = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile)
    for (int64_t c0 = 0; c0 < cols; c0 += kTile)
      for (int64_t r = r0; r < std::min(rows, r0 + kTile); ++r)
        for (int64_t c = c0; c < std::min(cols, c0 + kTile); ++c)
          dst[c * rows + r] = src[r * cols + c];
}

// dst = the [rows, cols = C*9] matrix of 3x3 kernels at src, each row
// scaled by scale[r] (when given), in SEQRT_PACK_WINOGRAD: U = G g G^T in
// double, rounded once, element xi of each U in panel-packed matrix xi.
void winogradMatrix(const float *src, int64_t rows, int64_t cols,
                    const std::vector<double> *scale, float *dst) {
  static constexpr double kG[4][3] = {
      {1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  constexpr int64_t kWidth = SEQRT_PACK_PANEL_WIDTH;
  const int64_t C = cols / 9;
  const int64_t matrix = (rows + kWidth - 1) / kWidth * kWidth * C;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < C; ++c) {
      const float *g = src + r * cols + c * 9;
      double s = scale ? (*scale)[r] : 1.0, gG[3][4]; // g G^T
      for (int k = 0; k < 3; ++k)
        for (int j = 0; j < 4; ++j)
          gG[k][j] = kG[j][0] * g[k * 3] + kG[j][1] * g[k * 3 + 1] +
                     kG[j][2] * g[k * 3 + 2];
      int64_t at = (r / kWidth * C + c) * kWidth + r % kWidth;
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) {
          double u = kG[i][0] * gG[0][j] + kG[i][1] * gG[1][j] +
                     kG[i][2] * gG[2][j];
          dst[(i * 4 + j) * matrix + at] = static_cast<float>(u * s);
        }
    }
}

// Multiplies row r of the [rows, cols] matrix at `matrix` (in `layout`)
// by scale[r], rounding once.
void scaleRows(float *matrix, int64_t rows, int64_t cols, int32_t layout,
               const std::vector<double> &scale) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float &v = matrix[laidOutIndex(r, c, rows, cols, layout)];
      v = static_cast<float>(v * scale[r]);
    }
}

class StepRunner {
public:
  StepRunner(const seqrt_pack_step &step, const float *const *params,
             float *packed)
      : step_(step), params_(params), packed_(packed) {}

  void run() const {
    switch (step_.op) {
    case SEQRT_PACK_COPY:
      if (step_.transpose == SEQRT_PACK_WINOGRAD)
        winogradMatrix(source(kWeight), step_.rows, step_.cols, nullptr,
                       packed_ + step_.dst);
      else
        copyMatrix(source(kWeight), step_.rows, step_.cols, step_.transpose,
                   packed_ + step_.dst);
      return;
    case SEQRT_PACK_FOLD_BN:
      foldBatchNorm();
      return;
    case SEQRT_PACK_BN_SCALE_SHIFT:
      scaleAndShift();
      return;
    case SEQRT_PACK_ZERO:
      std::fill_n(packed_ + step_.dst, step_.rows * step_.cols, 0.0f);
      return;
    }
  }

private:
  const float *source(int slot) const {
    return step_.src[slot] < 0 ? nullptr : params_[step_.src[slot]];
  }

  static double valueOr(const float *values, int64_t i, double absent) {
    return values ? values[i] : absent;
  }

  // A[r] = gamma[r] / sqrt(var[r] + eps).
  std::vector<double> batchNormScale() const {
    const float *gamma = source(kGamma), *var = source(kVar);
    std::vector<double> scale(static_cast<std::size_t>(step_.rows));
    for (int64_t r = 0; r < step_.rows; ++r)
      scale[r] = valueOr(gamma, r, 1.0) /
                 std::sqrt(static_cast<double>(var[r]) + step_.eps);
    return scale;
  }

  void foldBatchNorm() const {
    const int64_t rows = step_.rows, cols = step_.cols;
    std::vector<double> scale = batchNormScale();
    float *weight = packed_ + step_.dst;
    if (step_.transpose == SEQRT_PACK_WINOGRAD) {
      winogradMatrix(source(kWeight), rows, cols, &scale, weight);
    } else {
      copyMatrix(source(kWeight), rows, cols, step_.transpose, weight);
      scaleRows(weight, rows, cols, step_.transpose, scale);
    }
    const float *bias = source(kBias), *beta = source(kBeta);
    const float *mean = source(kMean);
    for (int64_t r = 0; r < rows; ++r)
      packed_[step_.dst2 + r] = static_cast<float>(
          (valueOr(bias, r, 0.0) - mean[r]) * scale[r] + valueOr(beta, r, 0.0));
  }

  void scaleAndShift() const {
    std::vector<double> scale = batchNormScale();
    const float *beta = source(kBeta), *mean = source(kMean);
    for (int64_t r = 0; r < step_.rows; ++r) {
      packed_[step_.dst + r] = static_cast<float>(scale[r]);
      packed_[step_.dst2 + r] =
          static_cast<float>(valueOr(beta, r, 0.0) - mean[r] * scale[r]);
    }
  }

  const seqrt_pack_step &step_;
  const float *const *params_;
  float *packed_;
};

// Every parameter a step reads must be given.
void requireSourceData(const seqrt_model &model, const float *const *params) {
  for (int32_t i = 0; i < model.num_pack_steps; ++i)
    for (int32_t index : model.pack_steps[i].src)
      if (index >= 0 && params[index] == nullptr)
        throw Error(SEQRT_ERR_ARGUMENT,
                    "no data for parameter " +
                        quoted(model.params[index].name) +
                        ", which pack step " + std::to_string(i) + " reads");
}

} // namespace

void validatePackSteps(const seqrt_model &model) {
  if (model.packed_size < 0 || model.num_pack_steps < 0 ||
      (model.num_pack_steps > 0 && model.pack_steps == nullptr))
    throw Error(SEQRT_ERR_INTERNAL, "the model's pack steps are invalid");
  for (int32_t i = 0; i < model.num_pack_steps; ++i)
    StepValidator(model, i).validate();
}

void runPackSteps(const seqrt_model &model, const float *const *params,
                  float *packed) {
  for (int32_t i = 0; i < model.num_pack_steps; ++i)
    StepRunner(model.pack_steps[i], params, packed).run();
}

AlignedBuffer packWeights(const seqrt_model &model, const float *const *params) {
  if (static_cast<uint64_t>(model.packed_size) > SIZE_MAX / sizeof(float))
    throw std::bad_alloc();
  AlignedBuffer packed(static_cast<std::size_t>(model.packed_size) *
                       sizeof(float)); // zeroed
  runPackSteps(model, params, reinterpret_cast<float *>(packed.data()));
  return packed;
}

} // namespace seq::rt

extern "C" seqrt_status seqrt_pack(const seqrt_model *model,
                                   const float *const *params, float *packed) {
  using namespace seq::rt;
  return guarded([&] {
    validateParams(model);
    validatePackSteps(*model);
    requireArgument(packed, "packed");
    if (model->num_params > 0)
      requireArgument(params, "params");
    requireSourceData(*model, params);
    std::fill_n(packed, model->packed_size, 0.0f);
    runPackSteps(*model, params, packed);
    return SEQRT_OK;
  });
}
