// LayerRules: the helpers the layer table's entries share (argument
// checks, shape rules, reprs), internal to Layers.cpp and LayersV2.cpp.
#pragma once

#include "sema/Layers.h"

namespace seq::sema::rules {

// Default values as the table writes them.
Value I(int64_t v);
Value F(double v);
Value B(bool v);
Value S(const char *v);
Value None();

// "(5, 5)" or "(3,)", as Python prints a tuple of ints.
std::string tupleStr(const std::vector<int64_t> &v);
// An argument as Python's str() prints it.
std::string str(const BoundArgs &a, std::string_view arg);
// A pool's stride, which is its kernel size when None.
std::string strideOrKernel(const BoundArgs &a);

void positive(const ArgCheck &c, std::string_view arg, size_t n = 1);
void nonNegative(const ArgCheck &c, std::string_view arg, size_t n = 1);
void validatePool(const ArgCheck &c);

// False (with a problem reported) unless the input has lo..hi dims.
bool requireRank(ShapeCheck &s, size_t lo, size_t hi, const char *form);
// One spatial dimension of a convolution or pooling window; nullopt (with
// a problem reported) when it does not fit or slides over the batch.
std::optional<int64_t> slide(ShapeCheck &s, const char *dim, SymInt inSym, int64_t kernel,
                             int64_t stride, int64_t padBegin, int64_t padEnd, int64_t dilation,
                             bool ceilMode = false);
std::optional<SymShape> inferPool(ShapeCheck &s, bool hasDilation);
std::optional<SymShape> inferAdaptivePool(ShapeCheck &s);

std::vector<LayerSpec> makeTable();
// LayersV2.cpp: the layers version 2 of the language adds.
void addVersion2Layers(std::vector<LayerSpec> &t);
// LayersV2More.cpp: GroupNorm, PReLU, ConvTranspose2d, Upsample.
void addVersion2WeightedLayers(std::vector<LayerSpec> &t);

} // namespace seq::sema::rules
