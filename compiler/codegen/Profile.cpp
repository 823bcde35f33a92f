// Profile.cpp: the receiving end of a profiled forward function's marks.
#include "codegen/Profile.h"

#include <chrono>
#include <utility>

namespace {

thread_local std::vector<seq::codegen::ProfileMark> marks;

} // namespace

extern "C" void seqc_profile_mark(int64_t node) {
  auto now = std::chrono::steady_clock::now().time_since_epoch();
  marks.push_back({node, std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()});
}

namespace seq::codegen {

std::vector<ProfileMark> takeProfileMarks() { return std::exchange(marks, {}); }

} // namespace seq::codegen
