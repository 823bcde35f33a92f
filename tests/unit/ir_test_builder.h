// A small builder of IR graphs for the IR and pass tests: it lowers each
// layer the way AstToIr does (params in state_dict order, Copy pack steps,
// BatchNorm params on the node, workspace storage, Reshape aliases).
#pragma once

#include "ir/Graph.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace seq::ir::testing {

class TestGraph {
public:
  // fixedBatch 0: batched graph (dims[0] is the run-time batch).
  explicit TestGraph(int64_t fixedBatch = 0) {
    g.modelName = "Test";
    g.symbolPrefix = "test";
    g.fixedBatch = fixedBatch;
  }

  // `dims` without the batch.
  int input(std::vector<int64_t> dims, std::string name = "x") {
    int v = g.addValue(shape(std::move(dims)), name);
    g.value(v).storage = Storage::Input;
    g.value(v).inputIndex = int(g.inputs.size());
    g.inputs.push_back(v);
    g.inputNames.push_back(name);
    return v;
  }

  int conv(int x, int64_t outChannels, int64_t kernel, int64_t stride = 1, int64_t pad = 0,
           bool bias = true, int64_t groups = 1, std::string name = "") {
    name = named(name, "conv");
    const std::vector<int64_t> &in = dims(x);
    int64_t patch = in[1] / groups * kernel * kernel;
    Node node = make(OpKind::Conv2d, {x}, name);
    node.attrs.kernel[0] = node.attrs.kernel[1] = kernel;
    node.attrs.stride[0] = node.attrs.stride[1] = stride;
    for (int64_t &p : node.attrs.pad)
      p = pad;
    node.attrs.groups = groups;
    node.attrs.weight = copyParam(name + ".weight", {outChannels, in[1] / groups, kernel, kernel},
                                  outChannels, patch, false);
    node.attrs.bias = bias ? copyParam(name + ".bias", {outChannels}, outChannels, 1, false) : -1;
    int64_t oh = (in[2] + 2 * pad - kernel) / stride + 1, ow = (in[3] + 2 * pad - kernel) / stride + 1;
    return emit(std::move(node), {in[0], outChannels, oh, ow});
  }

  int linear(int x, int64_t out, bool bias = true, std::string name = "") {
    name = named(name, "fc");
    std::vector<int64_t> d = dims(x);
    int64_t k = d.back();
    Node node = make(OpKind::Linear, {x}, name);
    node.attrs.weight = copyParam(name + ".weight", {out, k}, out, k, true);
    node.attrs.bias = bias ? copyParam(name + ".bias", {out}, out, 1, false) : -1;
    d.back() = out;
    return emit(std::move(node), d);
  }

  int batchNorm(int x, bool affine = true, std::string name = "") {
    name = named(name, "bn");
    int64_t c = dims(x)[1];
    Node node = make(OpKind::BatchNorm, {x}, name);
    node.attrs.bnGamma = affine ? g.addParam(name + ".weight", {c}) : -1;
    node.attrs.bnBeta = affine ? g.addParam(name + ".bias", {c}) : -1;
    node.attrs.bnMean = g.addParam(name + ".running_mean", {c});
    node.attrs.bnVar = g.addParam(name + ".running_var", {c});
    node.attrs.eps = 1e-3f;
    return emit(std::move(node), dims(x));
  }

  int unary(int x, UnaryKind kind = UnaryKind::Relu, float alpha = 0) {
    Node node = make(OpKind::Unary, {x}, name(kind));
    node.attrs.unary = kind;
    node.attrs.alpha = alpha;
    return emit(std::move(node), dims(x));
  }

  int relu(int x) { return unary(x); }

  int binary(int a, int b, BinaryKind kind = BinaryKind::Add) {
    Node node = make(OpKind::Binary, {a, b}, name(kind));
    node.attrs.binary = kind;
    std::vector<int64_t> out = dims(a).size() >= dims(b).size() ? dims(a) : dims(b);
    const std::vector<int64_t> &other = dims(a).size() >= dims(b).size() ? dims(b) : dims(a);
    for (size_t i = 0; i < other.size(); ++i) {
      int64_t &d = out[out.size() - other.size() + i];
      d = d == 1 ? other[i] : d;
    }
    return emit(std::move(node), out);
  }

