// codegen_test_support.h: for the code generator's unit tests: graphs
// built and planned by hand (values one after another in the workspace,
// packed tensors one after another in a random weight buffer), a JIT run,
// and naive reference implementations of the ops.
#pragma once

#include "codegen/Codegen.h"
#include "ir/ConvScratch.h"
#include "ir/Graph.h"

#include "seqrt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace codegen_test {

using seq::ir::kBatch;
namespace ir = seq::ir;

inline std::vector<float> randomVector(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

inline ir::Node makeNode(ir::OpKind kind, std::vector<int> inputs) {
  ir::Node node;
  node.kind = kind;
  node.inputs = std::move(inputs);
  return node;
}

// A graph under construction, planned as it grows.
struct TestModel {
  ir::Graph g;
  std::vector<float> packed; // the packed weight buffer
  uint32_t seed = 1;

  explicit TestModel(std::string prefix) {
    g.modelName = prefix;
    g.symbolPrefix = prefix;
  }

  int input(const std::string &name, std::vector<int64_t> dims) {
    int id = g.addValue(ir::Shape{std::move(dims)}, name);
    g.value(id).storage = ir::Storage::Input;
    g.value(id).inputIndex = int(g.inputs.size());
    g.inputs.push_back(id);
    g.inputNames.push_back(name);
    return id;
  }

  // A packed tensor of `size` random floats in [lo, hi).
  int weight(const std::string &name, int64_t size, float lo = -0.5f, float hi = 0.5f) {
    int id = g.addPacked(name, size);
    g.packed[size_t(id)].offset = int64_t(packed.size());
    std::vector<float> values = randomVector(size_t(size), seed++, lo, hi);
    packed.insert(packed.end(), values.begin(), values.end());
    g.packedSize = int64_t(packed.size());
    return id;
  }
  const float *weightData(int id) const { return packed.data() + g.packed[size_t(id)].offset; }

  // Adds `node` writing a new value of shape `dims`; returns the value.
  int add(ir::Node node, std::vector<int64_t> dims, const std::string &name = "") {
    int out = g.addValue(ir::Shape{std::move(dims)}, name.empty() ? "v" + std::to_string(g.values.size()) : name);
    node.output = out;
    node.name = g.value(out).name;
    g.addNode(std::move(node));
    return out;
  }

  // Marks `value` as the output and places everything else: each
  // workspace value and scratch after the previous one, 64-byte aligned,
  // per batch item.
  void finish(int value) {
    g.output = value;
    g.value(value).storage = ir::Storage::Output;
    int64_t cursor = 0;
    auto place = [&](int64_t bytes) {
      int64_t at = cursor;
      cursor += (bytes + 63) / 64 * 64;
      return at;
    };
    for (ir::Value &v : g.values)
      if (v.storage == ir::Storage::Workspace)
        v.offsetPerBatch = place(v.shape.elementsPerBatch() * 4);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const ir::Node &n = g.nodes[i];
      if (n.kind != ir::OpKind::Conv2d)
        continue;
      ir::Scratch s;
      s.node = int(i);
      s.bytesPerBatch = ir::convScratchBytes(g, n); // one image needs it; room per item
      s.offsetPerBatch = place(s.bytesPerBatch);
      g.scratch.push_back(s);
    }
    g.workspacePerBatch = cursor;
  }

  int64_t elements(int value, int64_t batch) const { return g.value(value).shape.elements(batch); }
};

// x [N, 8] -> Linear(8, 16) -> ReLU -> Linear(16, 4), with a parameter
// table and pack steps as the lowering would make them.
inline TestModel mlpModel() {
  TestModel m("mlp");
  m.g.modelName = "MLP";
  int x = m.input("x", {kBatch, 8});
  int w1 = m.g.addParam("fc1.weight", {16, 8}), b1 = m.g.addParam("fc1.bias", {16});
  int w2 = m.g.addParam("fc2.weight", {4, 16});
  ir::Node fc1 = makeNode(ir::OpKind::Linear, {x});
  fc1.attrs.weight = m.weight("fc1.weight", 8 * 16);
  fc1.attrs.bias = m.weight("fc1.bias", 16);
  ir::EpilogueOp relu{ir::EpilogueOp::Kind::Unary};
  fc1.epilogue = {relu};
  int h = m.add(fc1, {kBatch, 16});
  ir::Node fc2 = makeNode(ir::OpKind::Linear, {h});
  fc2.attrs.weight = m.weight("fc2.weight", 16 * 4);
  m.finish(m.add(fc2, {kBatch, 4}));

  auto copy = [&](int param, int packed, int64_t rows, int64_t cols, bool transpose) {
    ir::PackStep step;
    step.src[0] = param;
    step.out = packed;
    step.rows = rows;
    step.cols = cols;
    step.transpose = transpose;
    m.g.packSteps.push_back(step);
  };
  copy(w1, fc1.attrs.weight, 16, 8, true);
  copy(b1, fc1.attrs.bias, 16, 1, false);
  copy(w2, fc2.attrs.weight, 4, 16, true);
  return m;
}

