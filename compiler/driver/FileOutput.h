// FileOutput: how the driver writes its output files. A file is written to a
// temporary name beside it and renamed into place, so a failure never leaves
// a partial output behind (INTERFACE.md).
#pragma once

#include <string>
#include <string_view>

namespace seq::driver {

// Writes `bytes` to `path` atomically; false (and no file) on failure.
bool writeFileAtomically(const std::string &path, std::string_view bytes);

} // namespace seq::driver
