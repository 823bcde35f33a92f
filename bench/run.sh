#!/usr/bin/env bash
# run.sh: the benchmark's entry point. Installs what the peers need (Debian's
# OpenBLAS for PyTorch, onnxruntime-node into bench/node_modules), then runs
# bench.py, which times seqc, PyTorch and ONNX Runtime and writes
# bench/results.json. Not a test. Arguments go to bench.py, e.g.
#   bench/run.sh --models lenet5,mlp_big --min-time 0.5
# BUILD_DIR (default: build) is where seqc and libseqrt were built.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${BUILD_DIR:-$root/build}"

install_openblas() {
  dpkg -s libopenblas0-openmp >/dev/null 2>&1 && return
  if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: libopenblas0-openmp is missing and this is not root;" \
         "PyTorch will run on the reference BLAS" >&2
    return
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-openmp
}

install_ort() {
  [ -d "$here/node_modules/onnxruntime-node" ] && return
  # --ignore-scripts: the install script downloads a binary (blocked); the
  # CPU build ships inside the package.
  (cd "$here" && npm install --ignore-scripts --no-audit --no-fund)
}

install_openblas
install_ort
exec /usr/bin/python3 "$here/bench.py" --build "$build" "$@"
