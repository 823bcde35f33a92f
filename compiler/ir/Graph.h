// Graph: seqc's graph IR. One Graph per model: tensors with static shapes
// (the batch symbolic), ops in execution order, the state_dict parameters
// the model reads, and how they become the packed weight buffer.
//
//   AstToIr (lower/) builds it from the checked model; the passes (passes/)
//   rewrite it: remove identities, fold BatchNorm, fuse element-wise ops
//   into epilogues, plan memory; codegen/ turns it into LLVM IR.
//
// Invariants (checked by the Verifier):
//  - every value is produced by exactly one node, or is a model input;
//  - nodes are in a valid execution order (inputs produced before use);
//  - within one graph either every value is batched (dims[0] is the run-time
//    batch) or none is (a model with a fixed batch);
//  - a Reshape's output aliases its input's storage (same elements, no copy);
//  - a Slice-stored value is an input of the concat whose output holds it,
//    at its place there (PlanMemory's in-place concats);
//  - epilogue ops only read tensors of exactly the node's output shape.
#pragma once

#include "basic/SourceManager.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace seq::ir {

// dims[0] is kBatch in a batched shape.
constexpr int64_t kBatch = -1;

struct Shape {
  std::vector<int64_t> dims;

  bool batched() const { return !dims.empty() && dims[0] == kBatch; }
  size_t rank() const { return dims.size(); }
  // Elements for one batch item (batched), or in all (not batched).
  int64_t elementsPerBatch() const;
  // Elements for a given batch.
  int64_t elements(int64_t batch) const { return batched() ? batch * elementsPerBatch() : elementsPerBatch(); }
  std::string str() const; // "[N, 64, 28, 28]"
  bool operator==(const Shape &) const = default;
};

// ---- Weights -----------------------------------------------------------------

// A state_dict entry the model reads, named as PyTorch names it.
struct Param {
  std::string name;
  std::vector<int64_t> shape;
};

// A tensor of the packed weight buffer, made by a PackStep.
struct Packed {
  std::string name;     // for dumps: "conv1.weight (folded)"
  int64_t size = 0;     // floats
  int64_t offset = -1;  // floats from the start of the buffer; set by PlanWeights
};

// How packed tensors are made from params: mirrors seqrt_pack_step (see
// runtime/include/seqrt.h for the algebra of each op).
enum class PackOp { Copy = 0, FoldBatchNorm = 1, BatchNormScaleShift = 2, Zero = 3 };

// How a Copy or FoldBatchNorm step lays out its [rows, cols] matrix (the
// values of seqrt_pack_step.transpose): as it is; transposed to
// [cols, rows]; or transposed and cut into panels of kPackPanelWidth
// columns, each [cols, kPackPanelWidth] contiguous, the last zero-padded
// (the layout seqk_gemm_packed reads; Linear weights); or, for the
// [OC, C*9] weights of a 3x3 convolution, Winograd's transformed kernels:
// 16 matrices [OC, C] in panels (SEQRT_PACK_WINOGRAD, the layout
// seqk_conv2d_winograd reads).
enum PackLayout : int { kLayoutRows = 0, kLayoutTransposed = 1, kLayoutPanels = 2, kLayoutWinograd = 3 };
constexpr int64_t kPackPanelWidth = 32; // SEQK_PANEL_WIDTH

// Floats a [rows, cols] matrix takes in `layout`.
inline int64_t packedMatrixSize(int64_t rows, int64_t cols, int layout) {
  if (layout == kLayoutPanels || layout == kLayoutWinograd)
    rows = (rows + kPackPanelWidth - 1) / kPackPanelWidth * kPackPanelWidth;
  if (layout == kLayoutWinograd)
    return 16 * rows * (cols / 9);
  return rows * cols;
}

struct PackStep {
  PackOp op = PackOp::Copy;
  int transpose = kLayoutRows; // a PackLayout
  // Param indices, -1 where absent: {weight, bias, gamma, beta, mean, var}.
  int src[6] = {-1, -1, -1, -1, -1, -1};
  int out = -1;   // Packed index (dst)
  int out2 = -1;  // Packed index (dst2), -1 where none
  int64_t rows = 0, cols = 0;
  float eps = 0;
};

