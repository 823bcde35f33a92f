// Tests of libseqrt's safetensors reader: every dtype it converts, and the
// malformed images it must reject with a message saying what is wrong.
#include "runtime_test_support.h"

#include <cmath>
#include <limits>

namespace {

using namespace seqrt_test;

// Loads `image` for a model of one parameter `w` of `dims`, packed as is.
std::vector<float> loadOne(const TensorSpec &tensor,
                           std::vector<std::int64_t> dims) {
  ModelBuilder builder;
  const seqrt_model *model = builder.param("w", dims).copyEveryParam().model();
  WeightsPtr weights;
  EXPECT_EQ(loadImage(model, buildImage({tensor}), weights), SEQRT_OK)
      << seqrt_last_error();
  return weights ? packedValues(model, weights) : std::vector<float>{};
}

// Expects `image` to be rejected with `status`, the message containing
// `fragment` (and naming the image).
void expectRejected(const std::string &image, const std::string &fragment,
                    seqrt_status status = SEQRT_ERR_FORMAT) {
  ModelBuilder builder;
  WeightsPtr weights;
  EXPECT_EQ(loadImage(builder.model(), image, weights), status);
  EXPECT_EQ(weights, nullptr);
  std::string message = seqrt_last_error();
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
  EXPECT_EQ(message.rfind("'<memory>': ", 0), 0u) << message;
}

// A one-tensor header around `entry` (the JSON of the tensor's fields).
std::string oneTensorImage(const std::string &entry, std::string_view data) {
  return rawImage("{\"w\":{" + entry + "}}", data);
}

TEST(RuntimeSafetensors, ReadsF32AsIs) {
  std::vector<float> values = {1.0f, -2.5f, 3e-8f, 1e30f};
  EXPECT_EQ(loadOne({"w", "F32", {2, 2}, bytesOf(values)}, {2, 2}), values);
}

TEST(RuntimeSafetensors, ReadsF32AtAnUnalignedOffset) {
  std::vector<float> values = {0.5f, -7.0f, 42.0f};
  std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}";
  while (header.size() % 4 != 1) // the data starts at an odd offset
    header += ' ';
  std::string image = rawImage(header, bytesOf(values));
  ModelBuilder builder;
  const seqrt_model *model = builder.param("w", {3}).copyEveryParam().model();
  WeightsPtr weights;
  ASSERT_EQ(loadImage(model, image, weights), SEQRT_OK) << seqrt_last_error();
  EXPECT_EQ(packedValues(model, weights), values);
}

TEST(RuntimeSafetensors, ConvertsF16) {
  std::vector<std::uint16_t> halves = {0x3C00, 0xC000, 0x7BFF, 0x0001,
                                       0x8400, 0x3555, 0x7C00, 0x8000};
  std::vector<float> values = loadOne({"w", "F16", {8}, bytesOf(halves)}, {8});
  ASSERT_EQ(values.size(), 8u);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], -2.0f);
  EXPECT_EQ(values[2], 65504.0f);
  EXPECT_EQ(values[3], std::ldexp(1.0f, -24)); // the smallest subnormal
  EXPECT_EQ(values[4], -std::ldexp(1.0f, -14));
  EXPECT_EQ(values[5], 0.333251953125f);
  EXPECT_EQ(values[6], std::numeric_limits<float>::infinity());
  EXPECT_TRUE(values[7] == 0.0f && std::signbit(values[7]));
}

TEST(RuntimeSafetensors, ConvertsF16NaN) {
  std::vector<std::uint16_t> halves = {0x7E00};
  EXPECT_TRUE(std::isnan(loadOne({"w", "F16", {1}, bytesOf(halves)}, {1})[0]));
}

TEST(RuntimeSafetensors, ConvertsBF16) {
  std::vector<std::uint16_t> bfloats = {0x3F80, 0xC0A0, 0x4049, 0xFF80};
  std::vector<float> values = loadOne({"w", "BF16", {2, 2}, bytesOf(bfloats)}, {2, 2});
  EXPECT_EQ(values, (std::vector<float>{1.0f, -5.0f, 3.140625f,
                                        -std::numeric_limits<float>::infinity()}));
}

