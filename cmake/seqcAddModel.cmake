# seqc_add_model: compiles a .seq model into an object file and a C header
# at build time, and adds both to a target.
#
#   seqc_add_model(<target> SOURCE <file.seq> [MODEL <name>] [WEIGHTS <file>]
#                  [PREFIX <name>] [OPTIONS <seqc build flags>...])
#
# - The model is compiled by `seqc build` when the target is built, and again
#   when the .seq file, the weights file or seqc itself changes.
# - The header is `<name>.h`, where <name> is PREFIX, else MODEL in lower
#   case, else the .seq file's name without extension; its directory is
#   added to the target's include path. PREFIX is passed as `--prefix`.
# - The object is linked into the target, and so is seqc::seqrt unless the
#   target already links seqc::seqrt_static (link it before calling this to
#   get the static runtime).
# - WEIGHTS compiles the weights into the object (`--weights`); OPTIONS are
#   passed to `seqc build` as they are (e.g. -O2, --cpu x86-64-v3).
# The executable is seqc::seqc, or SEQC_EXECUTABLE when set (an in-tree
# build can point it at its own seqc target's file).
function(seqc_add_model target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SOURCE;MODEL;WEIGHTS;PREFIX" "OPTIONS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "seqc_add_model: unknown arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "seqc_add_model: '${target}' is not a target")
  endif()
  if(NOT arg_SOURCE)
    message(FATAL_ERROR "seqc_add_model(${target}): SOURCE <file.seq> is required")
  endif()

  get_filename_component(source ${arg_SOURCE} ABSOLUTE)
  if(arg_PREFIX)
    set(name ${arg_PREFIX})
  elseif(arg_MODEL)
    string(TOLOWER ${arg_MODEL} name)
  else()
    get_filename_component(name ${source} NAME_WE)
  endif()

  set(dir ${CMAKE_CURRENT_BINARY_DIR}/seqc_models/${target})
  set(object ${dir}/${name}${CMAKE_C_OUTPUT_EXTENSION})
  if(NOT CMAKE_C_OUTPUT_EXTENSION)
    set(object ${dir}/${name}.o)
  endif()
  set(header ${dir}/${name}.h)

  if(SEQC_EXECUTABLE)
    set(seqc ${SEQC_EXECUTABLE})
  else()
    set(seqc $<TARGET_FILE:seqc::seqc>)
  endif()
  set(command ${seqc} build ${source} -o ${object} --header ${header})
  set(depends ${source} ${seqc})
  if(arg_MODEL)
    list(APPEND command --model ${arg_MODEL})
  endif()
  if(arg_PREFIX)
    list(APPEND command --prefix ${arg_PREFIX})
  endif()
  if(arg_WEIGHTS)
    get_filename_component(weights ${arg_WEIGHTS} ABSOLUTE)
    list(APPEND command --weights ${weights})
    list(APPEND depends ${weights})
  endif()
  list(APPEND command ${arg_OPTIONS})

  add_custom_command(OUTPUT ${object} ${header}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${command}
    DEPENDS ${depends}
    COMMENT "seqc: compiling ${arg_SOURCE} to ${name}.o and ${name}.h"
    VERBATIM)
  set_source_files_properties(${object} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  target_sources(${target} PRIVATE ${object} ${header})
  target_include_directories(${target} PRIVATE ${dir})

  # set_property, not target_link_libraries: it works whichever signature
  # (plain or keyword) the caller uses for the target.
  get_target_property(links ${target} LINK_LIBRARIES)
  if(NOT "seqc::seqrt_static" IN_LIST links AND NOT "seqc::seqrt" IN_LIST links)
    set_property(TARGET ${target} APPEND PROPERTY LINK_LIBRARIES seqc::seqrt)
  endif()
endfunction()
