// Graph: construction helpers and names of the IR's enums.
#include "ir/Graph.h"

#include <fmt/format.h>

namespace seq::ir {

int64_t Shape::elementsPerBatch() const {
  int64_t n = 1;
  for (size_t i = batched() ? 1 : 0; i < dims.size(); ++i)
    n *= dims[i];
  return n;
}

std::string Shape::str() const {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    out += (i ? ", " : "") + (dims[i] == kBatch ? std::string("N") : std::to_string(dims[i]));
  return out + "]";
}

int Graph::addValue(Shape shape, std::string name) {
  Value v;
  v.id = int(values.size());
  v.shape = std::move(shape);
  v.name = std::move(name);
  values.push_back(std::move(v));
  return values.back().id;
}

int Graph::addNode(Node node) {
  int index = int(nodes.size());
  value(node.output).producer = index;
  nodes.push_back(std::move(node));
  return index;
}

int Graph::addParam(std::string name, std::vector<int64_t> shape) {
  params.push_back({std::move(name), std::move(shape)});
  return int(params.size() - 1);
}

int Graph::addPacked(std::string name, int64_t size) {
  packed.push_back({std::move(name), size, -1});
  return int(packed.size() - 1);
}

const Value &Graph::storageOf(int id) const {
  const Value *v = &value(id);
  while (v->storage == Storage::Alias)
    v = &value(v->aliasOf);
  return *v;
}

const char *name(OpKind kind) {
  switch (kind) {
  case OpKind::Input: return "input";
  case OpKind::Linear: return "linear";
  case OpKind::Conv2d: return "conv2d";
  case OpKind::Pad: return "pad";
  case OpKind::MaxPool2d: return "max_pool2d";
  case OpKind::AvgPool2d: return "avg_pool2d";
  case OpKind::AdaptiveAvgPool2d: return "adaptive_avg_pool2d";
  case OpKind::BatchNorm: return "batch_norm";
  case OpKind::LayerNorm: return "layer_norm";
  case OpKind::Softmax: return "softmax";
  case OpKind::Unary: return "unary";
  case OpKind::Binary: return "binary";
  case OpKind::Scalar: return "scalar";
  case OpKind::Reshape: return "reshape";
  case OpKind::Concat: return "concat";
  case OpKind::Identity: return "identity";
  case OpKind::Map: return "map";
  case OpKind::Copy: return "copy";
  }
  return "?";
}

const char *name(UnaryKind kind) {
  switch (kind) {
  case UnaryKind::Relu: return "relu";
  case UnaryKind::Relu6: return "relu6";
  case UnaryKind::LeakyRelu: return "leaky_relu";
  case UnaryKind::Sigmoid: return "sigmoid";
  case UnaryKind::Tanh: return "tanh";
  case UnaryKind::GeluErf: return "gelu";
  case UnaryKind::GeluTanh: return "gelu_tanh";
  case UnaryKind::Silu: return "silu";
  case UnaryKind::Hardswish: return "hardswish";
  case UnaryKind::Elu: return "elu";
  }
  return "?";
}

const char *name(BinaryKind kind) {
  switch (kind) {
  case BinaryKind::Add: return "add";
  case BinaryKind::Sub: return "sub";
  case BinaryKind::Mul: return "mul";
  case BinaryKind::Div: return "div";
  }
  return "?";
}

} // namespace seq::ir