TEST(RuntimeSafetensors, ConvertsF64) {
  std::vector<double> doubles = {0.1, -3.5, 1e-50, 123456789.0};
  std::vector<float> values = loadOne({"w", "F64", {4}, bytesOf(doubles)}, {4});
  EXPECT_EQ(values, (std::vector<float>{0.1f, -3.5f, 0.0f, 123456789.0f}));
}

TEST(RuntimeSafetensors, AcceptsEmptyAndZeroSizedTensors) {
  ModelBuilder builder;
  const seqrt_model *model =
      builder.param("empty", {0, 3}).param("w", {2}).copyEveryParam().model();
  WeightsPtr weights;
  std::string image = buildImage({{"empty", "F32", {0, 3}, ""},
                                  f32Tensor("w", {2}, 5.0f),
                                  {"huge_but_empty", "F64", {0, 1ull << 62, 1ull << 62}, ""}});
  ASSERT_EQ(loadImage(model, image, weights), SEQRT_OK) << seqrt_last_error();
  EXPECT_EQ(packedValues(model, weights), (std::vector<float>{5.0f, 6.0f}));

  ModelBuilder none;
  EXPECT_EQ(loadImage(none.model(), rawImage("{}"), weights), SEQRT_OK);
}

TEST(RuntimeSafetensors, RejectsTruncatedLength) {
  expectRejected("", "only 0 bytes long");
  expectRejected(std::string(5, '\0'), "only 5 bytes long");
}

TEST(RuntimeSafetensors, RejectsAbsurdHeaderLength) {
  std::string image = lengthPrefix(9223372036854775807ull) + std::string(1016, ' ');
  expectRejected(image, "header length 9223372036854775807 exceeds the file size 1024");
  expectRejected(lengthPrefix(~0ull) + "{}", "header length 18446744073709551615");
}

TEST(RuntimeSafetensors, RejectsHeaderRunningPastTheEnd) {
  expectRejected(lengthPrefix(10) + "{}      ", "runs past the end of the file");
}

TEST(RuntimeSafetensors, RejectsTruncatedData) {
  std::string image = buildImage({f32Tensor("w", {4})});
  expectRejected(image.substr(0, image.size() - 3),
                 "tensor 'w' has data_offsets [0, 16] past the end of the "
                 "data buffer (13 bytes)");
}

TEST(RuntimeSafetensors, RejectsInvalidJson) {
  const char *headers[] = {
      "",                                  // empty
      "{",                                 // unterminated
      "{\"a\":}",                          // missing value
      "{\"a\":\"b\",}",                    // trailing comma
      "{/*c*/}",                           // comment
      "{'a':\"b\"}",                       // single quotes
      "{\"__metadata__\":{\"a\":NaN}}",    // NaN
      "{\"w\":{\"shape\":[01]}}",          // leading zero
      "{\"w\":{\"shape\":[1.]}}",          // bare fraction
      "{\"a\":\"\\x\"}",                   // bad escape
      "{\"a\":\"\\ud800\"}",               // lone high surrogate
      "{\"a\":\"\\udc00\"}",               // lone low surrogate
      "{\"a\":\"\x01\"}",                  // control character
      "{\"a\xff\":\"b\"}",                 // invalid UTF-8
      "{\"a\xc0\xaf\":\"b\"}",             // overlong UTF-8
      "{\"a\xed\xa0\x80\":\"b\"}",         // UTF-8 surrogate
      "{} {}",                             // two values
      "{\"a\":tru}",                       // bad literal
  };
  for (const char *header : headers) {
    SCOPED_TRACE(header);
    expectRejected(rawImage(header), "invalid JSON header at byte");
  }
}

TEST(RuntimeSafetensors, RejectsDeepNesting) {
  std::string deep = std::string(1000, '[') + std::string(1000, ']');
  expectRejected(rawImage("{\"__metadata__\":" + deep + "}"), "nesting deeper");
}

