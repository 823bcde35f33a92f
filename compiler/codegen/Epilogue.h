// Epilogue: turns a node's EpilogueOp list into a function with the
// seqk_epilogue signature
//   void epi(const void *env, int64_t row, int64_t col,
//            const float *src, float *dst, int64_t n)
// that kernels call on each finished run of outputs. The function is
// internal and always-inline: once the kernel is inlined into a task, the
// call through the function pointer becomes a direct call and is inlined
// too, and its loop over `n` vectorises.
//
// Where a run lies. Every kernel hands out runs as (row, col) of a
// row-major [rows, rowStride] view of (a part of) the node's output; the
// task adds `rowBase` (in the env) so that R = rowBase + row is a row of
// the whole output, and element j of the run is the flat element
//   flat = R * rowStride + col + j
// of the output and of every AddTensor/MulTensor operand (those have the
// output's shape). The views per node kind:
//   Linear     [M, N], rowBase 0 (rows split or columns split)
//   Conv2d     [B*OC, OH*OW]: a group's GEMM of image n has rowBase n*OC + g*OC/g
//   depthwise  [B*C, OH*OW]: rowBase n*C
//   Map        [rows, D] (NodeGenElementwise.cpp chooses D)
//   others     the op's own output rows, epilogue applied after the op
//
// Channels. Bias and ChannelAffine index a per-channel table; how the
// channel follows from (R, col + j) is a ChannelRule, fixed per node:
// PerRow when a row lies in one channel (computed once per run, so the
// loop loads a scalar), PerCol when a row is exactly the channels (the loop
// loads a contiguous vector), PerElement otherwise (a division per
// element; correct, slow, not produced for the views above).
//
// The env, filled by the task (EpilogueEnv):
//   struct { int64_t rowBase; int64_t channels[o];
//            const float *tables[t]; const float *tensors[k]; }
// with one channel count per Bias and ChannelAffine op (its ChannelRule's
// count), one table per Bias and two per ChannelAffine (scale, shift),
// then one tensor per AddTensor/MulTensor op, in op order. Nothing about a
// node's place in the weights, nor its number of channels, is a constant
// of the function, so layers of equal ops get equal epilogues (and tasks),
// which merge before the module is optimised (compile time stays linear
// in distinct shapes). Inlined into a task, the env's stores fold and the
// channel count is a constant again; called through its address (from a
// noinline kernel), the epilogue divides by a loaded count once per run.
#pragma once

#include "codegen/LlvmGen.h"

#include <optional>

namespace seq::codegen {

struct ChannelRule {
  enum class Mode { PerRow, PerCol, PerElement } mode = Mode::PerRow;
  // PerRow: channel = (R / div) % count.
  int64_t div = 1;
  // PerElement: channel = (flat / inner) % count.
  int64_t inner = 1;
  int64_t count = 1;
};

struct EpilogueLayout {
  int64_t rowStride = 1;
  ChannelRule bias;   // the channel of a Bias (a Linear's feature, else dim 1)
  ChannelRule affine; // the channel of a ChannelAffine (dim 1)
};

// The rule for the dim-1 channel of `shape` when runs are rows of
// `rowStride` elements of its flat layout.
ChannelRule dim1Rule(const ir::Shape &shape, int64_t rowStride);
// Both rules the dim-1 channel: every node but Linear.
EpilogueLayout channelLayout(const ir::Shape &shape, int64_t rowStride);

// The epilogue ops a node applies, in order. The node's own op comes first
// where it is element-wise (Unary, Scalar, a lowered BatchNorm), and a
// Linear/Conv2d bias not yet seeded into the epilogue by FuseElementwise.
std::vector<ir::EpilogueOp> epilogueOps(const ir::Node &node);
// True when any op reads a per-channel table.
bool needsChannel(const std::vector<ir::EpilogueOp> &ops);

// The register form of an epilogue: the seqk_fused that the packed
// convolution kernels apply to each tile in registers, before storing it,
// instead of a function called on the stored rows. Ops of the form
// [Bias] [AddTensor] [ReLU | ReLU6 | Hardtanh | SiLU | Hardswish], at
// least one, the bias's channel the row's (PerRow, div 1: a
// convolution's output channel).
struct RegisterForm {
  int bias = -1;   // the packed bias, or -1
  int tensor = -1; // the added value, or -1
  int act = 0;     // SEQK_ACT_*
  float lo = 0, hi = 0;
};
// Where a kernel can take the register form: not at all, without the
// added tensor (tiles of several rows), with it (tiles of one row), or
// without it and only for a clamp or no activation (the depthwise kernel
// of small planes: its SiLU in registers, 8 outputs at a time, was slower
// than the generated loop on each channel's plane), or without it and only
// for a curve, SiLU, Hardswish or Tanh (the packed tiles of short rows:
// there a clamp's generated loop is as fast).
enum class RegisterUse { None, Channels, ChannelsAndTensor, ChannelsClamp, ChannelsCurve };
std::optional<RegisterForm> registerForm(const std::vector<ir::EpilogueOp> &ops, const EpilogueLayout &layout,
                                         RegisterUse use);

// lhs op rhs in float, no fast-math flags (NaN and Inf as PyTorch).
llvm::Value *emitBinaryOp(llvm::IRBuilder<> &b, ir::BinaryKind op, llvm::Value *lhs, llvm::Value *rhs);

class Epilogue {
public:
  // Generates the function for `ops` (nothing when `ops` is empty), or,
  // where the kernels it is passed to take it (`use`) and the ops have
  // one, the register form instead.
  Epilogue(LlvmGen &gen, int node, std::vector<ir::EpilogueOp> ops, EpilogueLayout layout,
           RegisterUse use = RegisterUse::None);

