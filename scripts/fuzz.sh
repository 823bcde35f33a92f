#!/usr/bin/env bash
# fuzz.sh TARGET SECONDS [libFuzzer args...]: runs one fuzz target
# (frontend, parse, npy, safetensors, torch, models; tests/fuzz) for SECONDS with
# libFuzzer, ASan and UBSan, in the instrumented build scripts/sanitize.sh
# asan uses (build-asan/, configured here with -DSEQ_FUZZ=ON). New inputs
# go to build-asan/fuzz-corpus/TARGET (the committed seeds in
# tests/fuzz/corpus/TARGET are read, never written); crashes to
# build-asan/fuzz-crashes/. Merge a useful new input into the seeds with
#   build-asan/tests/fuzz/fuzz_TARGET -merge=1 tests/fuzz/corpus/TARGET build-asan/fuzz-corpus/TARGET
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 2 ]; then
  echo "usage: fuzz.sh frontend|parse|npy|safetensors|torch|models SECONDS [libFuzzer args...]" >&2
  exit 2
fi
target="$1" seconds="$2"
shift 2
case "$target" in frontend|parse|npy|safetensors|torch|models) ;; *)
  echo "fuzz.sh: unknown target '$target'" >&2; exit 2 ;;
esac
build="${BUILD_DIR:-$root/build-asan}"
# SEQ_FUZZ_NO_BUILD=1 skips configuring and building: for several targets
# at once, build first (one fuzz.sh at a time), then run them side by side.
if [ "${SEQ_FUZZ_NO_BUILD:-0}" != 1 ]; then
  SEQ_CONFIGURE_ONLY=1 BUILD_DIR="$build" "$root/scripts/sanitize.sh" asan
  ninja -C "$build" "fuzz_$target"
fi
corpus="$build/fuzz-corpus/$target"
crashes="$build/fuzz-crashes/$target"
mkdir -p "$corpus" "$crashes"
dict=()
[ -f "$root/tests/fuzz/$target.dict" ] && dict=(-dict="$root/tests/fuzz/$target.dict")
# The parser comparison starts from the front end's seeds and dictionary.
seeds=("$root/tests/fuzz/corpus/$target")
if [ "$target" = parse ]; then
  dict=(-dict="$root/tests/fuzz/frontend.dict")
  seeds+=("$root/tests/fuzz/corpus/frontend")
fi
export LD_LIBRARY_PATH="$(clang-19 -print-resource-dir)/lib/linux${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1:verify_asan_link_order=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Inputs are capped per target: a longer .seq file only repeats what short
# ones reach, and each byte costs parse time (later arguments override).
extra=()
case "$target" in frontend|parse) extra=(-max_len=2048) ;; esac
# A hang is an input that takes minutes of wall time; the models target
# JIT-compiles each input (and a loaded machine runs nice'd fuzzers slowly).
timeout=120
[ "$target" = models ] && timeout=600
timeout="${SEQ_FUZZ_TIMEOUT:-$timeout}"
exec "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$crashes/" -timeout="$timeout" -rss_limit_mb=4096 "${dict[@]}" "${extra[@]}" "$@" \
  "$corpus" "${seeds[@]}"
