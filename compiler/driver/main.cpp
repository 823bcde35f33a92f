// seqc's driver (temporary minimal version while the stages land).
#include "ast/AstDump.h"
#include "basic/Diagnostics.h"
#include "parse/Parser.h"

#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  std::ifstream in(argv[argc - 1], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  seq::SourceManager sm;
  seq::FileId id = sm.addFile(argv[argc - 1], ss.str());
  seq::Diagnostics diags(sm);
  auto file = seq::parse::parseFile(sm, id, diags);
  if (file)
    std::cout << seq::ast::dump(*file, sm);
  std::cerr << diags.render({});
  return diags.hasErrors() ? 1 : 0;
}