// ---- Ops -------------------------------------------------------------------------

enum class OpKind {
  Input,        // a model input (no node; listed in Graph::inputs)
  Linear,       // x [*, K] -> [*, N]; weight packed as [K, N] (transposed, or in panels), bias [N]
  Conv2d,       // x [B, C, H, W] -> [B, OC, OH, OW]; weight packed [OC, C/g*KH*KW], bias [OC]
  Pad,          // x [B, C, H, W] -> padded, for padding modes other than zeros
  MaxPool2d,    // x [B, C, H, W] -> [B, C, OH, OW]
  AvgPool2d,
  AdaptiveAvgPool2d,
  AdaptiveMaxPool2d,
  BatchNorm,    // inference BatchNorm on channel dim 1; scale/shift after lowering
  LayerNorm,    // over the last `normSize` elements; gamma/beta packed or absent
  Softmax,      // over `dim`; LogSoftmax when attrs.log
  Unary,        // an element-wise function (attrs.unary), before fusion
  Binary,       // element-wise with broadcasting: inputs[0] op inputs[1]
  Scalar,       // element-wise with a constant: x op attrs.scalar (or reversed)
  Reshape,      // view/reshape/flatten: metadata only, aliases its input
  Concat,       // cat along attrs.dim
  Slice,        // elements start, start+step, ... of attrs.dim (chunk, split, indexing)
  Permute,      // output dim d is input dim attrs.perm[d] (transpose, permute)
  Reduce,       // attrs.reduce over dims [dim, dim+span), kept as size 1
  Identity,     // Identity, Dropout: removed by EliminateIdentity
  Map,          // a standalone element-wise chain: output = epilogue(input)
  Copy,         // output = input (when the model's output is an input or alias)
  GroupNorm,    // x [B, C, *]: normalised per `groups` groups of channels; gamma/beta [C] or absent
  PRelu,        // x [B, C, *]: x > 0 ? x : weight[c] * x; weight [C] or [1]
  ConvTranspose2d, // x [B, C, H, W] -> [B, OC, OH, OW]; weight packed [OC/g*KH*KW, C] (transposed), bias [OC]
  Upsample,     // x [B, C, H, W] -> [B, C, OH, OW]: nearest or bilinear, attrs.scale per dim
};
const char *name(OpKind kind);
// Whether nodes of `kind` take element-wise ops into an epilogue (the
// Verifier's rule and FuseElementwise's): Linear, Conv2d, Map and Concat.
bool acceptsEpilogue(OpKind kind);

// The element-wise activations, one per row of Activations.def.
enum class UnaryKind {
#define SEQ_ACTIVATION(LAYER, KIND, ...) KIND,
#include "ir/Activations.def"
};
const char *name(UnaryKind kind);
// How many float arguments its kernel takes after x (EpilogueOp::alpha,
// then beta), and their parameter names ("negative_slope").
int unaryArity(UnaryKind kind);
const char *unaryArgName(UnaryKind kind, int index);
// For an argument given as a string choice (GELU's approximate): the
// choices in index order, else empty.
std::vector<std::string> unaryArgChoices(UnaryKind kind, int index);
// The seqk kernel computing one element ("seqk_reluf").
const char *unaryKernel(UnaryKind kind);

enum class BinaryKind { Add, Sub, Mul, Div };
const char *name(BinaryKind kind);

// The reductions of Reduce; values as seqk_reduce's op.
enum class ReduceKind { Sum = 0, Mean = 1, Max = 2, Min = 3 };
const char *name(ReduceKind kind);

enum class PadMode { Zeros, Reflect, Replicate, Circular };

