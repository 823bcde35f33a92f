# SeqInstall: what `cmake --install build --prefix P` puts under P, and the
# CMake package and pkg-config files that let other projects use it:
#   bin/seqc                              the compiler
#   lib/libseqrt.so (+ .so.X.Y)           the runtime, shared
#   lib/libseqrt.a                        the runtime, static (C++ inside)
#   include/seqrt.h (and seqrt.hpp)       the runtime's API
#   lib/cmake/seqc/                       find_package(seqc): seqc::seqc,
#                                         seqc::seqrt, seqc::seqrt_static,
#                                         seqc_add_model()
#   lib/pkgconfig/seqrt.pc                pkg-config seqrt (shared)
#   lib/pkgconfig/seqrt-static.pc         pkg-config seqrt-static
#   share/bash-completion/completions/seqc
# docs/install.md describes each, and how to link.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(seq_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/seqc)

install(TARGETS seqc EXPORT seqcTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS seqrt seqrt_static EXPORT seqcTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")

install(EXPORT seqcTargets NAMESPACE seqc:: DESTINATION ${seq_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/seqcConfig.cmake.in
  ${PROJECT_BINARY_DIR}/seqcConfig.cmake
  INSTALL_DESTINATION ${seq_cmake_dir})
# 0.x: a minor version may change the ABI (SEQRT_ABI_VERSION), so only the
# same major.minor is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/seqcConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/seqcConfig.cmake
  ${PROJECT_BINARY_DIR}/seqcConfigVersion.cmake
  ${CMAKE_CURRENT_LIST_DIR}/seqcAddModel.cmake
  DESTINATION ${seq_cmake_dir})

# pkg-config: prefix-relative (${pcfiledir}), so that --prefix at install
# time and moving the tree afterwards both work.
file(RELATIVE_PATH seq_pc_to_prefix /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
foreach(pc seqrt seqrt-static)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()

install(FILES ${PROJECT_SOURCE_DIR}/editors/bash/seqc
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# Installed into the system's own directories (/usr, /usr/local) by root:
# refresh the loader's cache, so that `cc app.c mlp.o -lseqrt -o app` runs.
install(CODE [[
  if(NOT DEFINED ENV{DESTDIR} OR "$ENV{DESTDIR}" STREQUAL "")
    if(CMAKE_INSTALL_PREFIX MATCHES "^/usr(/local)?/?$")
      find_program(SEQ_LDCONFIG ldconfig PATHS /sbin /usr/sbin)
      if(SEQ_LDCONFIG)
        execute_process(COMMAND ${SEQ_LDCONFIG} RESULT_VARIABLE seq_ldconfig_result
                        ERROR_QUIET)
      endif()
    endif()
  endif()
]])

# Packages of the install tree: `cpack -G TGZ` (and `-G DEB` on Debian,
# with dependencies from dpkg-shlibdeps and an ldconfig trigger), run in
# the build directory; binaries are stripped.
set(CPACK_PACKAGE_NAME seqc)
set(CPACK_PACKAGE_VENDOR seqc)
set(CPACK_PACKAGE_CONTACT "seqc maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Compiler for .seq model definitions to native forward functions, and its runtime libseqrt")
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR TGZ)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
