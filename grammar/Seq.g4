// Seq.g4: the grammar of the .seq model-definition language, versions 1 and
// 2 (docs/language.md). Statements end at a newline, a ';' or a closing
// '}'; inside '(' ')' and '[' ']' newlines are skipped, as in Python.
grammar Seq;

@lexer::members {
  // Depth of open '(' and '['; newlines inside them are not separators.
  int bracketDepth_ = 0;
}

// ---- Definitions -------------------------------------------------------

// One way only to split separators between definitions: `(definition | sep)*`
// let a run of N separators split N ways, and prediction took O(N^2) time.
file       : sep? (definition sep?)* EOF ;

// `model`, `module` and `def`; `= EXPR { forward... }` is a container
// subclass with its own forward.
definition : kind=(MODEL | MODULE | DEF) name=NAME LPAREN paramList? RPAREN
             ( '=' body=expr block? | block ) ;

paramList  : param (',' param)* ','? ;
param      : name=NAME (':' typeExpr)? ('=' defaultValue=expr)? ;

// `int`, `(int, int)`, and tensor shapes `[N, 3, 32, 32]` / `f32[N, 3]`.
typeExpr   : elem=NAME? LBRACK (expr (',' expr)* ','?)? RBRACK   # shapeType
           | (NAME | MODULE)                                  # namedType
           | LPAREN typeExpr (',' typeExpr)* ','? RPAREN          # tupleType
           ;

// ---- Statements ----------------------------------------------------------

block      : '{' sep? (stmt (sep stmt)* sep?)? '}' ;
sep        : (NEWLINE | ';')+ ;

stmt       : FORWARD LPAREN (NAME (',' NAME)* ','?)? RPAREN block   # forwardStmt
           | RETURN expr                                      # returnStmt
           | FOR loopTarget (',' loopTarget)* IN expr block    # forStmt
           | IF expr block elseClause?                        # ifStmt
           | expr (',' expr)+ ','? '=' value=expr             # unpackStmt
           | target=expr '=' value=expr                       # assignStmt
           | target=expr op=('+=' | '-=' | '*=' | '/=') value=expr   # augAssignStmt
           | expr                                             # exprStmt
           ;

// `else if` (or Python's `elif`) chains, then an optional `else`; the
// `else` may start the next line.
elseClause : NEWLINE? (ELSE IF | ELIF) expr block elseClause?
           | NEWLINE? ELSE block
           ;

// ---- Expressions (Python's precedence) ----------------------------------

expr       : expr '.' NAME                                    # attrExpr
           | expr LPAREN argList? RPAREN                            # callExpr
           | expr LBRACK subscript (',' subscript)* ','? RBRACK     # indexExpr
           | <assoc=right> expr op='**' expr                  # binaryExpr
           | op=('-' | '+') expr                              # unaryExpr
           | expr op=('*' | '/' | '//' | '%') expr            # binaryExpr
           | expr op=('+' | '-') expr                         # binaryExpr
           | expr compOp expr                                 # compareExpr
           | NOT expr                                         # notExpr
           | expr op=AND expr                                 # boolExpr
           | expr op=OR expr                                  # boolExpr
           | <assoc=right> expr IF expr ELSE expr             # ternaryExpr
           | atom                                             # atomExpr
           ;

compOp     : '<' | '>' | '==' | '>=' | '<=' | '!=' | IS NOT? | NOT? IN ;

atom       : NAME                                             # nameAtom
           | INT                                              # intAtom
           | FLOAT                                            # floatAtom
           | STRING                                           # stringAtom
           | FSTRING                                          # fstringAtom
           | (TRUE | FALSE)                                   # boolAtom
           | NONE                                             # noneAtom
           | LPAREN expr compFor RPAREN                             # generatorAtom
           | LPAREN expr RPAREN                                     # parenAtom
           | LPAREN (expr ',' (expr (',' expr)* ','?)?)? RPAREN     # tupleAtom
           | LBRACK expr compFor RBRACK                             # listCompAtom
           | LBRACK (expr (',' expr)* ','?)? RBRACK                 # listAtom
           ;

compFor    : FOR var=NAME IN expr ;

// A loop variable, or a parenthesised group that unpacks an element:
// `for i, (cin, cout) in enumerate(cfg)`.
loopTarget : NAME                                             # nameTarget
           | LPAREN loopTarget (',' loopTarget)* ','? RPAREN  # groupTarget
           ;

argList    : arg (',' arg)* ','? ;
arg        : NAME '=' expr                                    # keywordArg
           | '*' expr                                         # starArg
           | expr compFor                                     # generatorArg
           | expr                                             # positionalArg
           ;

subscript  : expr                                             # indexSubscript
           | ELLIPSIS                                         # ellipsisSubscript
           | lo=expr? ':' hi=expr? (':' step=expr?)?          # sliceSubscript
           ;

// ---- Tokens ----------------------------------------------------------------

MODEL   : 'model' ;
MODULE  : 'module' ;
FORWARD : 'forward' ;
RETURN  : 'return' ;
FOR     : 'for' ;
IN      : 'in' ;
TRUE    : 'true' | 'True' ;
FALSE   : 'false' | 'False' ;
NONE    : 'None' ;
IF      : 'if' ;
ELSE    : 'else' ;
ELIF    : 'elif' ;
AND     : 'and' ;
OR      : 'or' ;
NOT     : 'not' ;
IS      : 'is' ;
DEF     : 'def' ;
ELLIPSIS : '...' ;

NAME    : [A-Za-z_] [A-Za-z0-9_]* ;
FLOAT   : DIGITS '.' DIGITS? EXPONENT?
        | '.' DIGITS EXPONENT?
        | DIGITS EXPONENT
        ;
INT     : DIGITS ;
// f"block{i + 1}": the fields are parsed by the AST builder.
FSTRING : [fF] '"' (~["\\\r\n] | '\\' ~[\r\n])* '"'
        | [fF] '\'' (~['\\\r\n] | '\\' ~[\r\n])* '\''
        ;
STRING  : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"'
        | '\'' (~['\\\r\n] | '\\' ~[\r\n])* '\''
        ;

// A string that the line ends inside of: one token, reported once.
UNTERMINATED_STRING
        : '"' (~["\\\r\n] | '\\' ~[\r\n])*
        | '\'' (~['\\\r\n] | '\\' ~[\r\n])*
        ;

LPAREN  : '(' { bracketDepth_++; } ;
RPAREN  : ')' { if (bracketDepth_ > 0) bracketDepth_--; } ;
LBRACK  : '[' { bracketDepth_++; } ;
RBRACK  : ']' { if (bracketDepth_ > 0) bracketDepth_--; } ;

// One token for a run of line ends, blank lines and comment lines (a token
// per comment line made long comment blocks slow to parse).
NEWLINE : ('\r'? '\n' [ \t\f]* ('#' ~[\r\n]*)?)+ { if (bracketDepth_ > 0) skip(); } ;
COMMENT : '#' ~[\r\n]* -> skip ;
WS      : [ \t\f]+ -> skip ;
LINE_CONTINUATION : '\\' '\r'? '\n' -> skip ;

// Anything else is reported by the parser as an unexpected character.
UNKNOWN : . ;

fragment DIGITS   : [0-9]+ ;
fragment EXPONENT : [eE] [+-]? DIGITS ;