// One step of an epilogue, applied to every element a node produces, in
// order, while the element is still in registers or L1.
struct EpilogueOp {
  enum class Kind {
    Bias,          // x += packed[bias][channel]
    ChannelAffine, // x = x * packed[scale][channel] + packed[shift][channel]
    Unary,         // x = f(x)
    AddTensor,     // x += value[tensor] at the same element (residual)
    MulTensor,     // x *= value[tensor] at the same element
    Scalar,        // x = x op scalar (or scalar op x when reversed)
  } kind;
  int packed = -1;   // Bias: the bias; ChannelAffine: the scale
  int packed2 = -1;  // ChannelAffine: the shift
  UnaryKind unary = UnaryKind::Relu;
  float alpha = 0;   // Unary: the kernel's arguments (Activations.def)
  float beta = 0;
  int tensor = -1;   // AddTensor / MulTensor: a value id
  BinaryKind scalarOp = BinaryKind::Add;
  float scalar = 0;
  bool reversed = false; // scalar op x
};

struct Attrs {
  // Conv2d / pools / Pad: [top, left, bottom, right] padding, etc.
  int64_t kernel[2] = {1, 1};
  int64_t stride[2] = {1, 1};
  int64_t pad[4] = {0, 0, 0, 0};
  int64_t dilation[2] = {1, 1};
  int64_t groups = 1;
  bool ceilMode = false;
  bool countIncludePad = true;
  PadMode padMode = PadMode::Zeros;
  float padValue = 0; // Pad of PadMode::Zeros: the constant (ConstantPad2d)
  // Linear / Conv2d / LayerNorm / BatchNorm: packed tensor ids (-1: none).
  int weight = -1;
  int bias = -1;
  // BatchNorm before lowering to scale/shift: param ids.
  int bnGamma = -1, bnBeta = -1, bnMean = -1, bnVar = -1;
  float eps = 1e-5f;
  // LayerNorm
  int64_t normSize = 0;
  // Softmax / Concat / Slice / Reduce: a non-negative dim.
  int64_t dim = 0;
  // Slice: the first element and the step along dim (the output's dim
  // size says how many); Reduce: how many dims from dim on.
  int64_t start = 0, step = 1, span = 1;
  ReduceKind reduce = ReduceKind::Sum;
  // ConvTranspose2d: extra rows and columns at the bottom and right
  // (pad[0], pad[1] are its padding).
  int64_t outputPadding[2] = {0, 0};
  // Upsample: bilinear or nearest; the output-to-source scale per dim, as
  // PyTorch computes it (sema::upsampleGeometry).
  bool bilinear = false;
  bool alignCorners = false;
  float scale[2] = {0, 0};
  // Permute: output dim d is input dim perm[d] (perm[0] == 0 when batched).
  std::vector<int64_t> perm;
  bool log = false;
  // Unary: the kernel's arguments, in Activations.def's order
  UnaryKind unary = UnaryKind::Relu;
  float alpha = 0;
  float beta = 0;
  // Conv2d by Winograd: the stride between its transformed tiles'
  // matrices that the layers sharing its kernel specialisation agree on
  // (ir::shareWinogradStrides; 0: its own, ir::WinogradPlan::vStride).
  int64_t winogradStride = 0;
  // Binary / Scalar
  BinaryKind binary = BinaryKind::Add;
  float scalar = 0;
  bool reversed = false;
};

struct Node {
  OpKind kind;
  std::vector<int> inputs; // value ids
  int output = -1;         // value id
  Attrs attrs;
  std::vector<EpilogueOp> epilogue;
  std::string name;        // the module path or expression it came from: "layer1.0"
  SourceRange loc;
  // A node computed inside another's task (passes::fuseExpandDepthwise):
  // that node's index, else -1. It emits no code of its own, its inputs
  // stay live until that node, and its output is never written.
  int fusedInto = -1;
};

