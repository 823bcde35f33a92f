// RandomInit.cpp: seqrt_weights_random, weights drawn as PyTorch
// initialises a fresh model, reproducibly from a seed.
//
//   *.weight, rank >= 2    uniform(+-1/sqrt(fan_in)), fan_in = prod(dims[1:])
//   *.bias                 the same bound from the sibling *.weight; 0 when
//                          that is a norm's gamma; uniform(+-0.1) without one
//   *.weight, rank <= 1    1 (a norm's gamma)
//   *.running_mean         0
//   *.running_var          1
//   anything else          as *.weight by rank: fan_in bound, or +-0.1
//
// Each tensor has its own stream (the seed mixed with its name), so its
// values do not depend on the other parameters.
#include "Model.h"
#include "Pack.h"
#include "Status.h"
#include "Weights.h"

#include <cmath>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seq::rt {
namespace {

constexpr double kDefaultBound = 0.1;

// splitmix64 (Steele, Lea and Flood): small, fast and well mixed.
class SplitMix64 {
public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform in [-bound, bound).
  float uniform(double bound) {
    double unit = static_cast<double>(next() >> 11) * 0x1.0p-53; // [0, 1)
    return static_cast<float>((2.0 * unit - 1.0) * bound);
  }

private:
  std::uint64_t state_;
};

// FNV-1a, to give each tensor its own stream.
std::uint64_t hashName(std::string_view name) {
  std::uint64_t hash = 0xCBF29CE484222325ull;
  for (char c : name)
    hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
  return hash;
}

// 1/sqrt(fan_in) for a weight of rank >= 2; 0 when fan_in is 0, as PyTorch.
// (In double: with a leading 0, the other dimensions may overflow int64.)
double fanInBound(const seqrt_tensor_desc &weight) {
  double fanIn = 1.0;
  for (std::int64_t dim : dimsOf(weight).subspan(1))
    fanIn *= static_cast<double>(dim);
  return fanIn > 0 ? 1.0 / std::sqrt(fanIn) : 0.0;
}

// What one tensor is filled with: a constant, or uniform(+-bound).
struct Init {
  bool uniform;
  double value; // the constant, or the bound
};

class Initializer {
public:
  explicit Initializer(const seqrt_model &model) {
    for (const seqrt_tensor_desc &param : paramsOf(model))
      byName_.emplace(param.name, &param);
  }

  Init initFor(const seqrt_tensor_desc &param) const {
    std::string_view name = param.name;
    std::size_t dot = name.rfind('.');
    std::string_view prefix = dot == name.npos ? "" : name.substr(0, dot + 1);
    std::string_view leaf = dot == name.npos ? name : name.substr(dot + 1);
    if (leaf == "running_mean")
      return {false, 0.0};
    if (leaf == "running_var")
      return {false, 1.0};
    if (leaf == "bias")
      return biasInit(std::string(prefix) + "weight");
    if (param.rank <= 1)
      return leaf == "weight" ? Init{false, 1.0} : Init{true, kDefaultBound};
    return {true, fanInBound(param)};
  }

private:
  Init biasInit(const std::string &weightName) const {
    auto weight = byName_.find(weightName);
    if (weight == byName_.end())
      return {true, kDefaultBound};
    if (weight->second->rank <= 1)
      return {false, 0.0}; // a norm's beta
    return {true, fanInBound(*weight->second)};
  }

  std::unordered_map<std::string_view, const seqrt_tensor_desc *> byName_;
};

std::vector<float> drawTensor(const seqrt_tensor_desc &param, Init init,
                              std::uint64_t seed) {
  std::vector<float> values(static_cast<std::size_t>(elementCount(param)),
                            static_cast<float>(init.value));
  if (init.uniform) {
    SplitMix64 random(seed ^ hashName(param.name));
    for (float &value : values)
      value = random.uniform(init.value);
  }
  return values;
}

} // namespace
} // namespace seq::rt

extern "C" seqrt_status seqrt_weights_random(const seqrt_model *model,
                                             uint64_t seed,
                                             seqrt_weights **out) {
  using namespace seq::rt;
  return guarded([&] {
    requireArgument(out, "out");
    *out = nullptr;
    validateModel(model);
    Initializer initializer(*model);
    std::vector<std::vector<float>> tensors;
    std::vector<const float *> pointers;
    tensors.reserve(model->num_params);
    for (const seqrt_tensor_desc &param : paramsOf(*model)) {
      tensors.push_back(drawTensor(param, initializer.initFor(param), seed));
      pointers.push_back(tensors.back().data());
    }
    publishWeights(*model, packWeights(*model, pointers.data()), out);
    return SEQRT_OK;
  });
}
