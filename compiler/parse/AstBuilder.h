// AstBuilder: ANTLR parse tree -> AST, with byte-accurate source ranges.
// Literal errors (an integer too large for 64 bits) are reported here, in
// source order (parse/Literals.h). The DirectParser builds the same AST
// without a parse tree; this is the reference it is tested against.
#pragma once

#include "ast/Ast.h"
#include "basic/Diagnostics.h"
#include "parse/TokenMap.h"

#include "SeqParser.h"

namespace seq::parse {

class AstBuilder {
public:
  // `text` is the file's text, as the SourceManager keeps it.
  AstBuilder(const TokenMap &tokens, std::string_view text, Diagnostics &diags)
      : tokens_(tokens), text_(text), diags_(diags) {}

  std::unique_ptr<ast::File> buildFile(antlr::SeqParser::FileContext *ctx);

private:
  using P = antlr::SeqParser;

  std::unique_ptr<ast::Definition> buildDefinition(P::DefinitionContext *ctx);
  ast::TypeExpr buildType(P::TypeExprContext *ctx);
  std::vector<ast::StmtPtr> buildBlock(P::BlockContext *ctx);
  ast::StmtPtr buildStmt(P::StmtContext *ctx);
  ast::ExprPtr buildExpr(P::ExprContext *ctx);
  ast::ExprPtr buildAtom(P::AtomContext *ctx);
  ast::ExprPtr buildComprehension(SourceRange range, P::ExprContext *element,
                                  P::CompForContext *compFor);
  ast::ExprPtr buildSubscript(P::SubscriptContext *ctx);
  ast::AssignTarget buildLoopTarget(P::LoopTargetContext *ctx);
  std::vector<ast::Arg> buildArgs(P::ArgListContext *ctx);
  std::vector<ast::ExprPtr> buildExprs(const std::vector<P::ExprContext *> &ctxs);

  ast::ExprPtr buildCompare(P::CompareExprContext *ctx);
  ast::StmtPtr buildIf(SourceRange r, P::ExprContext *cond, P::BlockContext *then,
                       P::ElseClauseContext *orElse);

  SourceRange range(antlr4::ParserRuleContext *ctx) const { return tokens_.range(ctx); }
  SourceRange range(antlr4::Token *token) const { return tokens_.range(token); }

  const TokenMap &tokens_;
  std::string_view text_;
  Diagnostics &diags_;
};

} // namespace seq::parse
