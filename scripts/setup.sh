#!/usr/bin/env bash
# setup.sh: installs the Debian 12 packages seqc needs to build and test,
# skipping what is already there (a warm machine stays fast). Run as root.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  antlr4 libantlr4-runtime-dev          # the grammar tool and its C++ runtime
  llvm-19-dev llvm-19-tools clang-19    # LLVM, lit/FileCheck, clang for the kernel bitcode
  libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev
  python3-torch python3-numpy python3-torchvision   # the PyTorch parity tests and the zoo (/usr/bin/python3)
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user   # the cross-compilation test
  graphviz                              # seqc graph -o OUT.svg, and its test
)

# The VS Code grammar test's two npm packages (editors/vscode/package-lock.json),
# where node and npm are installed; without node that test is skipped.
install_npm_packages() {
  local ext
  ext="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/editors/vscode"
  if command -v npm >/dev/null 2>&1 && [ -f "$ext/package-lock.json" ] &&
     [ ! -d "$ext/node_modules/vscode-textmate" ]; then
    echo "setup: npm ci in editors/vscode"
    (cd "$ext" && npm ci --no-audit --no-fund >/dev/null) || echo "setup: npm ci failed (the grammar test will retry)"
  fi
}
install_npm_packages

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages are installed"
  exit 0
fi
echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (or install these packages by hand)" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
