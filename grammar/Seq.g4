// Seq.g4: the grammar of the .seq model-definition language, version 1
// (../shared/LANGUAGE.md). Statements end at a newline, a ';' or a closing
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

definition : kind=(MODEL | MODULE) name=NAME LPAREN paramList? RPAREN
             ( '=' body=expr | block ) ;

paramList  : param (',' param)* ','? ;
param      : name=NAME ':' typeExpr ('=' defaultValue=expr)? ;

// `int`, `(int, int)`, and tensor shapes `[N, 3, 32, 32]` / `f32[N, 3]`.
typeExpr   : elem=NAME? LBRACK (expr (',' expr)* ','?)? RBRACK   # shapeType
           | NAME                                            # namedType
           | LPAREN typeExpr (',' typeExpr)* ','? RPAREN          # tupleType
           ;

// ---- Statements ----------------------------------------------------------

block      : '{' sep? (stmt (sep stmt)* sep?)? '}' ;
sep        : (NEWLINE | ';')+ ;

stmt       : FORWARD LPAREN (NAME (',' NAME)* ','?)? RPAREN block   # forwardStmt
           | RETURN expr                                      # returnStmt
           | FOR var=NAME IN expr block                       # forStmt
           | target=NAME '=' expr                             # assignStmt
           | expr                                             # exprStmt
           ;

// ---- Expressions (Python's precedence) ----------------------------------

expr       : expr '.' NAME                                    # attrExpr
           | expr LPAREN argList? RPAREN                            # callExpr
           | expr LBRACK subscript RBRACK                           # indexExpr
           | <assoc=right> expr op='**' expr                  # binaryExpr
           | op=('-' | '+') expr                              # unaryExpr
           | expr op=('*' | '/' | '//' | '%') expr            # binaryExpr
           | expr op=('+' | '-') expr                         # binaryExpr
           | atom                                             # atomExpr
           ;

atom       : NAME                                             # nameAtom
           | INT                                              # intAtom
           | FLOAT                                            # floatAtom
           | STRING                                           # stringAtom
           | (TRUE | FALSE)                                   # boolAtom
           | NONE                                             # noneAtom
           | LPAREN expr compFor RPAREN                             # generatorAtom
           | LPAREN expr RPAREN                                     # parenAtom
           | LPAREN (expr ',' (expr (',' expr)* ','?)?)? RPAREN     # tupleAtom
           | LBRACK expr compFor RBRACK                             # listCompAtom
           | LBRACK (expr (',' expr)* ','?)? RBRACK                 # listAtom
           ;

compFor    : FOR var=NAME IN expr ;

argList    : arg (',' arg)* ','? ;
arg        : NAME '=' expr                                    # keywordArg
           | expr compFor                                     # generatorArg
           | expr                                             # positionalArg
           ;

subscript  : expr                                             # indexSubscript
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

NAME    : [A-Za-z_] [A-Za-z0-9_]* ;
FLOAT   : DIGITS '.' DIGITS? EXPONENT?
        | '.' DIGITS EXPONENT?
        | DIGITS EXPONENT
        ;
INT     : DIGITS ;
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
