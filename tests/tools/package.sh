#!/usr/bin/env bash
# package.sh BUILD_DIR: `cpack -G TGZ` (and `-G DEB` where dpkg-shlibdeps
# exists) package the install tree: the tarball and the .deb hold seqc, both
# runtimes, the header, the CMake package and the pkg-config files; the .deb
# depends on the shared libraries seqc needs and runs ldconfig.
set -uo pipefail
build="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }
want="bin/seqc lib/libseqrt.so lib/libseqrt.a include/seqrt.h lib/cmake/seqc/seqcConfig.cmake
      lib/pkgconfig/seqrt.pc lib/pkgconfig/seqrt-static.pc share/bash-completion/completions/seqc"

if cpack --config "$build/CPackConfig.cmake" -G TGZ -B "$work/tgz" >"$work/tgz.log" 2>&1; then
  list=$(tar tzf "$work"/tgz/seqc-*.tar.gz)
  for f in $want; do
    if echo "$list" | grep -q "/$f\$"; then ok "tarball holds $f"; else fail "tarball lacks $f"; fi
  done
  if [ "$failed" -ne 0 ]; then
    echo "--- tar tzf:"; echo "$list"; echo "--- cpack -G TGZ:"; cat "$work/tgz.log"
  fi
else
  fail "cpack -G TGZ: $(tail -3 "$work/tgz.log")"
fi

if command -v dpkg-shlibdeps >/dev/null; then
  if cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/deb" >"$work/deb.log" 2>&1; then
    deb=$(ls "$work"/deb/*.deb)
    list=$(dpkg-deb -c "$deb" | awk '{print $6}')
    for f in $want; do
      if echo "$list" | grep -q "^./usr/$f\$"; then ok ".deb holds /usr/$f"; else fail ".deb lacks /usr/$f"; fi
    done
    if dpkg-deb -f "$deb" Depends | grep -q libllvm19; then ok ".deb depends on libllvm19"; else fail ".deb Depends: $(dpkg-deb -f "$deb" Depends)"; fi
    dpkg-deb -e "$deb" "$work/control"
    if grep -q ldconfig "$work/control/postinst"; then ok ".deb runs ldconfig"; else fail ".deb postinst has no ldconfig"; fi
  else
    fail "cpack -G DEB: $(tail -3 "$work/deb.log")"
  fi
fi
echo "install.package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
