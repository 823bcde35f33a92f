#!/usr/bin/env python3
"""language_examples.py: every ```seq block of docs/language.md must compile.

Each fenced block tagged `seq` is written to its own file and checked with
`seqc check`; the test fails on the first block that does not check, naming
its line in the page. Blocks tagged otherwise (or untagged) are grammar
sketches and are skipped. A page without any seq block fails too.
Usage: language_examples.py SEQC DOC.md
"""
import os
import subprocess
import sys
import tempfile


def blocks(path):
    """(first line number, text) of each ```seq block."""
    out, current, start = [], None, 0
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            stripped = line.strip()
            if current is None and stripped == "```seq":
                current, start = [], number + 1
            elif current is not None and stripped == "```":
                out.append((start, "".join(current)))
                current = None
            elif current is not None:
                current.append(line)
    return out


def main():
    seqc, doc = sys.argv[1], sys.argv[2]
    found = blocks(doc)
    if not found:
        print(f"error: no ```seq blocks in {doc}")
        return 1
    failures = 0
    with tempfile.TemporaryDirectory(prefix="seqc-doc-") as d:
        for start, text in found:
            path = os.path.join(d, f"line{start}.seq")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            cp = subprocess.run([seqc, "check", path], capture_output=True, text=True)
            if cp.returncode != 0:
                failures += 1
                print(f"FAIL {os.path.basename(doc)}:{start}: the block starting here does not check")
                print(cp.stderr)
            else:
                print(f"ok   {os.path.basename(doc)}:{start}")
    print(f"{len(found) - failures} of {len(found)} blocks check")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
