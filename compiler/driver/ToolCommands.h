// ToolCommands: `seqc graph` and `seqc export torch`, the commands that
// turn a checked model into something for people and other tools.
#pragma once

#include "driver/Frontend.h"

#include <string>

namespace seq::driver {

// seqc graph FILE.seq [--model M] [--stage layers|ir] -o OUT.dot|OUT.gv|OUT.svg|-
struct GraphCommand {
  std::string file, model, stage = "layers", output;
};

// seqc export torch FILE.seq [--model M] -o OUT.py
struct ExportCommand {
  std::string format, file, model, output;
};

int runGraph(const GraphCommand &command, const CommonOptions &common);
int runExport(const ExportCommand &command, const CommonOptions &common);

} // namespace seq::driver
