// Tests of matching a weights file against a model (missing, extra,
// misshapen and mistyped tensors), loading from disk, seqrt_weights_check,
// and seqrt_weights_random.
#include "runtime_test_support.h"

#include <cmath>
#include <sys/stat.h>

namespace {

using namespace seqrt_test;

struct Reported {
  seqrt_problem_kind kind;
  std::string tensor;
  std::string message;
};

void collect(void *user, seqrt_problem_kind kind, const char *tensor,
             const char *message) {
  static_cast<std::vector<Reported> *>(user)->push_back({kind, tensor, message});
}

bool contains(const std::string &text, const std::string &fragment) {
  return text.find(fragment) != std::string::npos;
}

class RuntimeWeights : public ::testing::Test {
protected:
  RuntimeWeights() {
    builder_.param("conv1.weight", {20, 1, 3, 3})
        .param("conv1.bias", {20})
        .param("fc.weight", {10, 20})
        .param("fc.bias", {10})
        .copyEveryParam();
    model_ = builder_.model();
  }

  std::vector<TensorSpec> goodTensors() const {
    return {f32Tensor("conv1.weight", {20, 1, 3, 3}), f32Tensor("conv1.bias", {20}),
            f32Tensor("fc.weight", {10, 20}), f32Tensor("fc.bias", {10})};
  }

  ModelBuilder builder_;
  const seqrt_model *model_ = nullptr;
  TempDir dir_;
};

TEST_F(RuntimeWeights, LoadsAMatchingFile) {
  std::vector<TensorSpec> tensors = goodTensors();
  tensors.push_back({"bn.num_batches_tracked", "I64", {}, bytesOf(std::vector<std::int64_t>{7})});
  std::string path = dir_.write("w.safetensors", buildImage(tensors));
  seqrt_weights *raw = nullptr;
  ASSERT_EQ(seqrt_weights_load(model_, path.c_str(), &raw), SEQRT_OK) << seqrt_last_error();
  WeightsPtr weights(raw);
  EXPECT_STREQ(seqrt_last_error(), "");
  const float *data = seqrt_weights_data(raw);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(data) % SEQRT_ALIGNMENT, 0u);
  EXPECT_EQ(data[0], 0.0f);
  EXPECT_EQ(data[179], 179.0f);  // the last of conv1.weight
  EXPECT_EQ(data[180], 0.0f);    // conv1.bias
  EXPECT_EQ(data[model_->packed_size - 1], 9.0f);

  std::vector<Reported> problems;
  EXPECT_EQ(seqrt_weights_check(model_, path.c_str(), collect, &problems), SEQRT_OK);
  EXPECT_TRUE(problems.empty()); // num_batches_tracked is ignored silently
}

TEST_F(RuntimeWeights, ReportsEveryProblem) {
  std::vector<TensorSpec> tensors = {
      f32Tensor("conv1.weight", {20, 1, 5, 5}),                   // wrong shape
      {"fc.weight", "I32", {10, 20}, std::string(800, '\0')},      // wrong dtype
      f32Tensor("fc.bias", {10}),
      f32Tensor("extra.weight", {3}),                              // unexpected
  };                                                               // conv1.bias missing
  std::string path = dir_.write("w.safetensors", buildImage(tensors));

  std::vector<Reported> problems;
  EXPECT_EQ(seqrt_weights_check(model_, path.c_str(), collect, &problems), SEQRT_ERR_SHAPE);
  ASSERT_EQ(problems.size(), 4u);
  EXPECT_EQ(problems[0].kind, SEQRT_PROBLEM_SHAPE);
  EXPECT_EQ(problems[0].tensor, "conv1.weight");
  EXPECT_EQ(problems[0].message,
            "'" + path + "': tensor 'conv1.weight' has shape [20, 1, 5, 5] in the "
            "file, but the model expects [20, 1, 3, 3]");
  EXPECT_EQ(problems[1].kind, SEQRT_PROBLEM_MISSING);
  EXPECT_EQ(problems[1].tensor, "conv1.bias");
  EXPECT_TRUE(contains(problems[1].message, "tensor 'conv1.bias' is missing; model "
                                            "'TestNet' expects shape [20]"));
  EXPECT_EQ(problems[2].kind, SEQRT_PROBLEM_DTYPE);
  EXPECT_TRUE(contains(problems[2].message, "tensor 'fc.weight' has dtype I32"));
  EXPECT_EQ(problems[3].kind, SEQRT_PROBLEM_UNEXPECTED);
  EXPECT_TRUE(contains(problems[3].message, "tensor 'extra.weight' is not a parameter"));

  // Loading fails with every error, one per line, and no warning.
  seqrt_weights *raw = nullptr;
  EXPECT_EQ(seqrt_weights_load(model_, path.c_str(), &raw), SEQRT_ERR_SHAPE);
  EXPECT_EQ(raw, nullptr);
  std::string message = seqrt_last_error();
  EXPECT_EQ(message, problems[0].message + "\n" + problems[1].message + "\n" +
                         problems[2].message);
}