  int scalar(int x, BinaryKind op, float value, bool reversed = false) {
    Node node = make(OpKind::Scalar, {x}, "scalar");
    node.attrs.binary = op;
    node.attrs.scalar = value;
    node.attrs.reversed = reversed;
    return emit(std::move(node), dims(x));
  }

  int identity(int x) { return emit(make(OpKind::Identity, {x}, "dropout"), dims(x)); }

  // `to` without the batch.
  int reshape(int x, std::vector<int64_t> to) {
    int out = emit(make(OpKind::Reshape, {x}, "flatten"), shape(std::move(to)).dims);
    g.value(out).storage = Storage::Alias;
    g.value(out).aliasOf = x;
    return out;
  }

  int maxPool(int x, int64_t kernel) {
    Node node = make(OpKind::MaxPool2d, {x}, "pool");
    node.attrs.kernel[0] = node.attrs.kernel[1] = kernel;
    node.attrs.stride[0] = node.attrs.stride[1] = kernel;
    std::vector<int64_t> d = dims(x);
    d[2] /= kernel;
    d[3] /= kernel;
    return emit(std::move(node), d);
  }

  int concat(std::vector<int> xs, int64_t dim) {
    Node node = make(OpKind::Concat, xs, "cat");
    node.attrs.dim = dim;
    std::vector<int64_t> d = dims(xs[0]);
    for (size_t i = 1; i < xs.size(); ++i)
      d[size_t(dim)] += dims(xs[i])[size_t(dim)];
    return emit(std::move(node), d);
  }

  void output(int v) { g.output = v; }

  const std::vector<int64_t> &dims(int v) const { return g.value(v).shape.dims; }

  // The index of the first pack step writing packed tensor `packed`, or -1.
  int stepWriting(int packed) const {
    for (size_t i = 0; i < g.packSteps.size(); ++i)
      if (g.packSteps[i].out == packed || g.packSteps[i].out2 == packed)
        return int(i);
    return -1;
  }

  Graph g;

private:
  Shape shape(std::vector<int64_t> dims) const {
    dims.insert(dims.begin(), g.fixedBatch ? g.fixedBatch : kBatch);
    return Shape{std::move(dims)};
  }

  std::string named(const std::string &name, const char *base) {
    return name.empty() ? base + std::to_string(counter_++) : name;
  }

  static Node make(OpKind kind, std::vector<int> inputs, std::string name) {
    Node node{};
    node.kind = kind;
    node.inputs = std::move(inputs);
    node.name = std::move(name);
    return node;
  }

  int emit(Node node, std::vector<int64_t> dims) {
    node.output = g.addValue(Shape{std::move(dims)}, node.name);
    g.addNode(std::move(node));
    return g.nodes.back().output;
  }

  int copyParam(const std::string &name, std::vector<int64_t> shape, int64_t rows, int64_t cols,
                bool transpose) {
    PackStep step;
    step.src[0] = g.addParam(name, std::move(shape));
    step.out = g.addPacked(name, rows * cols);
    step.rows = rows;
    step.cols = cols;
    step.transpose = transpose;
    g.packSteps.push_back(step);
    return step.out;
  }

  int counter_ = 1;
};

// EXPECT that verify(g) finds nothing, printing what it finds.
#define EXPECT_VALID(graph)                                                    \
  do {                                                                         \
    std::vector<std::string> errors_ = ::seq::ir::verify(graph);               \
    std::string joined_;                                                       \
    for (const std::string &e_ : errors_)                                      \
      joined_ += e_ + "\n";                                                    \
    EXPECT_TRUE(errors_.empty()) << joined_;                                   \
  } while (0)

} // namespace seq::ir::testing
