// Profile: the marks a profiled forward function leaves (`seqc run
// --profile`, TargetOptions::profile): seqc_profile_mark(node) before each
// node it runs, seqc_profile_mark(-1) at its end, each with the time. The
// forward function calls them from the calling thread only (a profiled
// forward runs its nodes in order there, each node's loop over the
// threads), so a node's time is the time from its mark to the next.
#pragma once

#include <cstdint>
#include <vector>

extern "C" void seqc_profile_mark(int64_t node);

namespace seq::codegen {

struct ProfileMark {
  int64_t node; // -1: the end of the forward call
  int64_t ns;   // steady clock
};

// The marks since the last call (this thread's), and forgets them.
std::vector<ProfileMark> takeProfileMarks();

} // namespace seq::codegen
