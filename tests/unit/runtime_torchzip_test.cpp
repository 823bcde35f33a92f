// Tests of libseqrt's torch.save reader on hand-made bytes: the zip
// directory reader (truncations, bad offsets, huge sizes, compressed and
// duplicate entries), the restricted unpickler (hostile globals, REDUCE,
// refused opcodes, views outside their storage), and loading through the
// C API (dtypes, shared storages, non-contiguous views, the DDP prefix).
#include "runtime_test_support.h"

#include "Status.h"
#include "TorchZip.h"
#include "TorchZipReader.h"
#include "Unpickler.h"
#include "WeightsFile.h"

namespace {

using namespace seqrt_test;
using seq::rt::Error;
using namespace std::string_literals;

std::string le(std::uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i)
    out += static_cast<char>((value >> (8 * i)) & 0xFF);
  return out;
}

std::span<const std::byte> span(const std::string &bytes) {
  return {reinterpret_cast<const std::byte *>(bytes.data()), bytes.size()};
}

// A stored zip as torch.save writes it (with zip64 end records), entries
// in order. Fields can be overridden to make it malformed.
struct ZipSpec {
  std::vector<std::pair<std::string, std::string>> entries;
  std::uint16_t method = 0;
  bool zip64 = true;
  std::int64_t entryCountDelta = 0;
  std::string zip64Extra; // appended to every central record's extra field
  std::uint32_t size32Override = 0; // when nonzero, the central "size" fields
};

std::uint32_t crcOf(const std::string &bytes) { return seq::rt::crc32Of(span(bytes)); }

std::string buildZip(const ZipSpec &spec) {
  std::string out, central;
  for (const auto &[name, data] : spec.entries) {
    const std::uint64_t localAt = out.size();
    const std::uint32_t size = spec.size32Override ? spec.size32Override : std::uint32_t(data.size());
    out += le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(spec.method, 2) + le(0, 4) +
           le(crcOf(data), 4) + le(size, 4) + le(size, 4) + le(name.size(), 2) + le(0, 2) + name + data;
    central += le(0x02014b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(spec.method, 2) + le(0, 4) +
               le(crcOf(data), 4) + le(size, 4) + le(size, 4) + le(name.size(), 2) +
               le(spec.zip64Extra.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) +
               le(localAt, 4) + name + spec.zip64Extra;
  }
  const std::uint64_t centralAt = out.size();
  const std::uint64_t count = spec.entries.size() + spec.entryCountDelta;
  out += central;
  if (spec.zip64) {
    const std::uint64_t end64At = out.size();
    out += le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) +
           le(count, 8) + le(count, 8) + le(central.size(), 8) + le(centralAt, 8);
    out += le(0x07064b50, 4) + le(0, 4) + le(end64At, 8) + le(1, 4);
  }
  out += le(0x06054b50, 4) + le(0, 2) + le(0, 2) + le(count, 2) + le(count, 2) +
         le(central.size(), 4) + le(centralAt, 4) + le(0, 2);
  return out;
}

// Pickle opcodes, assembled by hand.
namespace pk {
std::string str(const std::string &s) { return "X" + le(s.size(), 4) + s; }
std::string global(const std::string &module, const std::string &name) {
  return "c" + module + "\n" + name + "\n";
}
std::string intg(std::uint32_t v) { return "J" + le(v, 4); }
std::string long8(std::uint64_t v) { return "\x8a\x08" + le(v, 8); }
std::string orderedDict() { return global("collections", "OrderedDict") + ")R"; }
// ((size...),) or (stride...) as a MARK ... TUPLE.
std::string tuple(const std::vector<std::uint64_t> &values) {
  std::string out = "(";
  for (std::uint64_t v : values)
    out += v < 0x80000000u ? intg(std::uint32_t(v)) : long8(v);
  return out + "t";
}
std::string tensor(const std::string &storageType, const std::string &key, std::uint64_t numel,
                   std::uint64_t offset, const std::vector<std::uint64_t> &size,
                   const std::vector<std::uint64_t> &stride) {
  return global("torch._utils", "_rebuild_tensor_v2") + "((" + str("storage") +
         global("torch", storageType) + str(key) + str("cpu") + intg(std::uint32_t(numel)) + "tQ" +
         intg(std::uint32_t(offset)) + tuple(size) + tuple(stride) + "\x89" + orderedDict() + "tR";
}
// A state_dict of (name, tensor pickle) pairs, with the _metadata BUILD.
std::string stateDict(const std::vector<std::pair<std::string, std::string>> &items) {
  std::string out = "\x80\x02" + orderedDict() + "(";
  for (const auto &[name, value] : items)
    out += str(name) + value;
  out += "u}" + str("_metadata") + orderedDict() + "(" + str("") + "}" + str("version") +
         intg(1) + "sus" + "b.";
  return out;
}
} // namespace pk

