// `seqc run --profile`'s table (tools/ProfileReport.h) from marks whose
// times are known: each node's median time from its mark to the next, its
// share of the median call, GFLOP/s from its multiply-adds over the batch,
// and a node fused into another named on that one's row.
#include <gtest/gtest.h>

#include "basic/SourceManager.h"
#include "ir_test_builder.h"
#include "tools/ProfileReport.h"

#include <sstream>
#include <string>

namespace seq::ir::testing {
namespace {

// The report's line for node value `v` ("%v ..."), or "".
std::string rowOf(const std::string &report, int v) {
  std::istringstream in(report);
  for (std::string line; std::getline(in, line);)
    if (line.find("%" + std::to_string(v) + "  ") != std::string::npos)
      return line;
  return "";
}

TEST(ProfileReport, MediansSharesGflopsAndFusedNames) {
  TestGraph t;
  int x = t.input({3, 8, 8});
  int c1 = t.conv(x, 8, 3, 1, 1, true, 1, "c1"); // 8 x 8 x 8 outputs x 27 taps
  int r = t.relu(c1);
  int c2 = t.conv(r, 4, 1, 1, 0, true, 1, "c2");
  t.output(c2);
  Graph &g = t.g;
  const int n1 = g.value(c1).producer, nr = g.value(r).producer, n2 = g.value(c2).producer;
  g.nodes[size_t(nr)].fusedInto = n2; // the ReLU runs inside c2

  tools::ProfileRun run{"Test", 2, 1, {}};
  // c1 1, 1 and 5 us (median 1), the ReLU's mark right before c2's, c2 6,
  // 6 and 2 us (median 6); calls of 7, 7 and 7 us
  for (int64_t c1ns : {1000, 1000, 5000}) {
    int64_t c2ns = 7000 - c1ns;
    run.calls.push_back({{n1, 0}, {nr, c1ns}, {n2, c1ns}, {-1, c1ns + c2ns}});
  }
  SourceManager sources;
  std::ostringstream out;
  tools::printProfile(out, g, run, sources);
  const std::string report = out.str();

  EXPECT_NE(report.find("profile of Test: batch 2, 1 thread, median of 3 calls: 0.007 ms a call"),
            std::string::npos)
      << report;
  // c1: 2 images x 512 outputs x 27 multiply-adds in 1 us: 55.3 GFLOP/s
  const std::string first = rowOf(report, c1);
  EXPECT_NE(first.find("c1"), std::string::npos) << report;
  EXPECT_NE(first.find("conv2d 3x3"), std::string::npos) << first;
  EXPECT_NE(first.find("[2, 8, 8, 8]"), std::string::npos) << first;
  EXPECT_NE(first.find("1.0   14.3%      55.3"), std::string::npos) << first;
  // the ReLU has no row of its own; c2's names it: 2 x 256 x 8 in 6 us
  EXPECT_EQ(rowOf(report, r), "") << report;
  const std::string second = rowOf(report, c2);
  EXPECT_NE(second.find(g.nodes[size_t(nr)].name + " + c2"), std::string::npos) << report;
  EXPECT_NE(second.find("6.0   85.7%       1.4"), std::string::npos) << second;
  EXPECT_NE(report.find("by op: conv2d 100.0%"), std::string::npos) << report;
}

} // namespace
} // namespace seq::ir::testing
