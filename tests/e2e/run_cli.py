#!/usr/bin/python3
"""run_cli.py: trying a model with `seqc run` alone, and -v / --time-passes.

`seqc run FILE.seq` with no --weights uses seeded random weights, with no
--input a seeded random input of batch 1 (both said on stderr), and with no
--output prints the output's shape, a few values and the time. The same
seed gives the same numbers, another seed others; the random weights are
those of seqrt_weights_random (PyTorch's init ranges), so a BatchNorm with
statistics 0 and 1 is the identity. -v and --time-passes print each stage's
time on stderr.
"""
import os
import re

import numpy as np

import e2e_common as common

SOURCE = """\
# written by tests/e2e/run_cli.py
model T(x: [N, 8]) = Sequential(
    Linear(8, 6),
    BatchNorm1d(6),
    ReLU(),
    Linear(6, 3),
)
"""


def check(report, what, cp, code=0, out=(), err=(), no_err=()):
    problems = []
    if cp.returncode != code:
        problems.append(f"exit {cp.returncode}, expected {code}")
    problems += [f"stdout lacks {m!r}" for m in out if not re.search(m, cp.stdout)]
    problems += [f"stderr lacks {m!r}" for m in err if not re.search(m, cp.stderr)]
    problems += [f"stderr has {m!r}" for m in no_err if re.search(m, cp.stderr)]
    if problems:
        report.fail(what, "\n".join(problems) + f"\n$ {common.show_cmd(cp)}\n"
                    f"stdout:\n{cp.stdout}\nstderr:\n{cp.stderr}")
    else:
        report.ok(what)
    return not problems


def values_line(stdout):
    m = re.search(r"values\s+(.*)", stdout)
    return m.group(1) if m else None


def main():
    common.import_torch_models()
    args = common.parse_args(__doc__)
    report = common.Report("seqc run alone, -v")
    with common.tempdir(args, "seqc-runcli-") as d:
        seq = os.path.join(d, "t.seq")
        with open(seq, "w") as f:
            f.write(SOURCE)
        run = lambda *a: common.seqc(args, "run", seq, *a, timeout=120)  # noqa: E731

        cp = run()
        check(report, "run with no --weights, --input or --output", cp,
              out=[r"T: output shape \[1, 3\]", r"values\s+\S+ \S+ \S+", r"forward [0-9.]+ ms",
                   r"min .* max .* mean"],
              err=[r"no --weights: random weights .*seed 0", r"no --input: input 'x' is random, "
                   r"shape \[1, 8\]"], no_err=["error", "warning"])
        again = run("--seed", "0")
        if values_line(cp.stdout) and values_line(cp.stdout) == values_line(again.stdout):
            report.ok("the default seed is 0 and fixed: same values twice")
        else:
            report.fail("same seed, same values", f"{cp.stdout}\n---\n{again.stdout}")
        other = run("--seed", "7")
        if values_line(other.stdout) and values_line(other.stdout) != values_line(cp.stdout):
            report.ok("another --seed, other values")
        else:
            report.fail("another seed, other values", other.stdout)

        x = np.random.default_rng(1).standard_normal((5, 8)).astype(np.float32)
        xpath, y1, y2 = (os.path.join(d, n) for n in ("x.npy", "y1.npy", "y2.npy"))
        np.save(xpath, x)
        cp = run("--input", xpath, "--output", y1, "--seed", "3")
        check(report, "random weights with an --input and an --output", cp,
              err=["no --weights"], no_err=["no --input"])
        cp = run("--input", xpath, "--output", y2, "--seed", "3")
        if os.path.exists(y1) and os.path.exists(y2) and \
                np.array_equal(np.load(y1), np.load(y2)) and np.load(y1).shape == (5, 3):
            report.ok("random weights are reproducible: identical outputs of shape [5, 3]")
        else:
            report.fail("reproducible random weights", cp.stderr)
        cp = run("--input", xpath)
        check(report, "no --output: the summary, with the input's batch", cp,
              out=[r"T: output shape \[5, 3\]", r"\(15 in all\)"], no_err=["no --input"])

        cp = run("-v", "--no-cache")  # a cache hit compiles nothing, so it has no codegen stages
        check(report, "run -v: each stage's time", cp,
              err=[r"time per stage", r"\bparse\s+[0-9.]+ ms", r"\bsema\s+[0-9.]+ ms",
                   r"\blower\s+[0-9.]+ ms", r"\bpasses\s+[0-9.]+ ms",
                   r"\bcodegen\s+[0-9.]+ ms", r"LLVM optimise\s+[0-9.]+ ms", r"machine code\s+[0-9.]+ ms", r"random weights\s+[0-9.]+ ms",
                   r"\brun\s+[0-9.]+ ms", r"total\s+[0-9.]+ ms"])
        obj = os.path.join(d, "t.o")
        cp = common.seqc(args, "--time-passes", "build", seq, "-o", obj, timeout=120)
        check(report, "--time-passes build", cp,
              err=[r"\bparse\s", r"\bpasses\s", r"\bcodegen\s+[0-9.]+ ms", r"LLVM optimise\s", r"\bemit\s+[0-9.]+ ms"])
        cp = common.seqc(args, "check", seq, "-v")
        check(report, "check -v", cp, err=[r"\bparse\s", r"\bsema\s"], no_err=[r"codegen"])
        cp = common.seqc(args, "check", seq)
        check(report, "no -v: no times", cp, no_err=[r"time per stage"])
    report.finish()


if __name__ == "__main__":
    main()
