// ProfileReport: `seqc run --profile N`'s table: each node's median time
// over N profiled forward calls (codegen/Profile.h), with its share of the
// call and, for convolutions and Linear layers, its GFLOP/s.
#pragma once

#include "codegen/Profile.h"

#include "basic/SourceManager.h"
#include "ir/Graph.h"

#include <ostream>
#include <string>
#include <vector>

namespace seq::tools {

struct ProfileRun {
  std::string model;
  int64_t batch = 1;
  int threads = 1;
  // the marks of each profiled call, in order
  std::vector<std::vector<codegen::ProfileMark>> calls;
};

// `sources` names the lines of nodes without a module path.
void printProfile(std::ostream &out, const ir::Graph &graph, const ProfileRun &run, const SourceManager &sources);

} // namespace seq::tools
