// FileOutput: atomic writes of the driver's output files.
#include "driver/FileOutput.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace seq::driver {

namespace fs = std::filesystem;

bool writeFileAtomically(const std::string &path, std::string_view bytes) {
  std::string tmp = fmt::format("{}.tmp-seqc-{}", path, getpid());
  std::error_code ec;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      return false;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec)
    fs::remove(tmp, ec);
  return !ec;
}

} // namespace seq::driver