std::string torchZip(const std::string &pickle,
                     const std::vector<std::pair<std::string, std::string>> &storages) {
  ZipSpec spec;
  spec.entries.push_back({"archive/data.pkl", pickle});
  for (const auto &[key, bytes] : storages)
    spec.entries.push_back({"archive/data/" + key, bytes});
  spec.entries.push_back({"archive/version", "3\n"});
  return buildZip(spec);
}

template <class Body> std::string errorOf(Body &&body) {
  try {
    body();
  } catch (const Error &error) {
    EXPECT_EQ(error.status(), SEQRT_ERR_FORMAT) << error.message();
    return error.message();
  }
  ADD_FAILURE() << "no error";
  return "";
}

std::string zipError(const std::string &image) {
  return errorOf([&] { seq::rt::readZipDirectory(span(image), "t.zip"); });
}
std::string pickleError(const std::string &pickle) {
  return errorOf([&] { seq::rt::unpickleStateDict(span(pickle), "'t.pth': archive/data.pkl"); });
}

#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE((text).find(fragment), std::string::npos) << (text)

// ---- the zip reader ----

TEST(RuntimeTorchZip, ReadsStoredEntries) {
  ZipSpec spec;
  spec.entries = {{"a/data.pkl", "hello"}, {"a/data/0", std::string(12, 'x')}};
  std::string image = buildZip(spec);
  std::vector<seq::rt::ZipEntry> entries = seq::rt::readZipDirectory(span(image), "t.zip");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "a/data.pkl");
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(entries[0].data.data()), 5), "hello");
  EXPECT_EQ(entries[1].data.size(), 12u);
  spec.zip64 = false; // a plain end record is read as well
  EXPECT_EQ(seq::rt::readZipDirectory(span(buildZip(spec)), "t.zip").size(), 2u);
}

TEST(RuntimeTorchZip, RejectsShortAndUnterminatedFiles) {
  EXPECT_CONTAINS(zipError("PK\x03\x04"), "too short for a zip archive");
  EXPECT_CONTAINS(zipError("PK\x03\x04" + std::string(40, '\0')), "no zip end of central directory");
}

TEST(RuntimeTorchZip, RejectsEveryTruncation) {
  ZipSpec spec;
  spec.entries = {{"archive/data.pkl", "0123456789"}, {"archive/data/0", std::string(8, 'y')}};
  std::string image = buildZip(spec);
  for (std::size_t length = 0; length < image.size(); ++length)
    EXPECT_THROW(seq::rt::readZipDirectory(span(image.substr(0, length)), "t.zip"), Error)
        << "length " << length;
}

TEST(RuntimeTorchZip, RejectsDirectoryOutsideTheFile) {
  ZipSpec spec;
  spec.entries = {{"a/x", "data"}};
  spec.zip64 = false;
  std::string image = buildZip(spec);
  std::string bad = image;
  bad.replace(bad.size() - 6, 4, le(0x7FFFFFF0, 4)); // the directory's offset
  EXPECT_CONTAINS(zipError(bad), "central directory");
  bad = image;
  bad.replace(bad.size() - 10, 4, le(0xFFFFFFF0, 4)); // its size
  EXPECT_CONTAINS(zipError(bad), "central directory");
}

TEST(RuntimeTorchZip, RejectsHugeZip64Sizes) {
  ZipSpec spec;
  spec.entries = {{"a/x", "data"}};
  spec.size32Override = 0xFFFFFFFF;
  spec.zip64Extra = le(1, 2) + le(16, 2) + le(0xFFFFFFFFFFFFFFF0ull, 8) + le(0xFFFFFFFFFFFFFFF0ull, 8);
  EXPECT_CONTAINS(zipError(buildZip(spec)), "runs into the central directory");
  spec.zip64Extra = le(1, 2) + le(4, 2) + le(0, 4); // too short for the sizes
  EXPECT_CONTAINS(zipError(buildZip(spec)), "truncated zip64 extra field");
}

