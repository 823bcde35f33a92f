"""e2e_common.py: what the parity scripts share: options, running seqc,
comparing outputs, reporting.

Every script takes the same options (tests/e2e/CMakeLists.txt passes them):
  --seqc PATH      the seqc binary
  --include DIR    runtime/include (seqrt.h)
  --libdir DIR     the directory of libseqrt.so
  --root DIR       the repository (examples/ are found there)
  --example NAME   only this example file (basename without .seq); repeatable
  --model NAME     only this model; repeatable
  --keep           keep the temporary directory and say where it is
and exits 0 when all passes, 1 on any mismatch, 77 (ctest's skip) when torch
cannot be imported.
"""
import argparse
import difflib
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


def import_torch_models():
    """torch_models, or exit with the skip code when torch is missing."""
    sys.path.insert(0, HERE)
    try:
        import torch  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as e:
        print(f"skipped: {e} (run with /usr/bin/python3, which has python3-torch)")
        sys.exit(SKIP)
    torch.set_num_threads(1)
    import torch_models
    return torch_models


def parse_args(description, need_build=False):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--seqc", required=True)
    p.add_argument("--include", required=need_build,
                   default=os.path.join(HERE, "..", "..", "runtime", "include"))
    p.add_argument("--libdir", required=need_build)
    p.add_argument("--root", default=os.path.normpath(os.path.join(HERE, "..", "..")))
    p.add_argument("--example", action="append", default=[])
    p.add_argument("--model", action="append", default=[])
    p.add_argument("--keep", action="store_true")
    p.add_argument("--cc", default=os.environ.get("CC", "cc"))
    args = p.parse_args()
    if not os.access(args.seqc, os.X_OK):
        print(f"error: seqc not found or not executable: {args.seqc}")
        sys.exit(1)
    return args


def selected(args, tm):
    """The (path, model) keys of torch_models.MODELS the options select, in
    registration order."""
    keys = []
    for key in tm.MODELS:
        base = os.path.splitext(os.path.basename(key[0]))[0]
        if args.example and base not in args.example:
            continue
        if args.model and key[1] not in args.model:
            continue
        keys.append(key)
    if not keys:
        print(f"error: no model selected (--example {args.example} --model {args.model})")
        sys.exit(1)
    return keys


def tempdir(args, prefix):
    if args.keep:
        d = tempfile.mkdtemp(prefix=prefix)
        print(f"keeping {d}")
        return _Kept(d)
    return tempfile.TemporaryDirectory(prefix=prefix)


class _Kept:
    def __init__(self, d):
        self.name = d

    def __enter__(self):
        return self.name

    def __exit__(self, *exc):
        return False


def seqc(args, *argv, timeout=300, cwd=None):
    """Runs seqc; returns CompletedProcess (text). Never raises on a non-zero
    exit; a timeout becomes exit code -9 with a note in stderr."""
    cmd = [args.seqc, *argv]
    try:
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, cwd=cwd, errors="replace")
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(
            cmd, -9, e.stdout or "", (e.stderr or "") + f"\n[timed out after {timeout}s]")


def show_cmd(cp):
    return " ".join(str(a) for a in cp.args)


def model_names_in(path):
    """The names of the models defined in a .seq file (a light scan: `model
    NAME` at the start of a line, outside comments)."""
    names = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*model\s+([A-Za-z_][A-Za-z0-9_]*)", line.split("#", 1)[0])
            if m:
                names.append(m.group(1))
    return names


def example_files(root):
    return sorted(glob.glob(os.path.join(root, "examples", "*.seq")))


def unified_diff(expected, actual, what):
    return "".join(difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True),
        fromfile=f"expected ({what})", tofile="seqc", n=2))


def compare(expected, actual, atol=1e-4, rtol=1e-4):
    """Checks |e - a| <= atol + rtol * |e| element-wise. Returns (ok, message
    with max abs and rel error and the worst element)."""
    import numpy as np
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape:
        return False, f"shape {list(a.shape)}, expected {list(e.shape)}"
    if e.size == 0:
        return True, "empty"
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        return False, f"non-finite value {a[tuple(bad)]} at {list(bad)}"
    err = np.abs(e - a)
    rel = err / np.maximum(np.abs(e), 1e-30)
    bound = atol + rtol * np.abs(e)
    excess = err - bound
    worst = np.unravel_index(np.argmax(excess), e.shape)
    msg = (f"max abs err {err.max():.3g}, max rel err {rel.max():.3g}"
           f" (worst at {list(worst)}: expected {e[worst]:.7g}, got {a[worst]:.7g})")
    return bool((err <= bound).all()), msg


class Report:
    """Collects pass/fail lines; `finish` prints a summary and exits."""

    def __init__(self, title):
        self.title = title
        self.failures = []
        self.passes = 0

    def ok(self, what, detail=""):
        self.passes += 1
        print(f"  ok    {what}" + (f": {detail}" if detail else ""), flush=True)

    def fail(self, what, detail):
        self.failures.append(what)
        print(f"  FAIL  {what}\n" + "\n".join("        " + l for l in str(detail).splitlines()),
              flush=True)

    def finish(self):
        print(f"{self.title}: {self.passes} passed, {len(self.failures)} failed")
        for f in self.failures:
            print(f"  failed: {f}")
        sys.exit(1 if self.failures else 0)


def write_npy(path, array):
    """A float32 .npy of `array` (version 1.0 header), as `seqc run --input` reads."""
    import struct
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (tuple(array.shape),)
    header += " " * ((64 - (11 + len(header)) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(array.astype("<f4").tobytes())


def read_npy(path, count):
    """The last `count` float32s of the .npy `seqc run --output` wrote."""
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data[len(data) - 4 * count:], dtype="<f4")
