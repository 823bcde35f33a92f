// ModelGen: a generator of valid random models for the `models` fuzz
// target. The fuzzer's bytes steer every choice (layer kinds, channels,
// kernels, strides, paddings, ceil_mode, ...); the generator tracks the
// shape as PyTorch 1.13 computes it, so each model it writes is one PyTorch
// accepts. Reference.cpp evaluates the same layers in double precision.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace seq::fuzz {

// Fuzzer bytes as a stream of choices; zeros once the bytes run out.
class ByteSource {
public:
  ByteSource(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  // In [lo, hi].
  int64_t pick(int64_t lo, int64_t hi) {
    uint64_t range = uint64_t(hi - lo) + 1, value = 0;
    for (uint64_t span = 1; span < range && span != 0; span <<= 8)
      value = (value << 8) | next();
    return lo + int64_t(value % range);
  }
  bool coin() { return pick(0, 1) == 1; }
  uint32_t seed() { return uint32_t(pick(0, 0xFFFFFF)); }

private:
  uint8_t next() { return pos_ < size_ ? data_[pos_++] : 0; }
  const uint8_t *data_;
  size_t size_, pos_ = 0;
};

struct GenLayer {
  enum class Kind { Conv, BatchNorm, Act, MaxPool, AvgPool, Adaptive, Flatten, Linear, Softmax, Dropout };
  Kind kind = Kind::Act;
  int64_t in = 0, out = 0;                 // Conv, Linear: channels or features; BatchNorm: features
  int64_t kh = 1, kw = 1, stride = 1, pad = 0, dilation = 1, groups = 1;
  int64_t outH = 1, outW = 1;              // Adaptive
  bool bias = true, ceil = false, countIncludePad = true, log = false;
  std::string act;                         // Act: relu, relu6, leaky, sigmoid, tanh, gelu, gelu_tanh, silu, hardswish, elu
  double alpha = 0;                        // Act: LeakyReLU slope, ELU alpha
  std::string text;                        // as written in the Sequential
};

struct GenModel {
  std::vector<int64_t> input;              // without the batch: {C, H, W} or {F}
  std::vector<GenLayer> layers;
  std::vector<int64_t> output;             // without the batch
  std::string text;                        // the .seq source
};

GenModel generateModel(ByteSource &bytes);

// PyTorch 1.13's pooled size (pooling_output_shape), may be < 1.
int64_t pooledSize(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dilation, bool ceil);

// The state_dict tensors of layer `index`: name ("3.weight") and shape.
struct GenParam {
  std::string name;
  std::vector<int64_t> shape;
};
std::vector<GenParam> layerParams(const GenLayer &layer, size_t index);

// Evaluates the model in double precision (Reference.cpp) on `x`
// ([batch] + input, row-major), with the state_dict tensors by name.
std::vector<double> evaluate(const GenModel &model, const std::vector<float> &x, int64_t batch,
                             const std::map<std::string, std::vector<float>> &params);

} // namespace seq::fuzz