TEST(RuntimeTorchZip, RejectsEntriesItCannotReadAsStored) {
  ZipSpec spec;
  spec.entries = {{"a/x", "data"}};
  spec.method = 8;
  EXPECT_CONTAINS(zipError(buildZip(spec)), "'a/x' is compressed (method 8)");
  spec.method = 0;
  spec.entries.push_back({"a/x", "again"});
  EXPECT_CONTAINS(zipError(buildZip(spec)), "two entries are named 'a/x'");
  spec.entries.pop_back();
  spec.entryCountDelta = 3;
  EXPECT_CONTAINS(zipError(buildZip(spec)), "fewer than the 4 entries");
}

TEST(RuntimeTorchZip, RejectsLocalHeaderMismatch) {
  ZipSpec spec;
  spec.entries = {{"a/x", "data"}};
  std::string image = buildZip(spec);
  image[30] = 'b'; // the local header's name
  EXPECT_CONTAINS(zipError(image), "local header names another entry");
}

// ---- the unpickler ----

TEST(RuntimeUnpickler, ReadsAStateDict) {
  std::string pickle = pk::stateDict({
      {"fc.weight", pk::tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1})},
      {"fc.bias", pk::tensor("HalfStorage", "1", 4, 1, {2}, {1})},
      {"view", pk::tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3})},
  });
  std::vector<seq::rt::PickledTensor> tensors =
      seq::rt::unpickleStateDict(span(pickle), "'t.pth': archive/data.pkl");
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_EQ(tensors[0].name, "fc.weight");
  EXPECT_EQ(tensors[0].dtype, seq::rt::Dtype::F32);
  EXPECT_EQ(tensors[0].shape, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(tensors[1].dtype, seq::rt::Dtype::F16);
  EXPECT_EQ(tensors[1].offset, 1u);
  EXPECT_EQ(tensors[2].storageKey, "0");
  EXPECT_EQ(tensors[2].stride, (std::vector<std::uint64_t>{1, 3}));
}

TEST(RuntimeUnpickler, RefusesHostileGlobalsByName) {
  // What `pickle.dumps` makes of a class whose __reduce__ returns
  // (os.system, ("touch pwned",)).
  std::string attack = "\x80\x02" + pk::global("os", "system") + pk::str("touch pwned") + "\x85R.";
  std::string message = pickleError(attack);
  EXPECT_CONTAINS(message, "refuses global 'os.system'");
  EXPECT_CONTAINS(message, "weights_only=True");
  EXPECT_CONTAINS(message, "'t.pth': archive/data.pkl at byte 2");
  EXPECT_CONTAINS(pickleError("\x80\x02\x8c\x08" "builtins\x8c\x04" "eval\x93."), "'builtins.eval'");
  EXPECT_CONTAINS(pickleError("\x80\x02" + pk::global("torch", "load") + "."), "'torch.load'");
}

TEST(RuntimeUnpickler, RefusesReduceOfAnythingButATensorRebuild) {
  std::string storageCall = "\x80\x02" + pk::global("torch", "FloatStorage") + pk::tuple({4}) + "R.";
  EXPECT_CONTAINS(pickleError(storageCall), "refuses REDUCE of 'torch.FloatStorage'");
  EXPECT_CONTAINS(pickleError("\x80\x02" + pk::str("f") + ")R."), "refuses REDUCE of a string");
  EXPECT_CONTAINS(pickleError("\x80\x02" + pk::global("collections", "OrderedDict") + "(Nt" + "R."),
                  "OrderedDict() with arguments");
}

TEST(RuntimeUnpickler, RefusesOpcodesAStateDictDoesNotUse) {
  EXPECT_CONTAINS(pickleError("\x80\x02(ios\nsystem\n."), "INST (0x69)");
  EXPECT_CONTAINS(pickleError("\x80\x02]."), "EMPTY_LIST");
  EXPECT_CONTAINS(pickleError("\x80\x02\x81."), "NEWOBJ");
  EXPECT_CONTAINS(pickleError("\x80\x02\xff."), "unknown opcode 0xff");
  EXPECT_CONTAINS(pickleError("\x80\x09."), "protocol 9");
}

