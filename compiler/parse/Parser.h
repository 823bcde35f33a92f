// Parser: turns a source file into an AST. Wraps the ANTLR-generated parser;
// syntax errors (with recovery, several per run) go to Diagnostics. This
// folder is the only place that sees generated code or ANTLR exceptions.
#pragma once

#include "ast/Ast.h"
#include "basic/Diagnostics.h"

#include <memory>

namespace seq::parse {

// Deepest bracket/operator nesting accepted; deeper input gets a located
// error instead of a stack overflow.
constexpr unsigned kMaxNestingDepth = 256;

// Parses `file`. Returns the AST, or nullptr when the file has syntax errors
// (all of them reported). An integer literal too large for 64 bits is
// reported and kept in the AST as an IntExpr marked `tooLarge`.
std::unique_ptr<ast::File> parseFile(const SourceManager &sources, FileId file,
                                     Diagnostics &diags);

} // namespace seq::parse
