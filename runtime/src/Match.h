// Match.h: matching a weights file against a model's parameter table.
#pragma once

#include "WeightsFile.h"
#include "Status.h"
#include "seqrt.h"

#include <string>
#include <vector>

namespace seq::rt {

struct Problem {
  seqrt_problem_kind kind;
  std::string tensor; // "" when the problem concerns the whole file
  std::string message;

  bool isError() const { return kind != SEQRT_PROBLEM_UNEXPECTED; }
};

// Every problem with `file` as the weights of `model` (validated): the
// missing tensors and those of the wrong shape or dtype, in the order of
// the model's parameters, then the tensors the model does not have (but
// not `*num_batches_tracked`), in the order of the file. When none of the
// model's names is in the file but every name in the file carries one
// prefix (DDP's "module.") that, stripped, gives the model's names: that
// one SEQRT_PROBLEM_PREFIX problem instead, its `tensor` the prefix.
std::vector<Problem> matchModel(const seqrt_model &model,
                                const WeightsFile &file);

// The problem that a failure to parse a file (`error`) amounts to.
Problem problemFromError(const Error &error);

// Throws an Error listing every error among `problems`, one per line, with
// the status of the first one; warnings alone do not throw.
void throwIfErrors(const std::vector<Problem> &problems);

} // namespace seq::rt
