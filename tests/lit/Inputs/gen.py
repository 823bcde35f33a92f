"""Write generated .seq inputs for the robustness tests, reproducibly.

usage: gen.py KIND OUT [N]
  garbage  N random bytes from a fixed-seed generator (default 65536)
  parens   a shape dimension inside N nested parentheses (default 100000)
  longline a valid model followed by a comment of N bytes (default 10 MB)
  longname forward returns an unknown name N bytes long (default 10 MB)
  children a Sequential of N ReLU() children, one per line
  forward  a forward of N statements
"""
import random
import sys

kind, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else None
with open(out, "wb") as f:
    if kind == "garbage":
        rng = random.Random(20240601)
        f.write(bytes(rng.randrange(256) for _ in range(n or 65536)))
    elif kind == "parens":
        n = n or 100000
        f.write(b"model M(x: [N, " + b"(" * n + b"6" + b")" * n + b"]) = Sequential(ReLU())\n")
    elif kind == "longline":
        f.write(b"model M(x: [N, 6]) = Sequential(ReLU())  # " + b"a" * (n or 10_000_000) + b"\n")
    elif kind == "longname":
        f.write(b"model M(x: [N, 6]) {\n    forward(x) {\n        return "
                + b"a" * (n or 10_000_000) + b"\n    }\n}\n")
    elif kind == "children":
        f.write(b"model M(x: [N, 6]) = Sequential(\n" + b"    ReLU(),\n" * n + b")\n")
    elif kind == "forward":
        f.write(b"model M(x: [N, 6]) {\n    forward(x) {\n"
                + b"        x = relu(x)\n" * n + b"        return x\n    }\n}\n")
    else:
        sys.exit(f"gen.py: unknown kind '{kind}'")
