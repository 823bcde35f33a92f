#!/usr/bin/env bash
# install_system_prefix.sh BUILD_DIR SOURCE_DIR: INTERFACE.md's one-line
# link, `cc app.c mlp.o -lseqrt -o app`, works after `cmake --install build`
# into the default prefix (/usr/local): the install refreshes the loader's
# cache. Run in a private mount namespace, with a tmpfs on /usr/local and a
# copy of /etc, so that the machine is left as it was. Needs root and
# unshare; skipped (77) otherwise. $CC, when set, stands in for `cc`
# (scripts/sanitize.sh sets it: under tsan, `seqc build` instruments mlp.o,
# which then links only into a -fsanitize=thread program).
set -uo pipefail
build="$1"
src="$2"
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
  echo "SKIP: needs root and unshare -m (a private mount namespace)"
  exit 77
fi
work=$(mktemp -d /tmp/seqc-sysprefix-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$src/examples/cmake-consumer/app.c" "$src/examples/cmake-consumer/mlp.seq" "$work/"
cp -a /etc "$work/etc"
unshare -m bash -euc '
  mount --make-rprivate /
  mount -t tmpfs tmpfs /usr/local
  mount --bind "$1/etc" /etc
  cmake --install "$2" >/dev/null
  cd "$1"
  seqc build mlp.seq -o mlp.o
  ${CC:-cc} app.c mlp.o -lseqrt -o app
  ./app
' _ "$work" "$build"
status=$?
if [ $status -eq 0 ]; then
  echo "install.system_prefix: 1 passed, 0 failed"
else
  echo "install.system_prefix: 0 passed, 1 failed (exit $status)"
fi
exit $status
