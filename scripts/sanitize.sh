#!/usr/bin/env bash
# sanitize.sh [asan|tsan] [ctest args...]: builds seqc, libseqrt, the
# kernels' native test build and the tests with clang-19 sanitizers in a
# separate build directory (build-asan/ or build-tsan/), then runs ctest.
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer, every error fatal
#   tsan  ThreadSanitizer (the thread-pool and concurrency tests matter most)
# The runtime, the compiler, the native kernels and the tests are
# instrumented; under tsan the code seqc generates is too (SEQC_SANITIZE=thread:
# every `seqc build` and `seqc run` of the suite instruments the forward and
# its kernels, docs/robustness.md), under asan it is not.
# SEQ_SANITIZE_TARGETS="t1 t2" builds only those ninja targets (then pass
# ctest a -R filter for the tests they make), e.g. the thread tests alone:
#   SEQ_SANITIZE_TARGETS=seq_unit_tests scripts/sanitize.sh tsan -R 'Concurrency|Thread|LastError'
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kind="${1:-asan}"
shift || true
case "$kind" in
  asan)
    # vptr and function need RTTI/type signatures that LLVM's libraries and
    # JIT-compiled code do not carry: they would only give false reports.
    # fuzzer-no-link: the same build links the libFuzzer targets (fuzz.sh).
    flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize=vptr,function -fno-sanitize-recover=all"
    # allocator_may_return_null: malloc of a huge size fails as it does in a
    # normal build (the runtime reports SEQRT_ERR_OUT_OF_MEMORY); a failing
    # operator new still aborts with a report.
    # use_sigaltstack=0: LLVM's signal handlers (registered on the thread
    # that builds or JIT-runs a model) replace a thread's
    # alternate signal stack with one of
    # their own, from malloc, when ASan's is smaller than MINSIGSTKSZ + 64 KiB
    # (79,040 bytes with AVX-512's signal frame); at thread exit ASan then
    # munmaps that malloc'd stack and dies ("failed to deallocate 0x134c0
    # bytes ... error code: 22": parity.cross.aarch64 and
    # parity.differential on this AMD EPYC machine). LLVM's stack is
    # enough for ASan's reports.
    # exitcode=23: a report is never mistaken for seqc's exit code 1 (bad
    # input), which many tests expect; ASan's default is 1.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:verify_asan_link_order=0:allocator_may_return_null=1:use_sigaltstack=0:exitcode=23}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=23}"
    export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/scripts/lsan.supp:print_suppressions=0}"
    ;;
  tsan)
    flags="-fsanitize=thread"
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:allocator_may_return_null=1}"
    # The generated forward instrumented too (seqc build|run --sanitize
    # thread); SEQC_SANITIZE= (empty) leaves it alone.
    export SEQC_SANITIZE="${SEQC_SANITIZE-thread}"
    ;;
  *)
    echo "usage: sanitize.sh [asan|tsan] [ctest args...]" >&2
    exit 2
    ;;
esac
build="${BUILD_DIR:-$root/build-$kind}"
flags="$flags -fno-omit-frame-pointer -g"
# libseqrt.so links with --no-undefined: the sanitizer runtime must be the
# shared one, in the library and in every program alike.
link="$flags -shared-libsan"
export LD_LIBRARY_PATH="$(clang-19 -print-resource-dir)/lib/linux${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[ "${SEQ_CONFIGURE_ONLY:-0}" = 1 ] || "$root/scripts/setup.sh"
start=$(date +%s)
# CPU seconds of the children that have finished (the build, then the
# tests): what the run costs, whatever else loads the machine.
child_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($16 + $17) / hz }' "/proc/$$/stat"; }
# The end-to-end tests link C programs against the instrumented libseqrt:
# they use this compiler (tests/e2e reads $CC).
mkdir -p "$build"
# So do the install tests' CMake consumers, in C and C++ alike.
printf '#!/bin/sh\nexec clang-19 %s "$@"\n' "$link" > "$build/cc-sanitized"
printf '#!/bin/sh\nexec clang++-19 %s "$@"\n' "$link" > "$build/cxx-sanitized"
chmod +x "$build/cc-sanitized" "$build/cxx-sanitized"
export CC="$build/cc-sanitized" CXX="$build/cxx-sanitized"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$link" -DCMAKE_SHARED_LINKER_FLAGS="$link" \
  -DSEQ_FUZZ="$([ "$kind" = asan ] && echo ON || echo OFF)" >/dev/null
# fuzz.sh configures through here (SEQ_CONFIGURE_ONLY=1) and builds one target.
[ "${SEQ_CONFIGURE_ONLY:-0}" = 1 ] && exit 0
# shellcheck disable=SC2086 # a list of targets
ninja -C "$build" -j "$(nproc)" ${SEQ_SANITIZE_TARGETS:-}
built=$(date +%s)
built_cpu=$(child_cpu)
cd "$build"
# Instrumented code runs 2 to 5 times slower (more on a loaded machine): the
# tests' own timeouts are scaled, by 4 unless SEQ_SANITIZE_TIMEOUT_SCALE says.
scale="${SEQ_SANITIZE_TIMEOUT_SCALE:-4}"
find . -name CTestTestfile.cmake -exec perl -pi -e \
  "s/TIMEOUT \"(\\d+)\"/'TIMEOUT \"' . (\$1 * $scale) . '\"'/ge" {} +
status=0
ctest --output-on-failure -j "$(nproc)" "$@" || status=$?
echo "sanitize.sh $kind: build $((built - start)) s ($built_cpu CPU s)," \
  "tests $(( $(date +%s) - built )) s ($(( $(child_cpu) - built_cpu )) CPU s)"
exit $status
