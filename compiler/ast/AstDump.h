// AstDump: prints the AST as an indented tree with source locations
// (`seqc dump ast`, `--emit=ast`), for golden tests and debugging.
#pragma once

#include "ast/Ast.h"

#include <string>

namespace seq::ast {

std::string dump(const File &file, const SourceManager &sources);

} // namespace seq::ast