TEST(RuntimeSafetensors, AcceptsValidUnicodeAndEscapes) {
  std::string name = "caf\xc3\xa9.\xf0\x9f\x98\x80";
  ModelBuilder builder;
  const seqrt_model *model = builder.param(name, {1}).copyEveryParam().model();
  std::string header = "{\"caf\\u00e9.\\ud83d\\ude00\":{\"dtype\":\"F32\","
                       "\"shape\":[1],\"data_offsets\":[0,4]}}";
  WeightsPtr weights;
  EXPECT_EQ(loadImage(model, rawImage(header, bytesOf(std::vector<float>{2.0f})), weights),
            SEQRT_OK)
      << seqrt_last_error();
}

TEST(RuntimeSafetensors, RejectsStructuralProblems) {
  expectRejected(rawImage("[]"), "the header is not a JSON object");
  expectRejected(rawImage("{\"w\":1,\"w\":2}"), "duplicate key 'w'");
  expectRejected(rawImage("{\"__metadata__\":{\"a\":1}}"),
                 "'__metadata__' is not an object of strings");
  expectRejected(rawImage("{\"w\":[]}"), "tensor 'w' is not described by a JSON object");
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[]", ""),
                 "tensor 'w' lacks one of");
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":"
                                "[0,4],\"extra\":1", "abcd"),
                 "tensor 'w' has an unknown field 'extra'");
  expectRejected(oneTensorImage("\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]", "abcd"),
                 "'dtype' that is not a string");
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]", "abcd"),
                 "tensor 'w' has an invalid 'shape': -1 is not a non-negative");
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,4]", "abcd"),
                 "invalid 'shape'");
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[18446744073709551616],"
                                "\"data_offsets\":[0,4]", "abcd"),
                 "18446744073709551616 is not a non-negative 64-bit integer");
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]", "abcd"),
                 "expected [begin, end]");
}

TEST(RuntimeSafetensors, RejectsBadOffsets) {
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]", "abcd"),
                 "data_offsets [4, 0] that end before they begin");
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"
                                "[18446744073709551612,18446744073709551615]", "abcd"),
                 "past the end of the data buffer (4 bytes)");
}

TEST(RuntimeSafetensors, RejectsOverlap) {
  std::string header =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  expectRejected(rawImage(header, std::string(12, '\0')),
                 "tensors 'a' and 'b' overlap (data_offsets [0, 8] and [4, 12])");
  std::string inside =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}";
  expectRejected(rawImage(inside, std::string(8, '\0')), "overlap");
}

TEST(RuntimeSafetensors, RejectsGaps) {
  std::string between =
      "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
  expectRejected(rawImage(between, std::string(12, '\0')),
                 "bytes 4 to 8 of the data buffer belong to no tensor (a gap) "
                 "before tensor 'b'");
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]",
                                std::string(8, '\0')),
                 "bytes 0 to 4 of the data buffer belong to no tensor");
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]",
                                std::string(6, '\0')),
                 "bytes 4 to 6 of the data buffer belong to no tensor (a gap) at "
                 "the end");
}

TEST(RuntimeSafetensors, RejectsShapeSizeMismatch) {
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]",
                                std::string(20, '\0')),
                 "tensor 'w' has shape [2, 3] of F32 (24 bytes), but its "
                 "data_offsets [0, 20] hold 20 bytes");
}

TEST(RuntimeSafetensors, RejectsShapeProductOverflow) {
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],"
                                "\"data_offsets\":[0,0]", ""),
                 "the size of tensor 'w' (shape [4294967296, 4294967296, 4] of F32) "
                 "overflows 64 bits");
  // 2^62 elements of 4 bytes: the multiplication by the element size overflows.
  expectRejected(oneTensorImage("\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
                                "\"data_offsets\":[0,0]", ""),
                 "overflows 64 bits");
}

TEST(RuntimeSafetensors, RejectsUnknownDtypeNamingTheTensor) {
  expectRejected(oneTensorImage("\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]", "abcd"),
                 "tensor 'w' has unknown dtype 'F33'", SEQRT_ERR_DTYPE);
}

} // namespace
