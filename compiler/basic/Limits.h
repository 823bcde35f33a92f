// Limits: the resource limits seqc enforces, in one place. Input beyond any
// of them gets a located error (exit code 1) instead of an exhausted
// machine; each is far above what a real model needs and is tested in
// tests/lit/robustness/limits-*.test. docs/limits.md explains the numbers.
#pragma once

#include <cstdint>

namespace seq::limits {

// These bound the memory `seqc check` needs to about 1.25 GB whatever the
// input (docs/memory.md has the measurements):
//
// Bytes of one source file: the file itself, comments and white space cost
// 1 to 6 bytes of memory per byte in an ASCII file (the text, 4 bytes per
// line for the line map), up to 14 in any other (its code points for the
// lexer, the code-point map): at most about 250 MB, 500 MB if not ASCII.
constexpr uint64_t kSourceBytes = uint64_t(32) << 20;

// Tokens of one source file. A valid file is parsed without keeping its
// tokens (the direct parser keeps its AST, about 80 bytes per token); a
// file with a syntax error is parsed again by ANTLR to report it, which
// keeps every token and a tree over them, 450 to 540 bytes of memory per
// token: at most about 1.1 GB.
constexpr uint64_t kSourceTokens = 2'000'000;

// Module instances built while checking one file (layers, containers and
// user modules, every comprehension item counted). A short comprehension
// builds many: about 1.5 KB each (a convolution), 300 MB at most.
constexpr uint64_t kModuleInstances = 150'000;

// Operations in one model's traced forward pass (each layer application,
// arithmetic, view or cat; loops unrolled). Nested loops over a few modules
// make many: about 600 bytes (a ReLU) to 2.9 KB (a convolution, its shapes
// and arguments) each, 750 MB at most.
constexpr uint64_t kForwardOps = 200'000;

// Bytes of one model's parameters (float32), and of one layer's: 16 GiB.
constexpr int64_t kParameterBytes = int64_t(16) << 30;

// Bytes of one tensor (input, output or intermediate) per sample: 16 GiB.
constexpr int64_t kTensorBytes = int64_t(16) << 30;

// Bytes of one model's planned workspace, per sample and fixed: 16 GiB
// each. With kTensorBytes, every size macro of the generated header
// (<P>_<INPUT>_ELEMS, <P>_OUTPUT_ELEMS, <P>_WORKSPACE_SIZE) stays within
// int64_t for every batch up to kMaxBatch.
constexpr int64_t kWorkspaceBytes = int64_t(16) << 30;

// The batch every model that compiles supports: (2^63 - 2^34) / 2^34.
constexpr int64_t kMaxBatch = (INT64_MAX - kWorkspaceBytes) / kWorkspaceBytes;

} // namespace seq::limits
