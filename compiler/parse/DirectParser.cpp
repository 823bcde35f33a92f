// DirectParser: grammar/Seq.g4 by recursive descent, straight into the AST
// (see DirectParser.h): definitions and statements here, expressions in
// DirectExpr.cpp. Each function names the rule it mirrors; the AST it
// builds is AstBuilder.cpp's, node for node.
#include "parse/DirectParser.h"

#include "parse/DirectParserImpl.h"

namespace seq::parse {

namespace direct {

// ---- Definitions ---------------------------------------------------------------

// definition : kind=(MODEL | MODULE | DEF) name=NAME LPAREN paramList? RPAREN
//              ( '=' body=expr block? | block ) ;
std::unique_ptr<Definition> DirectParser::definition() {
  auto def = std::make_unique<Definition>();
  uint32_t begin = cur_.begin;
  if (cur_.kind != Tok::Model && cur_.kind != Tok::Module && cur_.kind != Tok::Def)
    throw GiveUp{};
  def->isModel = cur_.kind == Tok::Model;
  def->isDef = cur_.kind == Tok::Def;
  advance();
  std::tie(def->name, def->nameRange) = name();
  expect(Tok::LParen);
  // paramList : param (',' param)* ','? ;
  if (cur_.kind != Tok::RParen) {
    def->params.push_back(param());
    while (cur_.kind == Tok::Comma) {
      advance();
      if (cur_.kind == Tok::RParen)
        break;
      def->params.push_back(param());
    }
  }
  expect(Tok::RParen);
  if (cur_.kind == Tok::Assign) {
    advance();
    def->expr = expr(0);
    if (cur_.kind == Tok::LBrace)
      def->body = block(); // a container subclass's forward
  } else {
    def->hasBody = true;
    def->body = block();
  }
  def->range = from(begin);
  return def;
}

// param : name=NAME (':' typeExpr)? ('=' defaultValue=expr)? ;
DefParam DirectParser::param() {
  DefParam param;
  std::tie(param.name, param.nameRange) = name();
  if (cur_.kind == Tok::Colon) {
    advance();
    param.type = typeExpr();
  } else {
    param.type.kind = TypeExpr::Kind::None;
    param.type.range = param.nameRange;
  }
  if (cur_.kind == Tok::Assign) {
    advance();
    param.defaultValue = expr(0);
  }
  return param;
}

// typeExpr : elem=NAME? LBRACK (expr (',' expr)* ','?)? RBRACK   # shapeType
//          | (NAME | MODULE)                                      # namedType
//          | LPAREN typeExpr (',' typeExpr)* ','? RPAREN          # tupleType
TypeExpr DirectParser::typeExpr() {
  Deeper deeper(depth_);
  TypeExpr type;
  uint32_t begin = cur_.begin;
  if (cur_.kind == Tok::LBrack || (cur_.kind == Tok::Name && next_.kind == Tok::LBrack)) {
    type.kind = TypeExpr::Kind::Shape;
    if (cur_.kind == Tok::Name) {
      type.name = std::string(text(cur_));
      advance();
    }
    advance(); // [
    if (cur_.kind != Tok::RBrack) {
      type.dims.push_back(expr(0));
      while (cur_.kind == Tok::Comma) {
        advance();
        if (cur_.kind == Tok::RBrack)
          break;
        type.dims.push_back(expr(0));
      }
    }
    expect(Tok::RBrack);
    type.dims.shrink_to_fit();
  } else if (cur_.kind == Tok::Name || cur_.kind == Tok::Module) {
    type.kind = TypeExpr::Kind::Named;
    type.name = std::string(text(cur_));
    advance();
  } else if (cur_.kind == Tok::LParen) {
    type.kind = TypeExpr::Kind::Tuple;
    advance();
    type.elements.push_back(typeExpr());
    while (cur_.kind == Tok::Comma) {
      advance();
      if (cur_.kind == Tok::RParen)
        break;
      type.elements.push_back(typeExpr());
    }
    expect(Tok::RParen);
  } else {
    throw GiveUp{};
  }
  type.range = from(begin);
  return type;
}

// ---- Statements ------------------------------------------------------------------

// block : '{' sep? (stmt (sep stmt)* sep?)? '}' ;
std::vector<StmtPtr> DirectParser::block() {
  Deeper deeper(depth_);
  std::vector<StmtPtr> stmts;
  expect(Tok::LBrace);
  skipSeps();
  while (cur_.kind != Tok::RBrace) {
    stmts.push_back(stmt());
    if (cur_.kind == Tok::RBrace)
      break;
    if (!isSep(cur_.kind))
      throw GiveUp{};
    skipSeps();
  }
  advance();
  return stmts;
}

StmtPtr DirectParser::stmt() {
  uint32_t begin = cur_.begin;
  switch (cur_.kind) {
  case Tok::Forward: return forwardStmt(begin);
  case Tok::Return: {
    advance();
    ExprPtr value = expr(0);
    return std::make_unique<ReturnStmt>(from(begin), std::move(value));
  }
  case Tok::For: return forStmt(begin);
  case Tok::If: return ifChain(begin, false);
  default: return simpleStmt(begin);
  }
}

// FORWARD LPAREN (NAME (',' NAME)* ','?)? RPAREN block   # forwardStmt
StmtPtr DirectParser::forwardStmt(uint32_t begin) {
  advance();
  expect(Tok::LParen);
  std::vector<Param> params;
  while (cur_.kind == Tok::Name) {
    auto [n, r] = name();
    params.push_back({std::move(n), r});
    if (cur_.kind != Tok::Comma)
      break;
    advance();
  }
  expect(Tok::RParen);
  std::vector<StmtPtr> body = block();
  return std::make_unique<ForwardStmt>(from(begin), std::move(params), std::move(body));
}

// FOR loopTarget (',' loopTarget)* IN expr block   # forStmt
StmtPtr DirectParser::forStmt(uint32_t begin) {
  advance();
  uint32_t varsBegin = cur_.begin;
  std::vector<AssignTarget> unpack;
  unpack.push_back(loopTarget());
  while (cur_.kind == Tok::Comma) {
    advance();
    unpack.push_back(loopTarget());
  }
  SourceRange vars = from(varsBegin);
  expect(Tok::In);
  ExprPtr iterable = expr(0);
  std::vector<StmtPtr> body = block();
  const AssignTarget *first = &unpack.front();
  while (!first->nested.empty())
    first = &first->nested.front();
  auto stmt = std::make_unique<ForStmt>(from(begin), first->name, vars, std::move(iterable),
                                        std::move(body));
  if (unpack.size() > 1 || !unpack.front().nested.empty())
    stmt->unpack = std::move(unpack);
  return stmt;
}

// loopTarget : NAME | LPAREN loopTarget (',' loopTarget)* ','? RPAREN ;
AssignTarget DirectParser::loopTarget() {
  Deeper deeper(depth_);
  uint32_t begin = cur_.begin;
  if (cur_.kind == Tok::Name) {
    auto [n, r] = name();
    return {std::move(n), r, {}};
  }
  expect(Tok::LParen);
  AssignTarget group{"", {}, {}};
  group.nested.push_back(loopTarget());
  while (cur_.kind == Tok::Comma) {
    advance();
    if (cur_.kind == Tok::RParen)
      break;
    group.nested.push_back(loopTarget());
  }
  expect(Tok::RParen);
  group.range = from(begin);
  return group;
}

// IF expr block elseClause?   # ifStmt
// elseClause : NEWLINE? (ELSE IF | ELIF) expr block elseClause?
//            | NEWLINE? ELSE block ;
// An `else if` is an IfStmt whose range is its condition and block, as
// AstBuilder::buildIf makes it; `begin` is the condition's start there.
StmtPtr DirectParser::ifChain(uint32_t begin, bool elseIf) {
  Deeper deeper(depth_);
  if (!elseIf)
    advance(); // if
  ExprPtr cond = expr(0);
  std::vector<StmtPtr> then = block();
  SourceRange own = from(begin);
  std::vector<StmtPtr> orElse;
  bool newlineElse = cur_.kind == Tok::Newline && (next_.kind == Tok::Else || next_.kind == Tok::Elif);
  if (newlineElse)
    advance();
  if (cur_.kind == Tok::Elif || (cur_.kind == Tok::Else && next_.kind == Tok::If)) {
    advance();
    if (cur_.kind == Tok::If)
      advance();
    orElse.push_back(ifChain(cur_.begin, true));
  } else if (cur_.kind == Tok::Else) {
    advance();
    orElse = block();
  }
  SourceRange r = elseIf ? own : from(begin);
  return std::make_unique<IfStmt>(r, std::move(cond), std::move(then), std::move(orElse));
}

// An assignment target: a name, or an expression the checker reports.
static void setTarget(AssignStmt &stmt, ExprPtr target) {
  if (auto *n = target->as<NameExpr>())
    stmt.target = n->name();
  else
    stmt.targetExpr = std::move(target);
}

// expr (',' expr)+ ','? '=' value=expr                       # unpackStmt
// target=expr '=' value=expr                                 # assignStmt
// target=expr op=('+=' | '-=' | '*=' | '/=') value=expr      # augAssignStmt
// expr                                                       # exprStmt
StmtPtr DirectParser::simpleStmt(uint32_t begin) {
  ExprPtr first = expr(0);
  if (cur_.kind == Tok::Comma) {
    std::vector<AssignTarget> names;
    auto addTarget = [&](ExprPtr e) {
      std::string n;
      if (auto *name = e->as<NameExpr>())
        n = name->name();
      else
        diags_.error(e->range, "only names can be unpacked into: 'a, b = x.chunk(2, dim=1)'");
      names.push_back({std::move(n), e->range, {}});
    };
    addTarget(std::move(first));
    while (cur_.kind == Tok::Comma) {
      advance();
      if (cur_.kind == Tok::Assign && names.size() > 1)
        break; // a trailing comma
      addTarget(expr(0));
    }
    SourceRange all = SourceRange::cover(names.front().range, names.back().range);
    expect(Tok::Assign);
    ExprPtr value = expr(0);
    auto stmt = std::make_unique<AssignStmt>(from(begin), "", all, std::move(value));
    stmt->unpack = std::move(names);
    return stmt;
  }
  Tok op = cur_.kind;
  bool aug = op == Tok::PlusEq || op == Tok::MinusEq || op == Tok::StarEq || op == Tok::SlashEq;
  if (op == Tok::Assign || aug) {
    advance();
    ExprPtr value = expr(0);
    auto stmt = std::make_unique<AssignStmt>(from(begin), "", first->range, std::move(value));
    if (aug)
      stmt->augOp = binaryOp(op);
    setTarget(*stmt, std::move(first));
    return stmt;
  }
  return std::make_unique<ExprStmt>(from(begin), std::move(first));
}

} // namespace direct

std::optional<std::unique_ptr<ast::File>> parseDirect(const SourceManager &sources, FileId file,
                                                 Diagnostics &diags) {
  std::string_view text = sources.text(file);
  if (SourceManager::firstInvalidUtf8(text))
    return std::nullopt; // ANTLR's decoding decides
  // Literal diagnostics wait here until the whole file has parsed: giving
  // up must leave no trace.
  Diagnostics held(sources);
  held.setErrorLimit(~0u);
  std::unique_ptr<ast::File> ast;
  try {
    ast = direct::DirectParser(text, file, held).file();
  } catch (const direct::GiveUp &) {
    return std::nullopt;
  }
  for (const Diagnostic &d : held.all()) {
    Diagnostic &copy = d.severity == Severity::Error ? diags.error(d.range, d.message)
                                                     : diags.warning(d.range, d.message);
    copy.notes = d.notes;
    copy.fixes = d.fixes;
  }
  return ast;
}

} // namespace seq::parse
