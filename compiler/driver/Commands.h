// Commands: what each subcommand of seqc does, given its parsed options.
#pragma once

#include "codegen/TargetOptions.h"
#include "driver/Frontend.h"

#include <string>
#include <vector>

namespace seq::driver {

struct CheckCommand {
  std::vector<std::string> files;
  std::string model;
  std::string weights;
  std::string stripPrefix;
};

struct PrintCommand {
  std::string file, model, style = "pytorch";
};

struct SummaryCommand {
  std::string file, model;
  int64_t batch = 1;
  bool params = false;
};

struct BuildCommand {
  std::string file, model, output, header, weights, target, cpu, emit = "obj";
  std::string stripPrefix;
  std::string prefix; // empty: the model's name in lower case
  int optLevel = codegen::TargetOptions::kDefaultOptLevel;
  std::string sanitize; // --sanitize thread (a developer option), or empty
  bool noCache = false; // --no-cache: compile the pooled kernels afresh, store nothing
};

// Without --weights: random weights from --seed; without --input: random
// inputs of batch 1 from --seed; without --output: a summary on stdout.
struct RunCommand {
  std::string file, model, weights, stripPrefix, output;
  std::vector<std::string> inputs;
  int threads = 0;
  bool noCache = false; // --no-cache: compile, and store nothing
  std::string sanitize; // --sanitize thread: needs a ThreadSanitizer seqc
  uint64_t seed = 0;
  int profile = 0; // --profile N: each layer's median time over N more calls
};

// `seqc dump ast|ir|ir-opt|llvm|asm FILE` (also `seqc --emit=...`).
struct DumpCommand {
  std::string what, file, model, target, cpu;
  int optLevel = codegen::TargetOptions::kDefaultOptLevel;
};

int runCheck(const CheckCommand &command, const CommonOptions &common);
int runPrint(const PrintCommand &command, const CommonOptions &common);
int runSummary(const SummaryCommand &command, const CommonOptions &common);
int runBuild(const BuildCommand &command, const CommonOptions &common);
int runRun(const RunCommand &command, const CommonOptions &common);
int runDump(const DumpCommand &command, const CommonOptions &common);

} // namespace seq::driver
