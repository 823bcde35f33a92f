#!/usr/bin/python3
"""differential.py: seqc against PyTorch on random models.

From one seed, generates --count random valid models (differential_gen.py),
each as .seq text and as the equivalent PyTorch module; saves random weights
(safetensors) and inputs of batch 1, 2 and 37 (.npy); computes the expected
outputs in PyTorch (in float64, from the same float32 weights and inputs);
runs `seqc run` on each and compares within |e - a| <= 1e-4 + 1e-4 * |e|.
Then checks a few deliberately invalid variants: `seqc check --diagnostics
json` must exit 1 with an error on the offending line and none elsewhere.

Every failure prints the seed, the .seq text and the error; the run goes on
and ends with `N passed, M failed` (exit 1 if M > 0).

  /usr/bin/python3 differential.py --seqc build/compiler/seqc --seed 1 --count 50
  ... --index 17        only model 17 of that seed (what a failure names)
  ... --keep DIR        keep every file under DIR
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import warnings

try:
    import numpy as np
    import torch
except ImportError as e:  # not /usr/bin/python3: ctest's skip code
    print(f"skipped: {e} (run with /usr/bin/python3, which has python3-torch)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import differential_gen as gen  # noqa: E402

ATOL = RTOL = 1e-4
# 37 (on 2 threads): a batch large enough for the forward function to cut
# small models into batch slices run in parallel (LlvmGen.cpp), with a
# remainder: 37 is no multiple of a slice.
BATCHES = (1, 2, 37)
THREADS = 2
INVALID_PER_KIND = 2
TIMEOUT = 120  # seconds per seqc call


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

DTYPES = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}


def save_safetensors(tensors, path):
    """A minimal safetensors writer: u64 LE header length, JSON header padded
    with spaces to a multiple of 8, then the raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        arr = np.ascontiguousarray(t.detach().cpu().numpy())
        data = arr.tobytes()
        header[name] = {"dtype": DTYPES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class Case:
    """One valid model on disk: text, weights, inputs, expected outputs."""

    def __init__(self, index, seed, model, directory):
        self.index, self.seed, self.model, self.dir = index, seed, model, directory
        self.seq_path = os.path.join(directory, "model.seq")
        self.weights = os.path.join(directory, "weights.safetensors")

    def path(self, what, batch):
        return os.path.join(self.dir, f"{what}{batch}.npy")


def prepare(index, seed, directory):
    """Generates model `index` and writes everything `seqc run` needs."""
    model = gen.generate(seed)
    os.makedirs(directory, exist_ok=True)
    case = Case(index, seed, model, directory)
    with open(case.seq_path, "w") as f:
        f.write(model.text)
    net = gen.init_weights(model.build(), seed)
    save_safetensors(net.state_dict(), case.weights)
    reference = gen.init_weights(model.build(), seed).double()
    torch.manual_seed(seed + 1)
    for batch in BATCHES:
        x = torch.randn(batch, *model.input_shape) * 1.5
        with torch.inference_mode():
            expected = reference(x.double()).float()
        np.save(case.path("x", batch), x.numpy())
        np.save(case.path("expected", batch), expected.numpy())
    return case


# ---------------------------------------------------------------------------
# Running seqc and comparing
# ---------------------------------------------------------------------------

def compare(expected, actual):
    """None when within tolerance, else a description of the worst element."""
    if expected.shape != actual.shape:
        return f"shape {list(actual.shape)}, expected {list(expected.shape)}"
    err = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
    # NaN counts as bad, unless both are NaN (PyTorch's NaN, propagated)
    bad = ~(err <= ATOL + RTOL * np.abs(expected)) & ~(np.isnan(expected) & np.isnan(actual))
    if not bad.any():
        return None
    worst = np.unravel_index(np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -1.0)), err.shape)
    return (f"max error {np.nanmax(err):.3g} ({int(bad.sum())} of {err.size} "
            f"elements out of tolerance; at {list(worst)}: expected "
            f"{expected[worst]:.6g}, got {actual[worst]:.6g})")


