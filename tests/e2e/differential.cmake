# differential.cmake: the differential test (random models, seqc against
# PyTorch), included from tests/e2e/CMakeLists.txt. 60 models of seed 1 plus
# 8 invalid variants; exits 77 (skipped) when torch cannot be imported.
add_test(NAME parity.differential
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/differential.py
          --seqc $<TARGET_FILE:seqc> --seed 1 --count 60)
set_tests_properties(parity.differential PROPERTIES
  TIMEOUT 600
  SKIP_RETURN_CODE 77
  LABELS "parity"
  ENVIRONMENT "OMP_NUM_THREADS=1;PYTHONDONTWRITEBYTECODE=1;XDG_CACHE_HOME=${CMAKE_CURRENT_BINARY_DIR}/cache")

# 30 more models of seed 2 with each register tiling of the kernels forced
# (KernelLibrary.h: the narrow one is x86 without AVX-512's), so that both
# are checked against PyTorch whatever the host.
foreach(tiles narrow wide)
  add_test(NAME parity.differential.${tiles}
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/differential.py
            --seqc $<TARGET_FILE:seqc> --seed 2 --count 30 --no-invalid)
  set_tests_properties(parity.differential.${tiles} PROPERTIES
    TIMEOUT 600
    SKIP_RETURN_CODE 77
    LABELS "parity"
    ENVIRONMENT "SEQC_KERNEL_TILES=${tiles};OMP_NUM_THREADS=1;PYTHONDONTWRITEBYTECODE=1;XDG_CACHE_HOME=${CMAKE_CURRENT_BINARY_DIR}/cache")
endforeach()
