# cross.cmake: the aarch64 cross-compilation test, included from
# tests/e2e/CMakeLists.txt (which defines SEQ_E2E_PYTHON and e2e_args).
# seqc build --target aarch64-linux-gnu: the object's ELF header and symbols;
# then, with aarch64-linux-gnu-g++ and qemu-aarch64 (scripts/setup.sh
# installs them), Tiny, LeNet5 and ResNetSmall linked statically against a
# cross-compiled libseqrt and run under qemu against PyTorch. Without the
# toolchain the run step is reported as skipped (the test still passes);
# exits 77 (skipped) when torch cannot be imported.
add_test(NAME parity.cross.aarch64
  COMMAND ${SEQ_E2E_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cross_aarch64.py ${e2e_args}
  WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(parity.cross.aarch64 PROPERTIES
  TIMEOUT 300
  SKIP_RETURN_CODE 77
  LABELS "e2e;parity;cross"
  ENVIRONMENT "OMP_NUM_THREADS=1;PYTHONDONTWRITEBYTECODE=1;XDG_CACHE_HOME=${CMAKE_CURRENT_BINARY_DIR}/cache")
