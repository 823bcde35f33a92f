// NodeGen: code for each node kind, called by LlvmGen::emitForward in
// execution order. Each emits its task function(s) and, in the forward
// function, the calls that run them. One file per op family:
//   NodeGenGemm.cpp         Linear (and 1x1 convolutions of 1x1 images)
//   NodeGenConv.cpp         Conv2d (packed, direct, GEMM, im2col, depthwise)
//   NodeGenWindow.cpp       Pad, pools, Softmax, LayerNorm
//   NodeGenElementwise.cpp  Map (Unary, Scalar, lowered BatchNorm), Binary,
//                           Concat, Copy/Reshape
//   NodeGenShape.cpp        Permute, Slice, Reduce
//   NodeGenLayersV2.cpp     GroupNorm, PRelu, Upsample, ConvTranspose2d
// Epilogues: Linear, Conv2d and Map (what FuseElementwise fuses into) run
// theirs inside the kernel; the other kinds apply theirs to the rows a
// task produced, right after the op (applyEpilogueToRows).
#pragma once

#include "codegen/LlvmGen.h"

namespace seq::codegen {

// An array of i64 constants in the module (node `index`'s symbol `what`),
// for a kernel's loop bounds or a table of tasks: after inlining, loads
// at constant indices fold to constants.
llvm::Value *constantArray(LlvmGen &gen, int index, const char *what, const std::vector<int64_t> &values);

void genLinear(LlvmGen &gen, int node);
// M rows of K inputs -> rows of N outputs, on the node's weight [N, K]
// (packed in panels, or transposed): a Linear, or a 1x1 convolution of
// 1x1 images (a squeeze-and-excitation block's), whose [M, C, 1, 1]
// tensors are M rows of C. Its epilogue runs once per row of outputs.
void genRowsGemm(LlvmGen &gen, int node, int64_t K, int64_t N, llvm::Value *M);
void genConv2d(LlvmGen &gen, int node);
void genPad(LlvmGen &gen, int node);
void genPool(LlvmGen &gen, int node);
void genSoftmax(LlvmGen &gen, int node);
void genLayerNorm(LlvmGen &gen, int node);
void genMap(LlvmGen &gen, int node);
void genBinary(LlvmGen &gen, int node);
void genConcat(LlvmGen &gen, int node);
void genCopy(LlvmGen &gen, int node);
void genPermute(LlvmGen &gen, int node);
void genSlice(LlvmGen &gen, int node);
void genReduce(LlvmGen &gen, int node);
void genGroupNorm(LlvmGen &gen, int node);
void genPRelu(LlvmGen &gen, int node);
void genUpsample(LlvmGen &gen, int node);
void genConvTranspose(LlvmGen &gen, int node);

} // namespace seq::codegen
