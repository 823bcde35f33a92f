#!/usr/bin/env bash
# graph_svg.sh SEQC SOURCE_DIR: `seqc graph -o OUT.svg` renders through
# Graphviz (skipped, 77, without dot): an SVG with a node per layer; a
# failing run leaves no file behind.
set -uo pipefail
seqc="$1"
src="$2"
if ! command -v dot >/dev/null; then
  echo "SKIP: Graphviz's dot is not installed (apt-get install graphviz)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
check() { if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; fi; }

"$seqc" graph "$src/examples/lenet5.seq" --model LeNet5 -o "$work/lenet5.svg"; rc=$?
check "graph -o lenet5.svg exits 0" '[ $rc -eq 0 ]'
check "the SVG is an SVG" 'grep -q "<svg" "$work/lenet5.svg"'
check "the SVG has the first convolution with its shape" 'grep -q "0: Conv2d(1, 6" "$work/lenet5.svg" && grep -q "\[N, 6, 28, 28\]" "$work/lenet5.svg"'
"$seqc" graph "$src/examples/resnet_small.seq" --stage ir -o "$work/resnet.svg"; rc=$?
check "graph --stage ir -o resnet.svg exits 0" '[ $rc -eq 0 ] && grep -q "fused:" "$work/resnet.svg"'
"$seqc" graph "$src/examples/errors/net.seq" -o "$work/bad.svg" 2>/dev/null; rc=$?
check "a model with errors exits 1 and writes no SVG" '[ $rc -eq 1 ] && [ ! -e "$work/bad.svg" ]'
check "no temporary file is left" '[ -z "$(ls "$work" | grep tmp)" ]'
echo "tools.graph_svg: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