  bool empty() const { return ops_.empty(); }
  const std::optional<RegisterForm> &registerForm() const { return register_; }
  const EpilogueLayout &layout() const { return layout_; }
  llvm::Function *function() const { return fn_; }
  // The AddTensor/MulTensor value ids, in env order.
  const std::vector<int> &tensors() const { return tensors_; }
  // The packed tables (Bias, ChannelAffine scale and shift), in env order.
  const std::vector<int> &tables() const { return tables_; }
  // Per Bias and ChannelAffine op, in op order: the channel count of its
  // ChannelRule, an env field (see the top).
  const std::vector<int64_t> &channelCounts() const { return channelCounts_; }
  llvm::StructType *envType() const { return envType_; }

private:
  struct OpState; // per-op values hoisted out of the loop
  void emitBody();
  std::vector<OpState> prepareOps(llvm::IRBuilder<> &b, llvm::Value *env, llvm::Value *row,
                                  llvm::Value *col);
  llvm::Value *applyOps(llvm::IRBuilder<> &b, llvm::Value *x, llvm::Value *j,
                        const std::vector<OpState> &states);
  llvm::Value *channelIndex(llvm::IRBuilder<> &b, const ChannelRule &rule, llvm::Value *R, llvm::Value *count);

  LlvmGen &gen_;
  std::vector<ir::EpilogueOp> ops_;
  EpilogueLayout layout_;
  std::vector<int> tensors_;
  std::vector<int> tables_;
  std::vector<int64_t> channelCounts_;
  llvm::Function *fn_ = nullptr;
  llvm::StructType *envType_ = nullptr;
  std::optional<RegisterForm> register_;
};

// The env of an epilogue inside one task: an alloca in the task's entry
// block holding the tables and the tensors (captured from the forward
// function); the task sets rowBase before each kernel call.
class EpilogueEnv {
public:
  EpilogueEnv(Task &task, const Epilogue &epilogue);
  void setRowBase(llvm::IRBuilder<> &b, llvm::Value *rowBase);
  // In the register form, the bias from channel `channel` on: a kernel
  // call on one group's channels numbers them from 0 (no code otherwise).
  void setChannelBase(llvm::IRBuilder<> &b, llvm::Value *channel);
  // Arguments for the kernel: the function (or null) and the env (or
  // null); in the register form, null and null, and the seqk_fused.
  llvm::Value *fn() const;
  llvm::Value *env() const;
  llvm::Value *fused() const;

private:
  const Epilogue &epilogue_;
  llvm::LLVMContext &ctx_;
  llvm::AllocaInst *env_ = nullptr;
  llvm::Value *bias_ = nullptr; // the register form's bias, or null
};

// The env of `epilogue` (not in register form) built in the forward
// function, its row base 0, for tasks that share one function whatever
// the epilogue and read its env through a pointer in their closure (it
// lives as long as the forward call; the tasks only read it).
llvm::Value *forwardEpilogueEnv(LlvmGen &gen, const Epilogue &epilogue);

// y[r, :] = epi(y[r, :]) for rows [r0, r1) of a [rows, D] view of y: the
// epilogue of an op whose kernel takes none, applied to the rows the task
// just produced while they are still in cache. No code when it is empty.
void applyEpilogueToRows(Task &task, const Epilogue &epilogue, llvm::Value *y, int64_t D,
                         llvm::Value *r0, llvm::Value *r1);

// The epilogue of node `node` whose output is laid out as rows of
// `rowLength` elements (per-channel tables by the dim-1 channel).
Epilogue rowEpilogue(LlvmGen &gen, int node, int64_t rowLength);

} // namespace seq::codegen
