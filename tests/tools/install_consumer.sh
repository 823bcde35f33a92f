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
         lib/pkgconfig/seqrt.pc lib/pkgconfig/seqrt-static.pc \
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
for app in app app_static; do
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

finish
fi
hand="$work/hand"
mkdir -p "$hand"
cp "$src/examples/cmake-consumer/app.c" "$src/examples/cmake-consumer/mlp.seq" "$hand/"
n=0
while IFS= read -r line; do
  case "$line" in "" | \#*) continue ;; esac
  n=$((n + 1))
  # P= in the README is the reader's choice; the test's prefix stands in.
  case "$line" in P=*) line="P=$P" ;; esac
  echo "$line" >>"$hand/script.sh"
  case "$line" in
    cc\ *) echo './app >/dev/null || { echo "FAILED TO RUN after: '"${line//\'/}"'"; exit 1; }; rm -f app' >>"$hand/script.sh" ;;
  esac
done <<<"$lines"
if (cd "$hand" && env -u PKG_CONFIG_PATH bash -e script.sh) >"$work/hand.log" 2>&1; then
  ok "README.md's link lines ($n lines) build programs that run"
else
  fail "README.md's link lines: $(tail -5 "$work/hand.log")"
fi

finish
