#!/usr/bin/env bash
# The bash completion script (editors/bash/seqc, installed as
# share/bash-completion/completions/seqc): completes commands, options,
# option values, models of the .seq file on the line, and files by kind.
root="$1"
# shellcheck source=/dev/null
source "$root/editors/bash/seqc"
passed=0 failed=0

# complete WORDS... : runs _seqc with the cursor on the last word.
complete_line() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _seqc 2>/dev/null
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() {
  local want="$1"
  shift
  local got
  got=$(complete_line "$@")
  if [ "$got" = "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: '$*' completes to '$got', expected '$want'"
  fi
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
printf 'model Alpha(x: [N, 4]) = Linear(4, 2)\nmodel Beta(x: [N, 4]) = ReLU()\n' > two.seq
touch w.safetensors w.pth in.npy notes.txt other.seq

expect "graph" seqc gr
expect "check" seqc ch
expect "--model" seqc build two.seq --mo
expect "Alpha Beta" seqc build two.seq --model ""
expect "Alpha" seqc graph two.seq --model A
expect "ir layers" seqc graph two.seq --stage ""
expect "torch" seqc export ""
expect "obj" seqc build two.seq --emit o
expect "ir ir-opt" seqc dump ir
expect "json text" seqc check two.seq --diagnostics ""
expect "w.pth w.safetensors" seqc run two.seq --weights w
expect "in.npy" seqc run two.seq --input ""
expect "other.seq two.seq" seqc check ""
expect "w.pth" seqc convert ""
expect "--strip-prefix" seqc convert w.pth --str

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