def run_case(seqc, case):
    """Runs seqc on every batch: a list of problems (empty when it passed)."""
    problems = []
    for batch in BATCHES:
        out = case.path("actual", batch)
        cmd = [seqc, "run", case.seq_path, "--weights", case.weights,
               "--input", case.path("x", batch), "--output", out,
               "--threads", str(THREADS)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            problems.append(f"batch {batch}: seqc run timed out after {TIMEOUT} s")
            continue
        if proc.returncode != 0:
            problems.append(f"batch {batch}: seqc run exited {proc.returncode}:\n"
                            + proc.stderr.strip()[-3000:])
            continue
        if not os.path.exists(out):
            problems.append(f"batch {batch}: seqc run exited 0 but wrote no {out}")
            continue
        diff = compare(np.load(case.path("expected", batch)), np.load(out))
        if diff:
            problems.append(f"batch {batch}: {diff}")
    return problems


def numbered(text):
    return "\n".join(f"{i:4} | {line}" for i, line in
                     enumerate(text.splitlines(), 1))


def report(title, seed, text, problems):
    print(f"FAIL {title} (model seed {seed})", flush=True)
    for p in problems:
        print("  " + p.replace("\n", "\n  "))
    print(numbered(text) + "\n", flush=True)


# ---------------------------------------------------------------------------
# Invalid variants
# ---------------------------------------------------------------------------

def parse_diagnostics(stderr):
    """The JSON array `--diagnostics json` prints, or None."""
    start, end = stderr.find("["), stderr.rfind("]")
    if start < 0 or end < start:
        return None
    try:
        return json.loads(stderr[start:end + 1])
    except json.JSONDecodeError:
        return None


def check_invalid(seqc, model, path):
    """Problems with `seqc check` on a model with one defect (empty: fine)."""
    want = model.defect_line
    proc = subprocess.run([seqc, "check", "--diagnostics", "json", path],
                          capture_output=True, text=True, timeout=TIMEOUT)
    if proc.returncode != 1:
        return [f"seqc check exited {proc.returncode}, expected 1:\n{proc.stderr[-2000:]}"]
    diags = parse_diagnostics(proc.stderr)
    if diags is None:
        return [f"no JSON diagnostics on stderr:\n{proc.stderr[-2000:]}"]
    errors = [d for d in diags if d.get("severity") == "error"]
    lines = sorted({d.get("line") for d in errors})
    if want not in lines:
        return [f"no error on line {want} (the {model.defect} defect); errors on "
                f"lines {lines}: " + "; ".join(d.get("message", "") for d in errors)]
    others = [d for d in errors if d.get("line") != want]
    if others:
        return ["follow-on errors besides line %d: %s" % (want, "; ".join(
            f"line {d.get('line')}: {d.get('message')}" for d in others))]
    return []


def invalid_models(seed):
    k = 0
    for kind in gen.DEFECTS:
        for _ in range(INVALID_PER_KIND):
            yield gen.generate(seed * 1_000_003 + 900_000 + k, defect=kind)
            k += 1


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def model_seed(seed, index):
    return seed * 1_000_003 + index


def run_valid(args, root):
    """Generates and runs the valid models, two seqc calls in flight."""
    indices = [args.index] if args.index is not None else range(args.count)
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = []
        for i in indices:
            case = prepare(i, model_seed(args.seed, i), os.path.join(root, f"model{i:03}"))
            futures.append((case, pool.submit(run_case, args.seqc, case)))
        for case, fut in futures:
            problems = fut.result()
            if problems:
                failed += 1
                report(f"model {case.index} (--seed {args.seed} --index {case.index})",
                       case.seed, case.model.text, problems)
            else:
                passed += 1
    print(f"valid models: {passed} passed, {failed} failed", flush=True)
    return passed, failed


def run_invalid(args, root):
    passed = failed = 0
    directory = os.path.join(root, "invalid")
    os.makedirs(directory, exist_ok=True)
    for k, model in enumerate(invalid_models(args.seed)):
        path = os.path.join(directory, f"invalid{k}_{model.defect}.seq")
        with open(path, "w") as f:
            f.write(model.text)
        problems = check_invalid(args.seqc, model, path)
        if problems:
            failed += 1
            report(f"invalid variant {k} ({model.defect} defect on line "
                   f"{model.defect_line})", model.seed, model.text, problems)
        else:
            passed += 1
    print(f"invalid variants: {passed} passed, {failed} failed", flush=True)
    return passed, failed


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seqc", default="build/compiler/seqc")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--index", type=int, help="run only this model of the seed")
    p.add_argument("--keep", metavar="DIR", help="keep every file under DIR")
    p.add_argument("--jobs", type=int, default=2, help="seqc calls in flight")
    p.add_argument("--no-invalid", action="store_true",
                   help="skip the invalid variants")
    return p.parse_args()


def main():
    args = parse_args()
    if not (os.path.isfile(args.seqc) and os.access(args.seqc, os.X_OK)):
        print(f"differential: no seqc executable at {args.seqc}", file=sys.stderr)
        return 2
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    root = args.keep or tempfile.mkdtemp(prefix="seqc-differential-")
    start = time.monotonic()
    try:
        vp, vf = run_valid(args, root)
        ip, if_ = (0, 0) if args.no_invalid or args.index is not None \
            else run_invalid(args, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"({time.monotonic() - start:.0f} s)")
    print(f"{vp + ip} passed, {vf + if_} failed")
    return 1 if vf + if_ else 0


if __name__ == "__main__":
    sys.exit(main())
