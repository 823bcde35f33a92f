// Literals: the AST of one literal token (integer, float, string, f-string)
// from its text, with the literal's own diagnostics (an integer too large,
// a float out of range, a bad f-string field). Shared by the AstBuilder
// (ANTLR's tree) and the DirectParser, so that both say the same.
#pragma once

#include "ast/Ast.h"
#include "basic/Diagnostics.h"

#include <string_view>

namespace seq::parse {

// `text` is the token's text as written, `range` its bytes in the file.
ast::ExprPtr intLiteral(std::string_view text, SourceRange range, Diagnostics &diags);
ast::ExprPtr floatLiteral(std::string_view text, SourceRange range, Diagnostics &diags);
ast::ExprPtr stringLiteral(std::string_view text, SourceRange range);
ast::ExprPtr fstringLiteral(std::string_view text, SourceRange range, Diagnostics &diags);

} // namespace seq::parse