// Where a value's elements live at run time.
enum class Storage {
  Input,     // the caller's input buffer
  Output,    // the caller's output buffer
  Workspace, // the context's workspace at `offset`
  Alias,     // another value's storage (a Reshape); see `aliasOf`
  // Part of another value's storage: a concat's input that its producer
  // writes in place, in the concat's output (`aliasOf`), `sliceOffset`
  // bytes into each image of it. Only where every node runs on one image
  // at a time (PlanMemory): with more, the two have different image
  // strides.
  Slice,
  // The batch-wide region after the image slots, where the forward pass
  // runs image by image and then its head over the whole batch
  // (Graph::headStart): a value the head writes, or that it reads from
  // the nodes before it. `offsetPerBatch`: its place in that region, laid
  // out as a workspace of the call's batch.
  Head,
};

struct Value {
  int id = -1;
  Shape shape;
  int producer = -1;     // node index, -1 for inputs
  std::string name;      // for dumps: "x", "layer1.0"
  Storage storage = Storage::Workspace;
  int aliasOf = -1;      // Alias, Slice: the value whose storage this is
  int64_t sliceOffset = 0; // Slice: bytes from the start of aliasOf's image
  int inputIndex = -1;   // Input: which model input
  // Workspace: byte offset, `offsetPerBatch * batch + offsetFixed`.
  int64_t offsetPerBatch = 0;
  int64_t offsetFixed = 0;
};

// Scratch memory a node needs while it runs (e.g. im2col), sized like a
// value and placed in the workspace by PlanMemory.
struct Scratch {
  int node = -1;
  int64_t bytesPerBatch = 0;
  int64_t bytesFixed = 0;
  int64_t offsetPerBatch = 0;
  int64_t offsetFixed = 0;
};

struct Graph {
  std::string modelName;        // "MLP"
  std::string symbolPrefix;     // "mlp"
  std::vector<std::string> inputNames;

  std::vector<Param> params;
  std::vector<PackStep> packSteps;
  std::vector<Packed> packed;
  int64_t packedSize = 0;       // floats; set by PlanWeights

  std::vector<Value> values;
  std::vector<Node> nodes;      // in execution order
  std::vector<int> inputs;      // value ids, in declaration order
  int output = -1;              // value id
  std::vector<Scratch> scratch;

  int64_t fixedBatch = 0;       // 0 when the batch is chosen at run time
  int64_t workspacePerBatch = 0; // bytes; set by PlanMemory
  int64_t workspaceFixed = 0;
  // Set by PlanMemory when the forward pass runs image by image
  // (ir/ImageParallel.h): the bytes of one image's slot, which is laid
  // out as the workspace of batch 1 (workspaceFixed + workspacePerBatch,
  // rounded up to 64). 0 otherwise.
  int64_t imageSlotBytes = 0;
  // Set by PlanMemory when the forward pass runs image by image: the
  // first of the nodes that then run once over the whole batch (a
  // classifier, whose weights each image would stream again), or -1; and
  // the bytes per batch item of their region (Storage::Head), after the
  // B image slots.
  int headStart = -1;
  int64_t headBytesPerBatch = 0;
  // The workspace a forward call of batch B needs: callWorkspaceFixed() +
  // B * callWorkspacePerBatch() bytes (a slot per image when image by image).
  int64_t callWorkspaceFixed() const { return imageSlotBytes ? 0 : workspaceFixed; }
  int64_t callWorkspacePerBatch() const {
    return imageSlotBytes ? imageSlotBytes + headBytesPerBatch : workspacePerBatch;
  }

  int addValue(Shape shape, std::string name);
  int addNode(Node node); // sets the output value's producer
  int addParam(std::string name, std::vector<int64_t> shape);
  int addPacked(std::string name, int64_t size);
  const Value &value(int id) const { return values[size_t(id)]; }
  Value &value(int id) { return values[size_t(id)]; }
  // Follows Alias and Slice links to the value that owns the storage.
  const Value &storageOf(int id) const;
  // Bytes from the start of that value's image to this value's: the sum
  // of the slice offsets on the way (0 for a value that owns its storage).
  int64_t storageOffset(int id) const;
};

// Whether a concat's inputs all live in its output, each at its place
// (Storage::Slice): it then copies nothing.
bool concatInPlace(const Graph &g, const Node &concat);

} // namespace seq::ir
