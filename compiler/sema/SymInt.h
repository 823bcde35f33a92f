// SymInt: an integer known at compile time up to the batch: `coeff*N + constant`.
// Shapes in the checker are lists of SymInts, so `[N, 64, 28, 28]` viewed as
// `(-1, 25088)` is `[2*N, 25088]`, which the checker can name in its error.
// Arithmetic is overflow-checked: an overflow is an error, never UB.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace seq::sema {

struct SymInt {
  int64_t coeff = 0;    // of the batch
  int64_t constant = 0;

  static SymInt of(int64_t value) { return {0, value}; }
  static SymInt batch() { return {1, 0}; }
  bool isConstant() const { return coeff == 0; }
  bool isBatch() const { return coeff == 1 && constant == 0; }
  bool operator==(const SymInt &) const = default;

  // Each returns nullopt on overflow or when the result is not of the form
  // coeff*N + constant (N*N, N // 2).
  static std::optional<SymInt> add(SymInt a, SymInt b);
  static std::optional<SymInt> sub(SymInt a, SymInt b);
  static std::optional<SymInt> mul(SymInt a, SymInt b);

  std::string str(const std::string &batchName = "N") const;
};

using SymShape = std::vector<SymInt>;

std::string shapeStr(const SymShape &shape, const std::string &batchName = "N");

// The product of all dims; nullopt on overflow or when two dims depend on
// the batch.
std::optional<SymInt> product(const SymShape &shape);

} // namespace seq::sema
