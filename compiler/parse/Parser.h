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

// Which parsers run. By default the direct parser (parse/DirectParser.h)
// parses every valid file, and ANTLR's two stages run only when it gives up
// (they report the syntax errors). The other two are for the tests that
// compare the parsers: ANTLR's stages alone (the reference), or the direct
// parser alone (nullptr and no diagnostic when it gives up).
enum class ParserStages { Default, AntlrOnly, DirectOnly };

// Parses `file`. Returns the AST, or nullptr when the file has syntax errors
// (all of them reported). An integer literal too large for 64 bits is
// reported and kept in the AST as an IntExpr marked `tooLarge`.
std::unique_ptr<ast::File> parseFile(const SourceManager &sources, FileId file,
                                     Diagnostics &diags,
                                     ParserStages stages = ParserStages::Default);

} // namespace seq::parse