TEST_F(RuntimeWeights, FirstErrorDecidesTheStatus) {
  std::vector<TensorSpec> tensors = goodTensors();
  tensors.erase(tensors.begin());
  WeightsPtr weights;
  EXPECT_EQ(loadImage(model_, buildImage(tensors), weights), SEQRT_ERR_MISSING_TENSOR);
  EXPECT_TRUE(contains(seqrt_last_error(), "'<memory>': tensor 'conv1.weight' is missing"));
}

TEST_F(RuntimeWeights, ExtraTensorsAreOnlyWarnings) {
  std::vector<TensorSpec> tensors = goodTensors();
  tensors.push_back(f32Tensor("head.weight", {2, 2}));
  std::string path = dir_.write("w.safetensors", buildImage(tensors));
  std::vector<Reported> problems;
  EXPECT_EQ(seqrt_weights_check(model_, path.c_str(), collect, &problems), SEQRT_OK);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].kind, SEQRT_PROBLEM_UNEXPECTED);
  EXPECT_EQ(problems[0].tensor, "head.weight");
  seqrt_weights *raw = nullptr;
  EXPECT_EQ(seqrt_weights_load(model_, path.c_str(), &raw), SEQRT_OK);
  seqrt_weights_free(raw);
}

TEST_F(RuntimeWeights, CheckReportsAMalformedFileOnce) {
  std::string path = dir_.write("bad.safetensors", rawImage("{\"w\":1,\"w\":2}"));
  std::vector<Reported> problems;
  EXPECT_EQ(seqrt_weights_check(model_, path.c_str(), collect, &problems), SEQRT_ERR_FORMAT);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].kind, SEQRT_PROBLEM_FORMAT);
  EXPECT_EQ(problems[0].tensor, "");
  EXPECT_TRUE(contains(problems[0].message, "'" + path + "': invalid JSON header"));
  EXPECT_EQ(seqrt_last_error(), problems[0].message);

  std::string dtype = dir_.write(
      "dtype.safetensors",
      rawImage("{\"fc.bias\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}", "x"));
  problems.clear();
  EXPECT_EQ(seqrt_weights_check(model_, dtype.c_str(), collect, &problems), SEQRT_ERR_DTYPE);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].kind, SEQRT_PROBLEM_DTYPE);
  EXPECT_EQ(problems[0].tensor, "fc.bias");
}

TEST_F(RuntimeWeights, MalformedFileMessageNamesTheFile) {
  std::string path = dir_.write("w.safetensors",
                                lengthPrefix(9223372036854775807ull) + std::string(1016, ' '));
  seqrt_weights *raw = nullptr;
  EXPECT_EQ(seqrt_weights_load(model_, path.c_str(), &raw), SEQRT_ERR_FORMAT);
  EXPECT_EQ(std::string(seqrt_last_error()),
            "'" + path + "': header length 9223372036854775807 exceeds the file size 1024");
}

