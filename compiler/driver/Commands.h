// Commands: what each subcommand of seqc does, given its parsed options.
#pragma once

#include "driver/Frontend.h"

#include <string>
#include <vector>

namespace seq::driver {

struct CheckCommand {
  std::vector<std::string> files;
  std::string model;
  std::string weights;
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
  int optLevel = 3;
};

struct RunCommand {
  std::string file, model, weights, output;
  std::vector<std::string> inputs;
  int threads = 0;
  bool noCache = false; // --no-cache: compile, and store nothing
};

// `seqc dump ast|ir|ir-opt|llvm|asm FILE` (also `seqc --emit=...`).
struct DumpCommand {
  std::string what, file, model, target, cpu;
  int optLevel = 3;
};

int runCheck(const CheckCommand &command, const CommonOptions &common);
int runPrint(const PrintCommand &command, const CommonOptions &common);
int runSummary(const SummaryCommand &command, const CommonOptions &common);
int runBuild(const BuildCommand &command, const CommonOptions &common);
int runRun(const RunCommand &command, const CommonOptions &common);
int runDump(const DumpCommand &command, const CommonOptions &common);

} // namespace seq::driver
