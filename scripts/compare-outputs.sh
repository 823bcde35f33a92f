#!/usr/bin/env bash
# compare-outputs.sh OLD_SEQC NEW_SEQC: runs `check`, `print`, `summary`,
# `dump ast` and `dump ir-opt` with both binaries on every lit test,
# example and front-end fuzz corpus input (tests/fuzz/corpus/frontend and
# parse), and lists the outputs (stdout, stderr and exit code) that differ.
# For changes that must not change what seqc says (a memory layout, a
# refactoring). Two jobs at `nice -n 19`; about 10 to 20 minutes on two
# loaded cores. Exit 0 when every output is identical.
set -u
old=$(realpath "$1") new=$(realpath "$2")
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/old" "$out/new"
{ find "$root/tests/lit" "$root/examples" -name '*.seq'
  find "$root/tests/fuzz/corpus/frontend" "$root/tests/fuzz/corpus/parse" -type f; } | sort > "$out/inputs"
run() { # BINARY TAG FILE
  local key
  key=$(printf '%s' "$3" | md5sum | cut -c1-16)
  [ "$2" = old ] && echo "$key $3" >>"$out/keys"
  for cmd in check print summary "dump ast" "dump ir-opt"; do
    # shellcheck disable=SC2086 # the subcommand's words
    timeout 120 "$1" $cmd "$3" >"$out/$2/$key.${cmd// /_}.out" 2>"$out/$2/$key.${cmd// /_}.err" </dev/null
    echo "exit $?" >>"$out/$2/$key.${cmd// /_}.err"
  done
}
export -f run
export out old new
nice -n 19 xargs -d '\n' -P 2 -I{} bash -c 'run "$old" old "$1"; run "$new" new "$1"' _ {} < "$out/inputs"
echo "$(wc -l < "$out/inputs") inputs, 5 commands each"
differ=$(diff -rq "$out/old" "$out/new" | sed -n 's|^Files .*/old/\([0-9a-f]*\)\.\([a-z_-]*\)\..*|\1 \2|p')
if [ -z "$differ" ]; then
  echo "every output identical"
  exit 0
fi
echo "outputs differ (command, input):"
while read -r key cmd; do
  echo "  $cmd $(grep "^$key " "$out/keys" | cut -d' ' -f2-)"
done <<< "$differ"
exit 1