TEST(RuntimeUnpickler, RejectsMalformedStreams) {
  EXPECT_CONTAINS(pickleError("\x80\x02"), "truncated");
  EXPECT_CONTAINS(pickleError("\x80\x02X\xff\xff\xff\x7f" "abc."s), "truncated");
  EXPECT_CONTAINS(pickleError("\x80\x02h\x05."), "memo entry 5");
  EXPECT_CONTAINS(pickleError("\x80\x02s."), "empty stack");
  EXPECT_CONTAINS(pickleError("\x80\x02t."), "no MARK");
  EXPECT_CONTAINS(pickleError("\x80\x02."), "empty stack");
  EXPECT_CONTAINS(pickleError("\x80\x02X\x02\x00\x00\x00\xc3\x28."s), "UTF-8");
  EXPECT_CONTAINS(pickleError("\x80\x02\x8a\x09" + std::string(9, '\x01') + "."), "9 bytes");
}

TEST(RuntimeUnpickler, RejectsWhatIsNotAStateDict) {
  EXPECT_CONTAINS(pickleError("\x80\x02" + pk::tuple({1, 2}) + "."), "holds a tuple, not a state_dict");
  std::string checkpoint = "\x80\x02}" + pk::str("epoch") + pk::intg(3) + "s.";
  EXPECT_CONTAINS(pickleError(checkpoint), "entry 'epoch' is an int, not a tensor");
}

TEST(RuntimeUnpickler, RejectsViewsOutsideTheirStorage) {
  auto one = [](const std::string &tensor) { return pk::stateDict({{"w", tensor}}); };
  EXPECT_CONTAINS(pickleError(one(pk::tensor("FloatStorage", "0", 6, 1, {2, 3}, {3, 1}))),
                  "reaches past the end of its storage of 6 elements");
  EXPECT_CONTAINS(pickleError(one(pk::tensor("FloatStorage", "0", 6, 0, {2, 3}, {1}))),
                  "2 dimensions with 1 strides");
  EXPECT_CONTAINS(pickleError(one(pk::tensor("FloatStorage", "0", 6, 0,
                                             {1ull << 40, 1ull << 40, 1ull << 40}, {1, 1, 1}))),
                  "overflows 64 bits");
  EXPECT_CONTAINS(pickleError(one(pk::tensor("ComplexFloatStorage", "0", 6, 0, {6}, {1}))),
                  "refuses global 'torch.ComplexFloatStorage'");
  std::string twoTypes = pk::stateDict({{"a", pk::tensor("FloatStorage", "0", 6, 0, {6}, {1})},
                                        {"b", pk::tensor("HalfStorage", "0", 6, 0, {6}, {1})}});
  EXPECT_CONTAINS(pickleError(twoTypes), "two different types or sizes");
}

TEST(RuntimeUnpickler, RejectsEveryTruncation) {
  std::string pickle = pk::stateDict({{"w", pk::tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1})}});
  for (std::size_t length = 0; length < pickle.size(); ++length)
    EXPECT_THROW(seq::rt::unpickleStateDict(span(pickle.substr(0, length)), "t"), Error)
        << "length " << length;
}

// ---- whole files, through the C API ----

TEST(RuntimeTorchZip, LoadsDtypesSharedStoragesAndViews) {
  std::vector<float> storage = {1, 2, 3, 4, 5, 6};
  std::vector<std::uint16_t> halves = {0x3C00, 0xC000, 0x3800}; // 1, -2, 0.5
  std::string pickle = pk::stateDict({
      {"t", pk::tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3})}, // a transpose
      {"w", pk::tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1})}, // shares storage 0
      {"v", pk::tensor("FloatStorage", "0", 6, 2, {2}, {1})},       // a view at offset 2
      {"h", pk::tensor("HalfStorage", "1", 3, 0, {3}, {1})},
      {"e", pk::tensor("FloatStorage", "2", 0, 0, {0, 4}, {4, 1})},
      {"n.num_batches_tracked", pk::tensor("LongStorage", "3", 1, 0, {}, {})},
  });
  std::string image = torchZip(pickle, {{"0", bytesOf(storage)},
                                        {"1", bytesOf(halves)},
                                        {"2", ""},
                                        {"3", std::string(8, '\0')}});
  ModelBuilder builder;
  const seqrt_model *model =
      builder.param("t", {3, 2}).param("w", {2, 3}).param("v", {2}).param("h", {3}).param("e", {0, 4})
          .copyEveryParam().model();
  WeightsPtr weights;
  ASSERT_EQ(loadImage(model, image, weights), SEQRT_OK) << seqrt_last_error();
  EXPECT_EQ(packedValues(model, weights),
            (std::vector<float>{1, 4, 2, 5, 3, 6, 1, 2, 3, 4, 5, 6, 3, 4, 1, -2, 0.5f}));
}

