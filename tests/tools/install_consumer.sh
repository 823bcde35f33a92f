#!/usr/bin/env bash
# install_consumer.sh BUILD_DIR SOURCE_DIR: the install tree and the CMake
# package, as a user of an installed seqc meets them.
#  1. `cmake --install BUILD --prefix P` installs every file docs/install.md lists;
#  2. examples/cmake-consumer (a copy) configures against P with
#     find_package(seqc), builds (seqc runs at build time), and both programs
#     run; the static one needs no libseqrt.so;
#  3. touching mlp.seq rebuilds the model; a no-op build does nothing;
#  4. the link lines of README.md's "Linking by hand" block run as written,
#     and each program runs.
set -uo pipefail
build="$1"
src="$2"
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }
finish() {
  echo "install.consumer: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

work=$(mktemp -d /tmp/seqc-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
P="$work/prefix"

# 1. The install tree.
if ! cmake --install "$build" --prefix "$P" >"$work/install.log" 2>&1; then
  fail "cmake --install: $(tail -5 "$work/install.log")"
  finish
fi
for f in bin/seqc lib/libseqrt.so lib/libseqrt.a include/seqrt.h \
         lib/cmake/seqc/seqcConfig.cmake lib/cmake/seqc/seqcConfigVersion.cmake \
         lib/cmake/seqc/seqcTargets.cmake lib/cmake/seqc/seqcAddModel.cmake \
         lib/pkgconfig/seqrt.pc lib/pkgconfig/seqrt-static.pc include/seqrt.hpp \
         share/bash-completion/completions/seqc; do
  if [ -e "$P/$f" ]; then ok "installed $f"; else fail "not installed: $f"; fi
done
if "$P/bin/seqc" --version >/dev/null; then ok "installed seqc runs"; else fail "installed seqc does not run"; fi
if nm -D --defined-only "$P/lib/libseqrt.so" | awk '{print $3}' | grep -v '^seqrt_' | grep -q .; then
  fail "libseqrt.so exports symbols other than seqrt_*"
else
  ok "libseqrt.so exports only seqrt_*"
fi

# 2. The consumer project, built against the installed tree only.
cp -r "$src/examples/cmake-consumer" "$work/consumer"
cb="$work/consumer-build"
if cmake -S "$work/consumer" -B "$cb" -G Ninja -DCMAKE_PREFIX_PATH="$P" >"$work/configure.log" 2>&1 &&
   cmake --build "$cb" >"$work/build.log" 2>&1; then
  ok "examples/cmake-consumer configures and builds against $P"
else
  fail "cmake-consumer: $(tail -15 "$work/configure.log" "$work/build.log" 2>/dev/null)"
  finish
fi
for app in app app_static app_cpp; do
  if out=$("$cb/$app" 2>&1); then ok "$app runs: $(echo "$out" | head -1)"; else fail "$app: $out"; fi
done
if ldd "$cb/app_static" | grep -q libseqrt; then
  fail "app_static needs libseqrt.so: $(ldd "$cb/app_static" | grep libseqrt)"
else
  ok "app_static does not need libseqrt.so"
fi
if (cd "$cb" && ctest --output-on-failure >/dev/null 2>&1); then ok "the consumer's ctest passes"; else fail "the consumer's ctest"; fi

# 3. Rebuilt when the .seq file changes, and only then.
noop=$(cmake --build "$cb" -- -n 2>&1)
if echo "$noop" | grep -q "seqc: compiling"; then
  fail "a no-op build runs seqc again"
else
  ok "a no-op build does not run seqc"
fi
sleep 1
sed -i 's/Linear(16, 32), ReLU(), Linear(32, 4)/Linear(16, 8), ReLU(), Linear(8, 4)/' "$work/consumer/mlp.seq"
rebuild=$(cmake --build "$cb" 2>&1)
if echo "$rebuild" | grep -q "seqc: compiling mlp.seq"; then
  ok "changing mlp.seq recompiles the model"
else
  fail "changing mlp.seq does not recompile the model"
fi
if "$cb/app" >/dev/null 2>&1; then ok "app runs after the change"; else fail "app after the change"; fi

# 4. The link lines of README.md and docs/install.md, as written: the
# ```sh block after each <!-- link-lines --> marker. P= is the reader's
# choice (the test's prefix stands in) and the tree is installed there already
# (step 1), so `cmake --install` lines are skipped.
run_link_lines() { # FILE
  local doc="$1" lines hand n=0 line
  lines=$(awk '/<!-- link-lines -->/{f=1; next} f && /^```sh/{g=1; next} g && /^```/{exit} g' "$src/$doc")
  if [ -z "$lines" ]; then
    fail "$doc has no link-lines block"
    return
  fi
  hand="$work/hand-${doc//\//_}"
  mkdir -p "$hand"
  cp "$src/examples/cmake-consumer/app.c" "$src/examples/cmake-consumer/mlp.seq" "$hand/"
  # $CC, when set, stands in for `cc` (scripts/sanitize.sh sets it: an
  # instrumented libseqrt links only with the sanitizer's runtime).
  echo 'if [ -n "${CC:-}" ]; then cc() { $CC "$@"; }; fi' >"$hand/script.sh"
  while IFS= read -r line; do
    case "$line" in "" | \#* | "cmake --install "*) continue ;; P=*) line="P=$P" ;; esac
    n=$((n + 1))
    echo "$line" >>"$hand/script.sh"
    case "$line" in
      cc\ *) echo "./app >/dev/null || { echo 'the program built by line $n does not run'; exit 1; }; rm -f app" \
               >>"$hand/script.sh" ;;
    esac
  done <<<"$lines"
  if (cd "$hand" && env -u PKG_CONFIG_PATH bash -e script.sh) >"$hand/log" 2>&1; then
    ok "$doc's link lines ($n commands) build programs that run"
  else
    fail "$doc's link lines: $(tail -5 "$hand/log")"
  fi
}
run_link_lines README.md
run_link_lines docs/install.md

# 5. Two models named MLP in one program (PREFIX), one with its weights
# compiled in (WEIGHTS); editing the weights file rebuilds the model.
two_models() {
  local two="$work/two" tb="$work/two-build" out
  mkdir -p "$two/a" "$two/b"
  echo 'model MLP(x: [N, 4]) = Sequential(Linear(4, 3), Tanh())' >"$two/a/mlp.seq"
  echo 'model MLP(x: [N, 4]) = Sequential(Linear(4, 2), ReLU())' >"$two/b/mlp.seq"
  write_weights() { # BIAS0
    /usr/bin/python3 - "$two/b.safetensors" "$1" "$src/tests/e2e" <<'PY'
import sys
sys.path.insert(0, sys.argv[3])
import numpy as np
import safetensors_io
safetensors_io.save({"0.weight": np.array([[1, 2, 3, 4], [-1, -1, -1, -1]], np.float32),
                     "0.bias": np.array([float(sys.argv[2]), -0.5], np.float32)}, sys.argv[1])
PY
  }
  write_weights 0.5 || { fail "writing b.safetensors (numpy needed)"; return; }
  cat >"$two/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(two LANGUAGES C)
find_package(seqc REQUIRED)
add_executable(two two.c)
seqc_add_model(two SOURCE a/mlp.seq PREFIX mlp_a)
seqc_add_model(two SOURCE b/mlp.seq MODEL MLP PREFIX mlp_b WEIGHTS b.safetensors OPTIONS -O1)
CM
  cat >"$two/two.c" <<'C'
#include "mlp_a.h"
#include "mlp_b.h"
#include <stdio.h>
int main(void) {
  float x[4] = {1, 1, 1, 1}, ya[3], yb[2];
  seqrt_weights *w = NULL;
  seqrt_context *ctx = NULL;
  if (seqrt_weights_random(&mlp_a_model, 1, &w) != SEQRT_OK ||
      seqrt_context_new(1, (size_t)(MLP_A_WORKSPACE_SIZE(1) + MLP_B_WORKSPACE_SIZE(1)), &ctx) != SEQRT_OK)
    return fprintf(stderr, "%s\n", seqrt_last_error()), 1;
  if (mlp_a_forward(w, x, ya, 1, ctx) != SEQRT_OK || mlp_b_forward(NULL, x, yb, 1, ctx) != SEQRT_OK)
    return fprintf(stderr, "%s\n", seqrt_last_error()), 1;
  printf("%s %s %g %g\n", mlp_a_model.name, mlp_b_model.name, yb[0], yb[1]);
  seqrt_context_free(ctx);
  seqrt_weights_free(w);
  return 0;
}
C
  if ! cmake -S "$two" -B "$tb" -G Ninja -DCMAKE_PREFIX_PATH="$P" >"$work/two.log" 2>&1 ||
     ! cmake --build "$tb" >>"$work/two.log" 2>&1; then
    fail "two models with PREFIX: $(tail -8 "$work/two.log")"
    return
  fi
  out=$("$tb/two" 2>&1)
  if [ "$out" = "MLP MLP 10.5 0" ]; then ok "two models named MLP in one program (PREFIX mlp_a, mlp_b): $out"
  else fail "two models: '$out', expected 'MLP MLP 10.5 0'"; fi
  sleep 1
  write_weights 1.5
  out=$(cmake --build "$tb" 2>&1)
  if echo "$out" | grep -q "seqc: compiling b/mlp.seq" && [ "$("$tb/two")" = "MLP MLP 11.5 0" ]; then
    ok "editing the WEIGHTS file recompiles the model with the new weights"
  else
    fail "after editing b.safetensors: $("$tb/two" 2>&1)"
  fi
}
build_help=$("$P/bin/seqc" build --help 2>&1)
if echo "$build_help" | grep -q -- "--prefix"; then
  two_models
else
  echo "  skip  two models with PREFIX: this seqc has no --prefix yet"
fi

finish
