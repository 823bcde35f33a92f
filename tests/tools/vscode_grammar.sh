#!/usr/bin/env bash
# The VS Code grammar test (editors/vscode/test/tokenize.test.js) under
# ctest: skipped (exit 77) when node is absent; installs the two npm
# packages from the lockfile when they are missing.
set -euo pipefail
root="$1"
ext="$root/editors/vscode"
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed; the VS Code grammar test needs node (and npm for its two packages)"
  exit 77
fi
if [ ! -d "$ext/node_modules/vscode-textmate" ] || [ ! -d "$ext/node_modules/vscode-oniguruma" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "FAIL: editors/vscode/node_modules is missing and npm is not installed (run: npm ci --prefix editors/vscode)"
    exit 1
  fi
  (cd "$ext" && npm ci --no-audit --no-fund)
fi
exec node "$ext/test/tokenize.test.js" "$root/examples"