TEST(RuntimeTorchZip, ChecksStoragesAgainstThePickle) {
  std::string pickle = pk::stateDict({{"w", pk::tensor("FloatStorage", "0", 6, 0, {6}, {1})}});
  ModelBuilder builder;
  const seqrt_model *model = builder.param("w", {6}).copyEveryParam().model();
  WeightsPtr weights;
  EXPECT_EQ(loadImage(model, torchZip(pickle, {{"0", std::string(20, '\0')}}), weights),
            SEQRT_ERR_FORMAT);
  EXPECT_CONTAINS(std::string(seqrt_last_error()), "should hold 6 elements of F32, but its entry has 20 bytes");
  EXPECT_EQ(loadImage(model, torchZip(pickle, {}), weights), SEQRT_ERR_FORMAT);
  EXPECT_CONTAINS(std::string(seqrt_last_error()), "no entry 'archive/data/0'");
  std::string corrupt = torchZip(pickle, {{"0", std::string(24, '\0')}});
  corrupt[50] ^= 1; // inside data.pkl, so its CRC fails
  EXPECT_EQ(loadImage(model, corrupt, weights), SEQRT_ERR_FORMAT);
  EXPECT_CONTAINS(std::string(seqrt_last_error()), "CRC-32");
  // A flipped bit in a tensor's storage fails its CRC too, named.
  std::string damaged = torchZip(pickle, {{"0", std::string(24, '\x11')}});
  damaged[damaged.find(std::string(24, '\x11')) + 7] ^= 4;
  EXPECT_EQ(loadImage(model, damaged, weights), SEQRT_ERR_FORMAT);
  EXPECT_CONTAINS(std::string(seqrt_last_error()),
                  "storage entry 'archive/data/0' of tensor 'w' fails its CRC-32 check");
}

TEST(RuntimeTorchZip, Crc32MatchesTheBytewiseDefinition) {
  EXPECT_EQ(crcOf("123456789"), 0xCBF43926u); // the standard check value
  EXPECT_EQ(crcOf(""), 0u);
  std::string bytes;
  for (int n = 0; n < 70; ++n) { // every length across the 8-byte steps
    std::uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char b : bytes) {
      crc ^= b;
      for (int k = 0; k < 8; ++k)
        crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    EXPECT_EQ(crcOf(bytes), crc ^ 0xFFFFFFFFu) << "length " << n;
    bytes += static_cast<char>(n * 37 + 11);
  }
}

TEST(RuntimeTorchZip, NamesTheCommonPrefixAndStripsIt) {
  std::vector<float> values = {1, 2, 3};
  std::string pickle = pk::stateDict({
      {"module.fc.weight", pk::tensor("FloatStorage", "0", 3, 0, {3}, {1})},
      {"module.fc.bias", pk::tensor("FloatStorage", "0", 3, 0, {3}, {1})},
  });
  TempDir dir;
  std::string path = dir.write("ddp.pth", torchZip(pickle, {{"0", bytesOf(values)}}));
  ModelBuilder builder;
  const seqrt_model *model = builder.param("fc.weight", {3}).param("fc.bias", {3}).copyEveryParam().model();
  struct Seen {
    std::vector<std::pair<seqrt_problem_kind, std::string>> problems;
  } seen;
  auto collect = [](void *user, seqrt_problem_kind kind, const char *tensor, const char *) {
    static_cast<Seen *>(user)->problems.push_back({kind, tensor});
  };
  EXPECT_EQ(seqrt_weights_check(model, path.c_str(), collect, &seen), SEQRT_ERR_MISSING_TENSOR);
  ASSERT_EQ(seen.problems.size(), 1u); // one problem, not one per tensor
  EXPECT_EQ(seen.problems[0].first, SEQRT_PROBLEM_PREFIX);
  EXPECT_EQ(seen.problems[0].second, "module.");
  EXPECT_CONTAINS(std::string(seqrt_last_error()), "every key has the prefix 'module.'");
  seqrt_weights *raw = nullptr;
  ASSERT_EQ(seqrt_weights_load_strip(model, path.c_str(), "module.", &raw), SEQRT_OK) << seqrt_last_error();
  WeightsPtr weights(raw);
  EXPECT_EQ(packedValues(model, weights), (std::vector<float>{1, 2, 3, 1, 2, 3}));
}

