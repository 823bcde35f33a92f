// Passes: the rewrites between lowering and codegen, in the order
// runPipeline applies them. Each lives in its own file, its algorithm in the
// comment at the top.
#pragma once

#include "ir/Graph.h"

namespace seq::passes {

// Removes the nodes whose values never reach the output (unused chunk
// pieces, values overwritten before they are read).
void eliminateDeadCode(ir::Graph &g);

// Removes Identity nodes (Identity, Dropout): their readers read the input.
void eliminateIdentity(ir::Graph &g);

// Folds each BatchNorm into the pack step of the Conv2d/Linear before it
// when that is safe; turns the others into a Map with a ChannelAffine
// epilogue and a BatchNormScaleShift pack step.
void foldBatchNorm(ir::Graph &g);

// Moves biases and element-wise ops (Unary, Scalar, Map, same-shape
// Add/Mul) into the epilogue of the Linear, Conv2d or Map producing their
// operand; the Unary and Scalar ops left become Map nodes.
void fuseElementwise(ir::Graph &g);

// Lays out the weights of the convolutions seqk_conv2d_packed computes in
// panels of output channels.
void packConvWeights(ir::Graph &g);
// The weights of the depthwise convolutions on seqk_depthwise2d_lanes in
// panels too (after fuseExpandDepthwise, which decides which those are).
void packDepthwiseWeights(ir::Graph &g);

// Computes each 1x1 expansion convolution inside the depthwise convolution
// reading it, band by band, where that keeps the expanded tensor in L2.
void fuseExpandDepthwise(ir::Graph &g);

// Computes a stem's convolution inside the max pool reading it, band by
// band, so that its output never goes to memory.
void fuseConvMaxPool(ir::Graph &g);

// Computes a per-channel scale (an SE block's x * s) inside the pointwise
// convolution reading the product, by scaling its weights per image.
void fuseChannelScale(ir::Graph &g);

// Gives the output its storage, sizes im2col scratch, and places every
// workspace buffer with an interval allocator.
void planMemory(ir::Graph &g);

// Places the packed tensors in the weight buffer.
void planWeights(ir::Graph &g);

// All of the above, in order, verifying the graph after each in debug builds.
void runPipeline(ir::Graph &g);

} // namespace seq::passes
