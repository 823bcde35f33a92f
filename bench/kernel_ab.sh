#!/bin/bash
# kernel_ab.sh ROUNDS "ARGS" BUILD... : compare builds of bench/kernel_bench.c
# on a host whose CPUs change speed (a shared VM: one vCPU at a time may
# run at half speed for seconds to minutes). Each round runs every build
# once on each CPU in turn (taskset -c 0, 1, ...), alternating, with ARGS
# (e.g. "pointwise 24 32 784 14 14"); prints each build's best GFLOP/s on
# each CPU. Compare builds on the same CPU only. REPS (kernel_bench's best
# of REPS calls) defaults to 100 here; FLUSH=1 passes through.
#
#   bench/kernel_ab.sh 4 "pointwise 128 256 784 14 14" /tmp/kb/old /tmp/kb/new
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 ROUNDS \"KERNEL_BENCH_ARGS\" BUILD..." >&2
  exit 2
fi
rounds=$1 args=$2
shift 2
cpus=$(nproc)
declare -A best
for ((r = 0; r < rounds; ++r)); do
  for ((c = 0; c < cpus; ++c)); do
    for b in "$@"; do
      # shellcheck disable=SC2086 # ARGS is a list of words
      g=$(REPS=${REPS:-100} taskset -c "$c" "$b" $args | grep -o '[0-9.]* GFLOP' | cut -d' ' -f1)
      k="$b@$c"
      best[$k]=$(awk -v a="${best[$k]:-0}" -v b="$g" 'BEGIN { print (b > a) ? b : a }')
    done
  done
done
for b in "$@"; do
  line="$b:"
  for ((c = 0; c < cpus; ++c)); do line="$line  cpu$c ${best[$b@$c]}"; done
  echo "$line GFLOP/s (best of $rounds rounds)"
done