struct WeightsFree {
  void operator()(seqrt_weights *weights) const { seqrt_weights_free(weights); }
};
using WeightsPtr = std::unique_ptr<seqrt_weights, WeightsFree>;

// A weights handle for the compiled model holding m.packed.
inline WeightsPtr packedWeights(const seq::codegen::JitModel &jit, const TestModel &m) {
  seqrt_weights *weights = nullptr;
  EXPECT_EQ(seqrt_weights_from_packed(&jit.model(), m.packed.data(), m.packed.size(), &weights), SEQRT_OK)
      << seqrt_last_error();
  return WeightsPtr(weights);
}

// Runs a compiled model on `inputs`; the output (or an empty vector when
// the call fails, with the status in `status`).
inline std::vector<float> run(const seq::codegen::JitModel &jit, const TestModel &m,
                              const std::vector<std::vector<float>> &inputs, int64_t batch, int threads = 2,
                              seqrt_status *status = nullptr) {
  seqrt_context *ctx = nullptr;
  int64_t workspace = m.g.callWorkspacePerBatch() * batch + m.g.callWorkspaceFixed();
  EXPECT_EQ(seqrt_context_new(threads, size_t(workspace), &ctx), SEQRT_OK);
  std::vector<const float *> pointers;
  for (const auto &in : inputs)
    pointers.push_back(in.data());
  std::vector<float> output(size_t(m.g.value(m.g.output).shape.elements(batch)), NAN);
  WeightsPtr weights = packedWeights(jit, m);
  seqrt_status s = jit.forward(weights.get(), pointers.data(), output.data(), batch, ctx);
  seqrt_context_free(ctx);
  if (status)
    *status = s;
  else
    EXPECT_EQ(s, SEQRT_OK) << seqrt_status_string(s);
  return output;
}

inline std::unique_ptr<seq::codegen::JitModel> compile(const TestModel &m, int optLevel = 3) {
  seq::codegen::TargetOptions options;
  options.optLevel = optLevel;
  auto jit = seq::codegen::JitModel::create(m.g, options);
  if (!jit) {
    ADD_FAILURE() << llvm::toString(jit.takeError());
    return nullptr;
  }
  return std::move(*jit);
}

inline void expectNear(const std::vector<float> &got, const std::vector<float> &want, const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bool same = (std::isnan(want[i]) && std::isnan(got[i])) ||
                std::fabs(got[i] - want[i]) <= 1e-4f + 1e-4f * std::fabs(want[i]);
    if (!same && bad++ < 5)
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", expected " << want[i];
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << got.size() << " elements differ";
}

using Reference = std::function<std::vector<float>(const std::vector<std::vector<float>> &, int64_t)>;

// Compiles `m` (at -O`optLevel`), then for batches 1 and 3 runs it on
// random inputs and compares with `reference(inputs, batch)`.
inline void checkModel(const TestModel &m, const Reference &reference, const std::string &what,
                       std::vector<int64_t> batches = {1, 3}, int optLevel = 3) {
  auto jit = compile(m, optLevel);
  ASSERT_TRUE(jit);
  for (int64_t batch : batches) {
    std::vector<std::vector<float>> inputs;
    for (size_t i = 0; i < m.g.inputs.size(); ++i)
      inputs.push_back(randomVector(size_t(m.elements(m.g.inputs[i], batch)), uint32_t(100 + i + 10 * batch), -2, 2));
    expectNear(run(*jit, m, inputs, batch), reference(inputs, batch), what + " (batch " + std::to_string(batch) + ")");
  }
}

// ---- Naive references (NCHW, row-major) ----------------------------------------

inline std::vector<float> refLinear(const std::vector<float> &x, int64_t M, int64_t K, int64_t N, const float *wKN,
                                    const float *bias) {
  std::vector<float> y(size_t(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = bias ? bias[n] : 0.0;
      for (int64_t k = 0; k < K; ++k)
        s += double(x[size_t(m * K + k)]) * wKN[k * N + n];
      y[size_t(m * N + n)] = float(s);
    }
  return y;
}

struct ConvParams {
  int64_t C, H, W, OC, KH, KW, SH = 1, SW = 1, PT = 0, PL = 0, PB = 0, PR = 0, DH = 1, DW = 1, G = 1;
  int64_t OH() const { return (H + PT + PB - DH * (KH - 1) - 1) / SH + 1; }
  int64_t OW() const { return (W + PL + PR - DW * (KW - 1) - 1) / SW + 1; }
};

inline std::vector<float> refConv(const std::vector<float> &x, int64_t B, const ConvParams &p, const float *w,
                                  const float *bias) {
  int64_t OH = p.OH(), OW = p.OW(), Cg = p.C / p.G, OCg = p.OC / p.G;
  std::vector<float> y(size_t(B * p.OC * OH * OW));
  for (int64_t n = 0; n < B; ++n)
    for (int64_t oc = 0; oc < p.OC; ++oc)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = bias ? bias[oc] : 0.0;
          int64_t g = oc / OCg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < p.KH; ++kh)
              for (int64_t kw = 0; kw < p.KW; ++kw) {
                int64_t ih = oh * p.SH - p.PT + kh * p.DH, iw = ow * p.SW - p.PL + kw * p.DW;
                if (ih < 0 || ih >= p.H || iw < 0 || iw >= p.W)
                  continue;
                s += double(x[size_t(((n * p.C + g * Cg + c) * p.H + ih) * p.W + iw)]) *
                     w[(oc * Cg + c) * p.KH * p.KW + kh * p.KW + kw];
              }
          y[size_t(((n * p.OC + oc) * OH + oh) * OW + ow)] = float(s);
        }
  return y;
}

