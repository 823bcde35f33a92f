#!/usr/bin/env bash
# demo.sh: the main job. Installs what is missing and builds seqc, then:
# checks and summarises a bundled example, shows the shape error seqc
# catches in seed 002's network, compiles LeNet-5 to an object file and a
# header, links it with a small C program against libseqrt, and runs it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" >/dev/null
seqc="$build/compiler/seqc"
out="$build/demo"
mkdir -p "$out"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "seqc check examples/lenet5.seq"
"$seqc" check "$root/examples/lenet5.seq" && echo "ok: no errors"

step "seqc summary examples/lenet5.seq --model LeNet5 --batch 4"
"$seqc" summary "$root/examples/lenet5.seq" --model LeNet5 --batch 4

step "seqc check examples/errors/net.seq   (seed 002's network, as published)"
"$seqc" check "$root/examples/errors/net.seq" || echo "(exit code $?: the errors above are caught at compile time)"

step "seqc build examples/lenet5.seq --model LeNet5 -o $out/lenet5.o"
"$seqc" build "$root/examples/lenet5.seq" --model LeNet5 -o "$out/lenet5.o"
ls -l "$out/lenet5.o" "$out/lenet5.h"

step "cc examples/demo/main.c lenet5.o -lseqrt && ./demo"
cc -O2 -I"$out" -I"$root/runtime/include" "$root/examples/demo/main.c" "$out/lenet5.o" \
   -L"$build/runtime" -lseqrt -Wl,-rpath,"$build/runtime" -o "$out/demo"
"$out/demo"
