# SeqAntlr.cmake: generate the C++ parser from grammar/Seq.g4 into the build
# tree. Debian's antlr4_generate() helper does not work with its 4.7.2 jar,
# so the tool is called directly.
find_program(ANTLR4_TOOL antlr4 REQUIRED)

function(seq_antlr_generate grammar outdir out_sources)
  get_filename_component(name ${grammar} NAME_WE)
  set(generated
    ${outdir}/${name}Lexer.cpp ${outdir}/${name}Parser.cpp
    ${outdir}/${name}Visitor.cpp ${outdir}/${name}BaseVisitor.cpp)
  add_custom_command(
    OUTPUT ${generated}
    COMMAND ${ANTLR4_TOOL} -Dlanguage=Cpp -visitor -no-listener
            -Xexact-output-dir -package seq::antlr -o ${outdir} ${grammar}
    DEPENDS ${grammar}
    COMMENT "Generating the parser from ${name}.g4")
  set(${out_sources} ${generated} PARENT_SCOPE)
endfunction()
