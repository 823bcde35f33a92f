#!/usr/bin/python3
"""check_speed.py: the front end's speed as a user sees it (whole process:
start-up, parse, check; and for the zoo, code generation too):
  - `seqc check` on every example and every zoo model (examples/zoo/):
    the target is under 100 ms median wall clock per zoo model;
  - `seqc build` of every zoo model to an object file: under 5 s.
Medians of --runs runs (--build-runs for the builds), wall clock and CPU
(user + sys of the child, which a loaded machine inflates less); the load
average is printed, as the wall clock depends on it. Not a test, nothing
is asserted: rows over their target are flagged.

  bench/check_speed.py [--seqc build/compiler/seqc] [--runs 30] [--build-runs 3]
"""
import argparse
import glob
import os
import resource
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHECK_TARGET_MS = 100.0
BUILD_TARGET_S = 5.0


def timed(cmd):
    """(wall ms, CPU ms, exit code) of one run of cmd."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    wall = (time.perf_counter() - start) * 1e3
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1e3
    return wall, cpu, code


def summary(samples):
    walls = sorted(s[0] for s in samples)
    return (statistics.median(walls), walls[int(0.9 * (len(walls) - 1))],
            statistics.median(s[1] for s in samples), max(s[2] for s in samples))


def check_table(args, files, base):
    print(f"{'seqc check':28} {'median ms':>10} {'p90 ms':>8} {'minus start-up':>15} "
          f"{'cpu ms':>8}")
    samples = {f: [] for f in files}
    for _ in range(args.runs):  # interleaved: load spikes hit every file alike
        for f in files:
            samples[f].append(timed([args.seqc, "check", f]))
    worst = 0.0
    for f in files:
        median, p90, cpu, code = summary(samples[f])
        zoo = os.path.basename(os.path.dirname(f)) == "zoo"
        flag = "  FAILED" if code else ("  > 100 ms" if zoo and median > CHECK_TARGET_MS else "")
        worst = max(worst, median) if zoo else worst
        name = ("zoo/" if zoo else "") + os.path.basename(f)
        print(f"{name:28} {median:10.2f} {p90:8.2f} {median - base:15.2f} {cpu:8.2f}{flag}")
    return worst


def build_table(args, zoo):
    print(f"\n{'seqc build (zoo)':28} {'median s':>10} {'cpu s':>8}")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="seqc-check-speed-") as work:
        for f in zoo:
            out = os.path.join(work, os.path.basename(f) + ".o")
            samples = [timed([args.seqc, "build", f, "-o", out]) for _ in range(args.build_runs)]
            median, _, cpu, code = summary(samples)
            flag = "  FAILED" if code else ("  > 5 s" if median > BUILD_TARGET_S * 1e3 else "")
            worst = max(worst, median)
            print(f"{'zoo/' + os.path.basename(f):28} {median / 1e3:10.2f} {cpu / 1e3:8.2f}{flag}")
    return worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seqc", default=os.path.join(ROOT, "build", "compiler", "seqc"))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--build-runs", type=int, default=3)
    args = parser.parse_args()
    examples = sorted(glob.glob(os.path.join(ROOT, "examples", "*.seq")))
    zoo = sorted(glob.glob(os.path.join(ROOT, "examples", "zoo", "*.seq")))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    base = statistics.median(timed([args.seqc, "--version"])[0] for _ in range(args.runs))
    print(f"process start-up (seqc --version): {base:.2f} ms median, mostly loading libLLVM")
    worst_check = check_table(args, examples + zoo, base)
    worst_build = build_table(args, zoo)
    print(f"\nslowest zoo check {worst_check:.1f} ms (target < {CHECK_TARGET_MS:.0f}), "
          f"slowest zoo build {worst_build / 1e3:.2f} s (target < {BUILD_TARGET_S:.0f})")


if __name__ == "__main__":
    main()
