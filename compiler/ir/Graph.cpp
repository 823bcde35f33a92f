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
  while (v->storage == Storage::Alias || v->storage == Storage::Slice)
    v = &value(v->aliasOf);
  return *v;
}

int64_t Graph::storageOffset(int id) const {
  int64_t offset = 0;
  for (const Value *v = &value(id); v->storage == Storage::Alias || v->storage == Storage::Slice;
       v = &value(v->aliasOf))
    offset += v->storage == Storage::Slice ? v->sliceOffset : 0;
  return offset;
}

bool concatInPlace(const Graph &g, const Node &concat) {
  if (concat.kind != OpKind::Concat || concat.inputs.empty())
    return false;
  for (int in : concat.inputs) {
    const Value &v = g.value(in);
    if (v.storage != Storage::Slice || v.aliasOf != concat.output)
      return false;
  }
  return true;
}

bool acceptsEpilogue(OpKind kind) {
  return kind == OpKind::Linear || kind == OpKind::Conv2d || kind == OpKind::Map || kind == OpKind::Concat;
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
  case OpKind::AdaptiveMaxPool2d: return "adaptive_max_pool2d";
  case OpKind::BatchNorm: return "batch_norm";
  case OpKind::LayerNorm: return "layer_norm";
  case OpKind::Softmax: return "softmax";
  case OpKind::Unary: return "unary";
  case OpKind::Binary: return "binary";
  case OpKind::Scalar: return "scalar";
  case OpKind::Reshape: return "reshape";
  case OpKind::Concat: return "concat";
  case OpKind::Slice: return "slice";
  case OpKind::Permute: return "permute";
  case OpKind::Reduce: return "reduce";
  case OpKind::Identity: return "identity";
  case OpKind::Map: return "map";
  case OpKind::Copy: return "copy";
  case OpKind::GroupNorm: return "group_norm";
  case OpKind::PRelu: return "prelu";
  case OpKind::ConvTranspose2d: return "conv_transpose2d";
  case OpKind::Upsample: return "upsample";
  }
  return "?";
}

namespace {

// One row of Activations.def as data.
struct ActivationRow {
  const char *name;
  const char *kernel;
  std::vector<const char *> args;                // kernel arguments, in order
  std::vector<std::vector<std::string>> choices; // per argument; empty for numbers
};

const std::vector<ActivationRow> &activationRows() {
  static const std::vector<ActivationRow> rows = {
#define SEQ_KARG(NAME, DEFAULT) {#NAME, {}},
#define SEQ_KCHOICE(NAME, ...) {#NAME, {__VA_ARGS__}},
#define SEQ_ACTIVATION(LAYER, KIND, NAME, FORMS, KERNEL, REPR, ...)                                \
  [] {                                                                                             \
    ActivationRow row{NAME, #KERNEL, {}, {}};                                                      \
    for (auto &[arg, choices] : std::vector<std::pair<const char *, std::vector<std::string>>>{    \
             __VA_ARGS__}) {                                                                       \
      row.args.push_back(arg);                                                                     \
      row.choices.push_back(choices);                                                              \
    }                                                                                              \
    return row;                                                                                    \
  }(),
#include "ir/Activations.def"
  };
  return rows;
}

const ActivationRow &row(UnaryKind kind) { return activationRows().at(size_t(kind)); }

} // namespace

const char *name(UnaryKind kind) { return row(kind).name; }
const char *unaryKernel(UnaryKind kind) { return row(kind).kernel; }
int unaryArity(UnaryKind kind) { return int(row(kind).args.size()); }
const char *unaryArgName(UnaryKind kind, int index) { return row(kind).args.at(size_t(index)); }
std::vector<std::string> unaryArgChoices(UnaryKind kind, int index) {
  return row(kind).choices.at(size_t(index));
}

const char *name(ReduceKind kind) {
  switch (kind) {
  case ReduceKind::Sum: return "sum";
  case ReduceKind::Mean: return "mean";
  case ReduceKind::Max: return "amax";
  case ReduceKind::Min: return "amin";
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
