// CacheInfo.cpp: the size of a core's L2 cache, which image-by-image
// forward functions size their groups of images to (seqrt_l2_cache_bytes).
//
// The machine a model is deployed on is not always the one it was built
// on (an Intel Xeon's cores have 2 MB of L2, an AMD EPYC Zen 4's 1 MB), so
// the forward function asks at run time. Linux says it in sysfs, for
// every architecture; glibc's sysconf knows it on x86 only. Read once.
#include "seqrt.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

// When nothing says: the smaller of the L2s seqc has been tuned on.
constexpr std::int64_t kDefaultL2Bytes = std::int64_t(1) << 20;
// Sizes outside this range are taken for misreadings.
constexpr std::int64_t kMinL2Bytes = std::int64_t(64) << 10;
constexpr std::int64_t kMaxL2Bytes = std::int64_t(1) << 30;

// A sysfs size ("1024K", "2M", or bytes), or 0.
std::int64_t parseSize(const char *text) {
  char *end = nullptr;
  long long value = std::strtoll(text, &end, 10);
  if (end == text || value <= 0)
    return 0;
  switch (*end) {
  case 'K': return value << 10;
  case 'M': return value << 20;
  case 'G': return value << 30;
  default: return value;
  }
}

std::string readLine(const std::string &path) {
  std::FILE *file = std::fopen(path.c_str(), "r");
  if (!file)
    return {};
  char line[64] = {};
  bool ok = std::fgets(line, sizeof line, file) != nullptr;
  std::fclose(file);
  return ok ? std::string(line) : std::string();
}

// The first level-2 data or unified cache of CPU 0 in sysfs, or 0.
std::int64_t sysfsL2Bytes() {
  for (int index = 0; index < 16; ++index) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::string level = readLine(dir + "level");
    if (level.empty())
      break;
    std::string type = readLine(dir + "type");
    if (std::strtol(level.c_str(), nullptr, 10) == 2 && type.rfind("Instruction", 0) != 0)
      return parseSize(readLine(dir + "size").c_str());
  }
  return 0;
}

bool plausible(std::int64_t bytes) { return bytes >= kMinL2Bytes && bytes <= kMaxL2Bytes; }

std::int64_t detectL2Bytes() {
  std::int64_t bytes = sysfsL2Bytes();
  if (plausible(bytes))
    return bytes;
#ifdef _SC_LEVEL2_CACHE_SIZE
  bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (plausible(bytes))
    return bytes;
#endif
  return kDefaultL2Bytes;
}

} // namespace

extern "C" int64_t seqrt_l2_cache_bytes(void) {
  static const std::int64_t bytes = detectL2Bytes();
  return bytes;
}