// PyTorch's pooled size.
inline int64_t poolOut(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil) {
  int64_t span = in + 2 * p - d * (k - 1) - 1;
  int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
  if (ceil && (out - 1) * s >= in + p)
    --out;
  return out;
}

inline std::vector<float> refMaxPool(const std::vector<float> &x, int64_t P, int64_t H, int64_t W, int64_t K, int64_t S,
                                     int64_t pad, int64_t D, int64_t OH, int64_t OW) {
  std::vector<float> y(size_t(P * OH * OW));
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        float m = -std::numeric_limits<float>::infinity();
        for (int64_t kh = 0; kh < K; ++kh)
          for (int64_t kw = 0; kw < K; ++kw) {
            int64_t ih = oh * S - pad + kh * D, iw = ow * S - pad + kw * D;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
              float v = x[size_t((p * H + ih) * W + iw)];
              m = (v > m || std::isnan(v)) ? v : m;
            }
          }
        y[size_t((p * OH + oh) * OW + ow)] = m;
      }
  return y;
}

inline std::vector<float> refAvgPool(const std::vector<float> &x, int64_t P, int64_t H, int64_t W, int64_t K, int64_t S,
                                     int64_t pad, bool includePad, int64_t OH, int64_t OW) {
  std::vector<float> y(size_t(P * OH * OW));
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t h0 = oh * S - pad, w0 = ow * S - pad;
        int64_t h1 = std::min(h0 + K, H + pad), w1 = std::min(w0 + K, W + pad);
        int64_t size = (h1 - h0) * (w1 - w0);
        h0 = std::max<int64_t>(h0, 0);
        w0 = std::max<int64_t>(w0, 0);
        h1 = std::min(h1, H);
        w1 = std::min(w1, W);
        double s = 0;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw)
            s += x[size_t((p * H + ih) * W + iw)];
        int64_t divisor = includePad ? size : (h1 - h0) * (w1 - w0);
        y[size_t((p * OH + oh) * OW + ow)] = float(s / double(divisor));
      }
  return y;
}

inline std::vector<float> refAdaptiveAvgPool(const std::vector<float> &x, int64_t P, int64_t H, int64_t W, int64_t OH,
                                             int64_t OW) {
  std::vector<float> y(size_t(P * OH * OW));
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
        int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        double s = 0;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw)
            s += x[size_t((p * H + ih) * W + iw)];
        y[size_t((p * OH + oh) * OW + ow)] = float(s / double((h1 - h0) * (w1 - w0)));
      }
  return y;
}

inline std::vector<float> refSoftmax(const std::vector<float> &x, int64_t outer, int64_t D, int64_t inner, bool log) {
  std::vector<float> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t d) { return size_t((o * D + d) * inner + i); };
      double m = -INFINITY, s = 0;
      for (int64_t d = 0; d < D; ++d)
        m = std::max(m, double(x[at(d)]));
      for (int64_t d = 0; d < D; ++d)
        s += std::exp(double(x[at(d)]) - m);
      for (int64_t d = 0; d < D; ++d)
        y[at(d)] = float(log ? double(x[at(d)]) - m - std::log(s) : std::exp(double(x[at(d)]) - m) / s);
    }
  return y;
}

inline std::vector<float> refLayerNorm(const std::vector<float> &x, int64_t D, const float *gamma, const float *beta,
                                       float eps) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r < x.size() / size_t(D); ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < D; ++i)
      mean += x[r * size_t(D) + size_t(i)];
    mean /= double(D);
    for (int64_t i = 0; i < D; ++i)
      var += (x[r * size_t(D) + size_t(i)] - mean) * (x[r * size_t(D) + size_t(i)] - mean);
    var /= double(D);
    for (int64_t i = 0; i < D; ++i) {
      double v = (x[r * size_t(D) + size_t(i)] - mean) / std::sqrt(var + eps);
      y[r * size_t(D) + size_t(i)] = float(v * (gamma ? gamma[i] : 1.0) + (beta ? beta[i] : 0.0));
    }
  }
  return y;
}

inline float refSigmoid(float x) { return float(1.0 / (1.0 + std::exp(-double(x)))); }
inline float refRelu(float x) { return x < 0 ? 0.0f : x; }

} // namespace codegen_test
