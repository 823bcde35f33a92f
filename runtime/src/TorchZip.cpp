// TorchZip.cpp: from a torch.save zip to named tensors. Finds the archive's
// data.pkl, unpickles it (restricted), checks each storage entry's size
// against the pickle, and turns each tensor's view (offset, sizes,
// strides) into C-order bytes: borrowed when the view is contiguous,
// gathered otherwise. Every entry it reads must pass its CRC-32, as
// torch.load demands.
#include "TorchZip.h"

#include "Status.h"
#include "Text.h"
#include "TorchZipReader.h"
#include "Unpickler.h"

#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace seq::rt {
namespace {

constexpr std::string_view kPickleName = "/data.pkl";

class Assembler {
public:
  Assembler(std::span<const std::byte> image, std::string name)
      : name_(std::move(name)) {
    for (const ZipEntry &entry : readZipDirectory(image, name_))
      entries_.emplace(entry.name, entry);
  }

  [[noreturn]] void fail(const std::string &what, std::string tensor = {}) const {
    throw Error(SEQRT_ERR_FORMAT, quoted(name_) + ": " + what, std::move(tensor));
  }

  WeightsFile run() {
    const ZipEntry &pickle = findPickle();
    archive_ = pickle.name.substr(0, pickle.name.size() - kPickleName.size());
    checkByteOrder();
    if (crc32Of(pickle.data) != pickle.crc32)
      fail("entry " + quoted(pickle.name) + " fails its CRC-32 check; the file is corrupt");
    std::vector<WeightsTensor> tensors;
    for (const PickledTensor &tensor :
         unpickleStateDict(pickle.data, quoted(name_) + ": " + pickle.name))
      tensors.push_back(materialize(tensor));
    return WeightsFile(name_, WeightsFile::Format::TorchZip, std::move(tensors),
                       std::move(owned_));
  }

private:
  // The one entry <archive>/data.pkl, <archive> a single path component.
  const ZipEntry &findPickle() const {
    const ZipEntry *found = nullptr;
    for (const auto &[entryName, entry] : entries_) {
      std::string_view path = entryName;
      if (!path.ends_with(kPickleName) || path.size() == kPickleName.size() ||
          path.substr(0, path.size() - kPickleName.size()).find('/') != path.npos)
        continue;
      if (found != nullptr)
        fail("the zip holds two pickles, " + quoted(found->name) + " and " + quoted(entryName));
      found = &entry;
    }
    if (found != nullptr)
      return *found;
    for (const auto &[entryName, entry] : entries_)
      if (entryName.ends_with("/constants.pkl"))
        fail("this is a TorchScript archive (torch.jit.save), not a state_dict; "
             "save model.state_dict() with torch.save");
    fail("the zip has no <archive>/data.pkl entry: it is not a file torch.save wrote");
  }

  // torch >= 2.1 records the byte order; only little-endian data is read.
  void checkByteOrder() const {
    auto found = entries_.find(archive_ + "/byteorder");
    if (found == entries_.end())
      return;
    std::string_view order(reinterpret_cast<const char *>(found->second.data.data()),
                           found->second.data.size());
    if (order != "little")
      fail("the tensors are stored " + std::string(order) +
           "-endian; only little-endian files are read");
  }

  std::span<const std::byte> storageBytes(const PickledTensor &tensor) {
    const std::string entryName = archive_ + "/data/" + tensor.storageKey;
    auto found = entries_.find(entryName);
    if (found == entries_.end())
      fail("tensor " + quoted(tensor.name) + " names storage " + quoted(tensor.storageKey) +
               ", but the zip has no entry " + quoted(entryName),
           tensor.name);
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(tensor.storageNumel, dtypeSize(tensor.dtype), &bytes) ||
        bytes != found->second.data.size())
      fail("storage " + quoted(tensor.storageKey) + " of tensor " + quoted(tensor.name) +
               " should hold " + std::to_string(tensor.storageNumel) + " elements of " +
               std::string(dtypeName(tensor.dtype)) + ", but its entry has " +
               std::to_string(found->second.data.size()) + " bytes",
           tensor.name);
    if (verified_.insert(tensor.storageKey).second &&
        crc32Of(found->second.data) != found->second.crc32)
      fail("storage entry " + quoted(entryName) + " of tensor " + quoted(tensor.name) +
               " fails its CRC-32 check; the file is corrupt",
           tensor.name);
    return found->second.data;
  }

  WeightsTensor materialize(const PickledTensor &tensor) {
    std::span<const std::byte> storage = storageBytes(tensor);
    const std::size_t element = dtypeSize(tensor.dtype);
    std::uint64_t count = 1;
    for (std::uint64_t dim : tensor.shape)
      count *= dim; // checked by the unpickler
    WeightsTensor result{tensor.name, tensor.dtype, tensor.shape, {}};
    if (count == 0)
      return result;
    if (isContiguous(tensor)) {
      result.bytes = storage.subspan(tensor.offset * element, count * element);
      return result;
    }
    if (count > tensor.storageNumel) // a broadcast (stride 0) view
      fail("tensor " + quoted(tensor.name) + " of size " + formatShape(tensor.shape) +
               " is a broadcast view of only " + std::to_string(tensor.storageNumel) +
               " stored elements; save it with .contiguous()",
           tensor.name);
    owned_.push_back(gather(tensor, storage, count));
    result.bytes = owned_.back();
    return result;
  }

  static bool isContiguous(const PickledTensor &tensor) {
    std::uint64_t expected = 1;
    for (std::size_t i = tensor.shape.size(); i-- > 0;) {
      if (tensor.shape[i] != 1 && tensor.stride[i] != expected)
        return false;
      expected *= tensor.shape[i];
    }
    return true;
  }

  // The view's elements in C order, walked with an odometer over the
  // dimensions (every index was checked to lie inside the storage).
  static std::vector<std::byte> gather(const PickledTensor &tensor,
                                       std::span<const std::byte> storage,
                                       std::uint64_t count) {
    const std::size_t element = dtypeSize(tensor.dtype);
    const std::size_t rank = tensor.shape.size();
    std::vector<std::byte> out(count * element);
    std::vector<std::uint64_t> index(rank, 0);
    std::uint64_t source = tensor.offset;
    for (std::uint64_t i = 0; i < count; ++i) {
      std::memcpy(out.data() + i * element, storage.data() + source * element, element);
      for (std::size_t d = rank; d-- > 0;) {
        if (++index[d] < tensor.shape[d]) {
          source += tensor.stride[d];
          break;
        }
        source -= (tensor.shape[d] - 1) * tensor.stride[d];
        index[d] = 0;
      }
    }
    return out;
  }

  std::string name_;
  std::string archive_;
  std::unordered_map<std::string, ZipEntry> entries_;
  std::vector<std::vector<std::byte>> owned_;
  std::unordered_set<std::string> verified_; // storage keys whose CRC-32 passed
};

} // namespace

WeightsFile parseTorchZip(std::span<const std::byte> image, std::string name) {
  return Assembler(image, std::move(name)).run();
}

} // namespace seq::rt
