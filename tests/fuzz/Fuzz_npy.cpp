// Fuzz target: raw bytes as a .npy file (tools/Npy). Whatever the bytes, the
// reader returns an array whose data matches its shape, or an error.
#include "tools/Npy.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  std::optional<seq::tools::NpyArray> array =
      seq::tools::parseNpy(std::string_view(reinterpret_cast<const char *>(data), size), error);
  if (!array) {
    if (error.empty())
      std::abort(); // a failure must say why
    return 0;
  }
  int64_t count = 1;
  for (int64_t d : array->shape) {
    if (d < 0)
      std::abort();
    count *= d;
  }
  if (uint64_t(count) != array->data.size())
    std::abort();
  return 0;
}
