// libseqrt: what a model description and a weights handle say about their
// model (ABI version, fingerprint, name), and seqrt_forward_begin's checks
// against them.
#include "runtime_test_support.h"

#include <string>

namespace seqrt_test {
namespace {

bool mentions(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

std::string oneParamImage() { return buildImage({f32Tensor("w", {2, 3})}); }

TEST(RuntimeIdentity, RefusesAnotherAbiVersion) {
  ModelBuilder builder;
  seqrt_model model = *builder.param("w", {2, 3}).copyEveryParam().model();
  std::string image = oneParamImage();
  for (int32_t version : {3, 1, 0}) {
    model.abi_version = version;
    WeightsPtr weights;
    EXPECT_EQ(loadImage(&model, image, weights), SEQRT_ERR_ABI) << version;
    EXPECT_EQ(weights, nullptr);
    std::string error = seqrt_last_error();
    EXPECT_TRUE(mentions(error, "implements version " + std::to_string(SEQRT_ABI_VERSION))) << error;
    if (version == 3)
      EXPECT_TRUE(mentions(error, "compiled for seqrt ABI version 3")) << error;
    else
      EXPECT_TRUE(mentions(error, "older than version 2")) << error;
  }
  model.abi_version = SEQRT_ABI_VERSION;
  WeightsPtr weights;
  EXPECT_EQ(loadImage(&model, image, weights), SEQRT_OK) << seqrt_last_error();
  EXPECT_STREQ(seqrt_weights_model_name(weights.get()), "TestNet");
}

TEST(RuntimeIdentity, FingerprintCoversTableAndLayout) {
  auto fingerprintOf = [](ModelBuilder &builder) {
    return seqrt_model_fingerprint(builder.model());
  };
  ModelBuilder base, renamed, reshaped, transposed, otherName("OtherNet");
  base.param("w", {2, 3}).copyEveryParam();
  renamed.param("v", {2, 3}).copyEveryParam();
  reshaped.param("w", {3, 2}).copyEveryParam();
  transposed.param("w", {2, 3}).step(packStep(SEQRT_PACK_COPY, {0}, 0, -1, 2, 3, true)).packedSize(6);
  otherName.param("w", {2, 3}).copyEveryParam();
  std::uint64_t f = fingerprintOf(base);
  EXPECT_NE(f, 0u);
  EXPECT_NE(fingerprintOf(renamed), f);
  EXPECT_NE(fingerprintOf(reshaped), f);
  EXPECT_NE(fingerprintOf(transposed), f);
  // The model's name is compared separately, not hashed.
  EXPECT_EQ(fingerprintOf(otherName), f);
  EXPECT_EQ(seqrt_model_fingerprint(nullptr), 0u);
}

TEST(RuntimeIdentity, RefusesACorruptFingerprint) {
  ModelBuilder builder;
  seqrt_model model = *builder.param("w", {2, 3}).copyEveryParam().model();
  model.fingerprint ^= 1;
  WeightsPtr weights;
  EXPECT_EQ(loadImage(&model, oneParamImage(), weights), SEQRT_ERR_INTERNAL);
  EXPECT_TRUE(mentions(seqrt_last_error(), "fingerprint")) << seqrt_last_error();
}

TEST(RuntimeIdentity, WeightsFromPacked) {
  ModelBuilder builder;
  const seqrt_model *model = builder.param("w", {2, 3}).copyEveryParam().model();
  std::vector<float> packed = {1, 2, 3, 4, 5, 6};
  seqrt_weights *raw = nullptr;
  EXPECT_EQ(seqrt_weights_from_packed(model, packed.data(), 5, &raw), SEQRT_ERR_ARGUMENT);
  EXPECT_TRUE(mentions(seqrt_last_error(), "packs 6 floats, but 5 were given")) << seqrt_last_error();
  EXPECT_EQ(raw, nullptr);
  ASSERT_EQ(seqrt_weights_from_packed(model, packed.data(), 6, &raw), SEQRT_OK);
  WeightsPtr weights(raw);
  packed[0] = 100; // copied, not kept
  EXPECT_EQ(packedValues(model, weights), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

// Even a query that fails says why; a successful one leaves the last
// error alone.
TEST(RuntimeIdentity, WorkspaceSizeFailureSetsLastError) {
  ModelBuilder builder;
  seqrt_model model = *builder.param("w", {2}).copyEveryParam().model();
  model.workspace_per_batch = INT64_MAX / 2;
  EXPECT_EQ(seqrt_workspace_size(&model, 3), -1);
  EXPECT_TRUE(mentions(seqrt_last_error(), "model 'TestNet'") &&
              mentions(seqrt_last_error(), "batch 3 overflows"))
      << seqrt_last_error();
  EXPECT_EQ(seqrt_workspace_size(&model, -2), -1);
  EXPECT_TRUE(mentions(seqrt_last_error(), "negative")) << seqrt_last_error();
  EXPECT_EQ(seqrt_workspace_size(&model, 1), INT64_MAX / 2);
  EXPECT_TRUE(mentions(seqrt_last_error(), "negative")) << seqrt_last_error();
  EXPECT_EQ(seqrt_workspace_size(nullptr, 1), -1);
  EXPECT_TRUE(mentions(seqrt_last_error(), "'model' is NULL")) << seqrt_last_error();
}

// seqrt_forward_begin, called as generated code calls it.
class ForwardBegin : public ::testing::Test {
protected:
  void SetUp() override {
    model_ = *builder_.param("w", {2, 3}).copyEveryParam().model();
    inputs_[0] = x_;
    model_.num_inputs = 1;
    model_.workspace_per_batch = 64;
    model_.max_batch = 1000;
    ASSERT_EQ(loadImage(&model_, oneParamImage(), weights_), SEQRT_OK);
    ASSERT_EQ(seqrt_context_new(1, 640, &ctx_), SEQRT_OK);
  }
  void TearDown() override { seqrt_context_free(ctx_); }

  seqrt_status begin(const seqrt_weights *weights, int64_t batch,
                     const float *embedded = nullptr) {
    return seqrt_forward_begin(&model_, weights, embedded, inputs_, y_, batch,
                               ctx_, &packed_, &workspace_);
  }

  ModelBuilder builder_;
  seqrt_model model_{};
  WeightsPtr weights_;
  seqrt_context *ctx_ = nullptr;
  float x_[6] = {}, y_[6] = {};
  const float *inputs_[1] = {};
  const float *packed_ = nullptr;
  void *workspace_ = nullptr;
};

TEST_F(ForwardBegin, HandsBackWeightsAndWorkspace) {
  ASSERT_EQ(begin(weights_.get(), 10), SEQRT_OK) << seqrt_last_error();
  EXPECT_EQ(packed_, seqrt_weights_data(weights_.get()));
  EXPECT_NE(workspace_, nullptr);
  EXPECT_STREQ(seqrt_last_error(), "");
  EXPECT_EQ(begin(weights_.get(), 11), SEQRT_ERR_WORKSPACE);
  EXPECT_TRUE(mentions(seqrt_last_error(), "needs 704 bytes of workspace, the context has 640"))
      << seqrt_last_error();
  EXPECT_EQ(begin(weights_.get(), 1001), SEQRT_ERR_BATCH);
}

TEST_F(ForwardBegin, EmbeddedWeightsWhenNull) {
  float embedded[6] = {};
  EXPECT_EQ(begin(nullptr, 1), SEQRT_ERR_ARGUMENT);
  ASSERT_EQ(begin(nullptr, 1, embedded), SEQRT_OK);
  EXPECT_EQ(packed_, embedded);
  // A handle of the model overrides the compiled-in weights.
  ASSERT_EQ(begin(weights_.get(), 1, embedded), SEQRT_OK);
  EXPECT_EQ(packed_, seqrt_weights_data(weights_.get()));
}

TEST_F(ForwardBegin, RefusesWeightsOfAnotherModel) {
  ModelBuilder otherBuilder("OtherNet");
  const seqrt_model *other = otherBuilder.param("w", {2, 3}).copyEveryParam().model();
  WeightsPtr foreign;
  ASSERT_EQ(loadImage(other, oneParamImage(), foreign), SEQRT_OK);
  EXPECT_EQ(begin(foreign.get(), 1), SEQRT_ERR_WEIGHTS);
  std::string error = seqrt_last_error();
  EXPECT_TRUE(mentions(error, "'OtherNet'") && mentions(error, "'TestNet'")) << error;
}

// What a version-1 caller passed (the packed floats), or a context pointer
// that is not a context, is refused rather than read as a handle.
TEST_F(ForwardBegin, RefusesPointersThatAreNotHandles) {
  const auto *notWeights =
      reinterpret_cast<const seqrt_weights *>(seqrt_weights_data(weights_.get()));
  EXPECT_EQ(begin(notWeights, 1), SEQRT_ERR_ARGUMENT);
  EXPECT_TRUE(mentions(seqrt_last_error(), "not a live seqrt_weights handle"))
      << seqrt_last_error();
  alignas(64) std::uint64_t notContext[16] = {};
  EXPECT_EQ(seqrt_forward_begin(&model_, weights_.get(), nullptr, inputs_, y_, 1,
                                reinterpret_cast<seqrt_context *>(notContext),
                                &packed_, &workspace_),
            SEQRT_ERR_ARGUMENT);
  EXPECT_TRUE(mentions(seqrt_last_error(), "not a live seqrt_context"))
      << seqrt_last_error();
}

TEST_F(ForwardBegin, RefusesAnotherAbiVersion) {
  model_.abi_version = 7;
  EXPECT_EQ(begin(weights_.get(), 1), SEQRT_ERR_ABI);
  EXPECT_TRUE(mentions(seqrt_last_error(), "version 7")) << seqrt_last_error();
}

} // namespace
} // namespace seqrt_test
