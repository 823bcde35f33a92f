// How a packed convolution's image is cut into tasks (codegen's
// packedSplit): about kTasksWanted of them; where that would be an odd
// number under kTasksWanted (one of two threads a task more), the blocks
// of rows that leave two threads equal work, in at most twice
// kTasksWanted tasks; every other split as before. A split changes no
// result, so only these tests notice a layer that leaves a core idle.
#include "codegen/NodeGenConv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>

namespace {

using seq::codegen::ConvShape;
using seq::codegen::PackedSplit;
using seq::codegen::packedSplit;

// A convolution of C -> OC channels, K x K, stride 1, padding P, on an
// H x W input, in G groups.
ConvShape conv(int64_t C, int64_t OC, int64_t H, int64_t W, int64_t K, int64_t P, int64_t G = 1) {
  ConvShape s{};
  s.C = C, s.OC = OC, s.H = H, s.W = W, s.G = G, s.KH = K, s.KW = K, s.SH = 1, s.SW = 1, s.PH = P, s.PW = P;
  s.DH = 1, s.DW = 1;
  s.OH = H + 2 * P - K + 1, s.OW = W + 2 * P - K + 1;
  return s;
}

// The output rows each of two threads computes when each task goes to the
// one with less work so far, and the tasks cover every row of every panel
// once.
std::pair<int64_t, int64_t> twoThreads(const ConvShape &s, const PackedSplit &p) {
  int64_t load[2] = {0, 0}, rows = 0;
  for (int64_t panel = 0; panel < p.panels; ++panel)
    for (int64_t r = 0; r < s.OH; r += p.rowsPerTask) {
      int64_t n = std::min(p.rowsPerTask, s.OH - r);
      load[load[1] < load[0] ? 1 : 0] += n;
      rows += n;
    }
  EXPECT_EQ(rows, p.panels * s.OH);
  EXPECT_EQ(p.tasks(), p.panels * p.rowBlocks);
  return {std::max(load[0], load[1]), std::min(load[0], load[1])};
}

TEST(CodegenPackedSplit, LeNetsLayersGiveTwoThreadsEqualWork) {
  // 1 -> 6, 5x5, padding 2, 28 x 28 (was 7 tasks) and 6 -> 16, 5x5, on 14 x
  // 14 (10 output rows, was 5 tasks)
  for (const ConvShape &s : {conv(1, 6, 28, 28, 5, 2), conv(6, 16, 14, 14, 5, 0)}) {
    PackedSplit p = packedSplit(s);
    EXPECT_EQ(p.tasks() % 2, 0) << s.OH << " rows";
    EXPECT_LE(p.tasks(), 16);
    auto [busier, other] = twoThreads(s, p);
    EXPECT_EQ(busier, other) << s.OH << " rows in " << p.tasks() << " tasks";
  }
}

TEST(CodegenPackedSplit, EvenOrManyTasksStayAsTheyWere) {
  // 64 -> 64 on 56 x 56: two panels in four blocks of rows; 25 groups of
  // 16 channels on 7 x 7: a task a group's half panel, all of its rows
  // (25 tasks: in 175 one-row tasks RegNet-X was slower)
  PackedSplit wide = packedSplit(conv(64, 64, 56, 56, 3, 1));
  EXPECT_EQ(wide.tasks(), 8);
  ConvShape grouped = conv(400, 400, 7, 7, 3, 1, 25);
  PackedSplit g = packedSplit(grouped);
  EXPECT_EQ(g.rowBlocks, 1);
  EXPECT_EQ(g.tasks(), g.panels);
}

} // namespace
