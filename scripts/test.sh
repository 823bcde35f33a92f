#!/usr/bin/env bash
# test.sh: installs what is missing, builds, and runs every test (unit,
# lit golden tests, end-to-end and PyTorch parity) under ctest, then the
# unit and lit tests under ASan + UBSan.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
(cd "$build" && ctest --output-on-failure -j "$(nproc)" "$@")
# Then the unit tests and the lit tests again under ASan + UBSan, in
# build-asan/ (docs/robustness.md, "Does the ASan job fit in .ci/run?"):
# 6.5 minutes (Intel Xeon) to 16 (Zen 3, before its kernels' UBSan
# exemption) from a cold cache on 2 cores. SEQ_SKIP_ASAN=1 skips them.
if [ "${SEQ_SKIP_ASAN:-0}" != 1 ]; then
  BUILD_DIR="$root/build-asan" SEQ_SANITIZE_TARGETS="seqc seq_unit_tests" \
    bash "$root/scripts/sanitize.sh" asan -R '^lit$|^[A-Z][A-Za-z0-9]*\.'
fi