TEST(RuntimeTorchZip, TellsFormatsApartByMagic) {
  ModelBuilder builder;
  const seqrt_model *model = builder.param("w", {1}).copyEveryParam().model();
  WeightsPtr weights;
  std::string legacy = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19" + std::string(20, '\0');
  EXPECT_EQ(loadImage(model, legacy, weights), SEQRT_ERR_FORMAT);
  EXPECT_CONTAINS(std::string(seqrt_last_error()), "legacy (before 1.6) format");
  ZipSpec script;
  script.entries = {{"m/constants.pkl", "x"}, {"m/code/m.py", "y"}};
  EXPECT_EQ(loadImage(model, buildZip(script), weights), SEQRT_ERR_FORMAT);
  EXPECT_CONTAINS(std::string(seqrt_last_error()), "TorchScript");
  // A safetensors image is still read as one.
  EXPECT_EQ(loadImage(model, buildImage({f32Tensor("w", {1}, 7.0f)}), weights), SEQRT_OK);
}

TEST(RuntimeTorchZip, ConvertsToSafetensors) {
  std::vector<float> storage = {1, 2, 3, 4, 5, 6};
  std::string pickle = pk::stateDict({{"module.t", pk::tensor("FloatStorage", "0", 6, 0, {3, 2}, {1, 3})}});
  std::string image = torchZip(pickle, {{"0", bytesOf(storage)}});
  seq::rt::WeightsFile file = seq::rt::parseTorchZip(span(image), "t.pth");
  EXPECT_EQ(file.stripPrefix("module."), 1u);
  std::string converted = seq::rt::encodeSafetensors(file);
  EXPECT_EQ((converted.size() - 8) % 8, 24u % 8); // 8-byte aligned data
  ModelBuilder builder;
  const seqrt_model *model = builder.param("t", {3, 2}).copyEveryParam().model();
  WeightsPtr weights;
  ASSERT_EQ(loadImage(model, converted, weights), SEQRT_OK) << seqrt_last_error();
  EXPECT_EQ(packedValues(model, weights), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

} // namespace

namespace {

using namespace seqrt_test;

TEST(RuntimeWeightsFile, StrippingAPrefixMayNotMergeTwoNames) {
  std::string image = buildImage({f32Tensor("module.w", {1}), f32Tensor("w", {1})});
  seq::rt::WeightsFile file = seq::rt::WeightsFile::parse(
      {reinterpret_cast<const std::byte *>(image.data()), image.size()}, "s.safetensors");
  try {
    file.stripPrefix("module.");
    ADD_FAILURE() << "no error";
  } catch (const seq::rt::Error &error) {
    EXPECT_NE(error.message().find("two tensors are named 'w'"), std::string::npos) << error.message();
  }
}

TEST(RuntimeWeightsFile, TheOnePrefixProblemIsFoundInSafetensorsToo) {
  std::string image = buildImage({f32Tensor("model.fc.weight", {2}), f32Tensor("model.fc.bias", {2}),
                                  f32Tensor("model.bn.num_batches_tracked", {1})});
  ModelBuilder builder;
  const seqrt_model *model = builder.param("fc.weight", {2}).param("fc.bias", {2}).copyEveryParam().model();
  WeightsPtr weights;
  EXPECT_EQ(loadImage(model, image, weights), SEQRT_ERR_MISSING_TENSOR);
  std::string message = seqrt_last_error();
  EXPECT_NE(message.find("every key has the prefix 'model.'"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message; // one problem
  // Some keys without the prefix: the usual problems, one per tensor.
  image = buildImage({f32Tensor("model.fc.weight", {2}), f32Tensor("fc.bias", {2})});
  EXPECT_EQ(loadImage(model, image, weights), SEQRT_ERR_MISSING_TENSOR);
  message = seqrt_last_error();
  EXPECT_EQ(message.find("every key"), std::string::npos) << message;
  EXPECT_NE(message.find("'fc.weight' is missing"), std::string::npos) << message;
}

} // namespace
