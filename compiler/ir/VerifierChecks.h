// VerifierChecks.h: the Verifier's class, internal to ir/: Verifier.cpp
// holds the structural, weight and memory checks, VerifierNodes.cpp the
// checks of each node's shapes and epilogue.
#pragma once

#include "ir/Graph.h"
#include "ir/Liveness.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace seq::ir::detail {

class Verifier {
public:
  explicit Verifier(const Graph &g) : g_(g) {}

  // Every check, in order; the violations found.
  std::vector<std::string> run();

private:
  template <typename... Args> void error(fmt::format_string<Args...> format, Args &&...args) {
    errors_.push_back(fmt::format(format, std::forward<Args>(args)...));
  }

  std::string where(int node) const {
    return fmt::format("node {} ({})", node, name(g_.nodes[size_t(node)].kind));
  }
  const Shape &shapeOf(int value) const { return g_.value(value).shape; }
  bool validValue(int id) const { return id >= 0 && size_t(id) < g_.values.size(); }
  bool validPacked(int id) const { return id >= 0 && size_t(id) < g_.packed.size(); }
  bool validParam(int id) const { return id >= 0 && size_t(id) < g_.params.size(); }
  // PlanMemory has run: it sets a workspace size, or gives the output its
  // buffer when nothing needs a workspace.
  bool memoryPlanned() const {
    return hasWorkspace(g_) ||
           std::any_of(g_.values.begin(), g_.values.end(),
                       [](const Value &v) { return v.storage == Storage::Output; });
  }
  // ---- structure ----

  void checkIds();
  void checkNodeIds(int i);
  void checkValues();
  void checkSlice(const Value &v);
  void checkOrder();
  void checkBatching();

  // ---- nodes ----

  void checkNodeShapes(int i);
  bool checkArity(int i);
  void checkLinear(int i);
  void checkConv(int i);
  // [B, C, H, W] -> [B, OC, OH, OW], groups dividing C and OC; false (an
  // error reported) otherwise.
  bool convChannelsValid(int i, const Shape &in, const Shape &out);
  void checkPool(int i);
  void checkNorm(int i);
  void checkBinary(int i);
  void checkReshape(int i);
  void checkConcat(int i);
  void checkShapeOp(int i);
  void checkChannelOp(int i);      // GroupNorm, PRelu
  void checkConvTranspose(int i);
  void checkEpilogue(int i);
  int64_t channelsOf(int i) const;
  void expectPackedSize(int i, const char *what, int packed, int64_t size);
  void expectSameShape(int i, int in);

  // ---- weights and memory ----

  void checkPackSteps();
  void checkPackStep(size_t s);
  void expectParamElements(size_t s, int slot, int64_t elements, bool required);
  void checkWeightPlan();
  void checkOutputStorage();
  void checkCodegenContract();
  void checkMemoryPlan();
  void checkHeadRegion();
  void checkOverlaps(const std::vector<Buffer> &buffers, const char *region);
  bool anyLiveTogetherOverlap(const std::vector<Buffer> &buffers) const;

  const Graph &g_;
  std::vector<std::string> errors_;
};

} // namespace seq::ir::detail