TEST_F(RuntimeWeights, UnreadableFilesAreIoErrors) {
  seqrt_weights *raw = nullptr;
  std::string missing = dir_.path() + "/missing.safetensors";
  EXPECT_EQ(seqrt_weights_load(model_, missing.c_str(), &raw), SEQRT_ERR_IO);
  EXPECT_TRUE(contains(seqrt_last_error(), "'" + missing + "': cannot open"));
  EXPECT_EQ(seqrt_weights_load(model_, dir_.path().c_str(), &raw), SEQRT_ERR_IO);
  EXPECT_TRUE(contains(seqrt_last_error(), "Is a directory"));
  std::string empty = dir_.write("empty.safetensors", "");
  EXPECT_EQ(seqrt_weights_load(model_, empty.c_str(), &raw), SEQRT_ERR_FORMAT);
  EXPECT_EQ(seqrt_weights_check(model_, missing.c_str(), nullptr, nullptr), SEQRT_ERR_IO);
}

TEST_F(RuntimeWeights, InvalidModelDescriptionsAreInternalErrors) {
  ModelBuilder builder;
  builder.param("w", {-2, 3});
  seqrt_weights *raw = nullptr;
  EXPECT_EQ(seqrt_weights_random(builder.model(), 1, &raw), SEQRT_ERR_INTERNAL);
  EXPECT_TRUE(contains(seqrt_last_error(), "'w' has an invalid shape [-2, 3]"));
}

// ---- seqrt_weights_random ----

class RuntimeRandomWeights : public ::testing::Test {
protected:
  RuntimeRandomWeights() {
    builder_.param("conv.weight", {8, 4, 3, 3})  // fan_in 36
        .param("conv.bias", {8})
        .param("bn.weight", {8})
        .param("bn.bias", {8})
        .param("bn.running_mean", {8})
        .param("bn.running_var", {8})
        .param("lonely.bias", {5})
        .copyEveryParam();
    model_ = builder_.model();
  }

  std::vector<float> draw(std::uint64_t seed) {
    seqrt_weights *raw = nullptr;
    EXPECT_EQ(seqrt_weights_random(model_, seed, &raw), SEQRT_OK) << seqrt_last_error();
    WeightsPtr weights(raw);
    return packedValues(model_, weights);
  }

  ModelBuilder builder_;
  const seqrt_model *model_ = nullptr;
};

TEST_F(RuntimeRandomWeights, IsDeterministicInTheSeed) {
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

TEST_F(RuntimeRandomWeights, FollowsPyTorchDefaults) {
  std::vector<float> values = draw(7);
  auto range = [&](std::size_t begin, std::size_t count) {
    return std::vector<float>(values.begin() + begin, values.begin() + begin + count);
  };
  const double bound = 1.0 / 6.0; // 1/sqrt(36)
  std::vector<float> conv = range(0, 288), convBias = range(288, 8);
  for (float v : conv) EXPECT_LE(std::fabs(v), bound);
  for (float v : convBias) EXPECT_LE(std::fabs(v), bound);
  float spread = *std::max_element(conv.begin(), conv.end()) -
                 *std::min_element(conv.begin(), conv.end());
  EXPECT_GT(spread, 1.5 * bound); // spread over the range, not a constant
  EXPECT_EQ(range(296, 8), std::vector<float>(8, 1.0f)); // gamma
  EXPECT_EQ(range(304, 8), std::vector<float>(8, 0.0f)); // beta
  EXPECT_EQ(range(312, 8), std::vector<float>(8, 0.0f)); // running_mean
  EXPECT_EQ(range(320, 8), std::vector<float>(8, 1.0f)); // running_var
  for (float v : range(328, 5)) EXPECT_LE(std::fabs(v), 0.1f);
}

TEST_F(RuntimeRandomWeights, ATensorsValuesDoNotDependOnOtherParameters) {
  std::vector<float> full = draw(3);
  ModelBuilder alone;
  const seqrt_model *model =
      alone.param("conv.weight", {8, 4, 3, 3}).copyEveryParam().model();
  seqrt_weights *raw = nullptr;
  ASSERT_EQ(seqrt_weights_random(model, 3, &raw), SEQRT_OK);
  WeightsPtr weights(raw);
  EXPECT_EQ(packedValues(model, weights), std::vector<float>(full.begin(), full.begin() + 288));
}

} // namespace
