#!/usr/bin/env bash
# test.sh: installs what is missing, builds, and runs every test (unit,
# lit golden tests, end-to-end and PyTorch parity) under ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
