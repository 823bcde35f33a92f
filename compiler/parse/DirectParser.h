// DirectParser: stage 0 of parsing (parse/Parser.cpp). A recursive-descent
// parser for grammar/Seq.g4 that builds the AST straight from the
// DirectLexer's tokens, with no token vector and no parse tree: a file
// costs its AST and little more. It builds exactly the AST the AstBuilder
// builds from ANTLR's tree (same nodes, byte ranges and literal
// diagnostics). On anything it is not sure of (a syntax error, a token the
// DirectLexer cannot classify, more tokens than the limit, deep nesting)
// it gives up without a word, and ANTLR's two stages parse the file and
// report its errors as they always have. tests/unit/parse_direct_test.cpp
// checks both parsers against each other.
#pragma once

#include "ast/Ast.h"
#include "basic/Diagnostics.h"

#include <memory>
#include <optional>

namespace seq::parse {

// The AST of `file` (literal diagnostics reported to `diags`), or nullopt
// when the direct parser gives up (nothing reported).
std::optional<std::unique_ptr<ast::File>> parseDirect(const SourceManager &sources, FileId file,
                                                      Diagnostics &diags);

} // namespace seq::parse
