// Tests of libseqrt's status strings and thread-local last error.
#include "runtime_test_support.h"

#include <set>
#include <string>
#include <thread>

namespace {

TEST(RuntimeStatus, EveryStatusHasItsOwnDescription) {
  std::set<std::string> descriptions;
  for (int status = SEQRT_OK; status <= SEQRT_ERR_INTERNAL; ++status) {
    std::string text = seqrt_status_string(static_cast<seqrt_status>(status));
    EXPECT_FALSE(text.empty());
    EXPECT_NE(text, "unknown status") << status;
    descriptions.insert(text);
  }
  EXPECT_EQ(descriptions.size(), SEQRT_ERR_INTERNAL + 1u);
  EXPECT_STREQ(seqrt_status_string(SEQRT_ERR_MISSING_TENSOR), "missing tensor");
}

TEST(RuntimeStatus, LastErrorIsSetByAFailureAndClearedBySuccess) {
  seqrt_context *ctx = nullptr;
  EXPECT_EQ(seqrt_context_new(-1, 0, &ctx), SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(ctx, nullptr);
  EXPECT_NE(std::string(seqrt_last_error()).find("thread count -1"),
            std::string::npos)
      << seqrt_last_error();

  ASSERT_EQ(seqrt_context_new(1, 0, &ctx), SEQRT_OK);
  EXPECT_STREQ(seqrt_last_error(), "");
  seqrt_context_free(ctx);
}

TEST(RuntimeStatus, LastErrorIsPerThread) {
  seqrt_context *ctx = nullptr;
  ASSERT_EQ(seqrt_context_new(-5, 0, &ctx), SEQRT_ERR_INVALID_ARGUMENT);
  std::string other = "unset";
  std::thread([&] { other = seqrt_last_error(); }).join();
  EXPECT_EQ(other, "");
  EXPECT_STRNE(seqrt_last_error(), "");
}

TEST(RuntimeStatus, NullArgumentsAreRejected) {
  EXPECT_EQ(seqrt_context_new(1, 0, nullptr), SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(seqrt_context_reserve(nullptr, 8), SEQRT_ERR_INVALID_ARGUMENT);
  seqrt_weights *weights = nullptr;
  EXPECT_EQ(seqrt_weights_random(nullptr, 1, &weights),
            SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(seqrt_weights_load(nullptr, "x", &weights),
            SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(seqrt_last_error()).find("'model'"), std::string::npos);
  seqrt_test::ModelBuilder builder;
  EXPECT_EQ(seqrt_weights_load(builder.model(), nullptr, &weights),
            SEQRT_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(weights, nullptr);
}

} // namespace
