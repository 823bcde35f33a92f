#!/usr/bin/python3
"""check_speed.py: how long `seqc check` takes on every example and every
zoo model (examples/zoo/), as a user sees it (whole process: start-up,
parse, check); the target is under 100 ms per zoo model. Medians of repeated runs;
not a test, nothing is asserted.

  bench/check_speed.py [--seqc build/compiler/seqc] [--runs 30]
"""
import argparse
import glob
import os
import resource
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seqc", default=os.path.join(ROOT, "build", "compiler", "seqc"))
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(ROOT, "examples", "*.seq")))
    files += sorted(glob.glob(os.path.join(ROOT, "examples", "zoo", "*.seq")))
    startup = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([args.seqc, "--version"], check=True, stdout=subprocess.DEVNULL)
        startup.append((time.perf_counter() - start) * 1e3)
    base = statistics.median(startup)
    totals = []
    print(f"process start-up (seqc --version): {base:.2f} ms median, mostly loading libLLVM")
    print(f"{'example':28} {'median ms':>10} {'p90 ms':>8} {'minus start-up':>15} {'cpu ms':>8}")
    per_file = {f: [] for f in files}
    cpu_file = {f: [] for f in files}  # user + sys: robust to a loaded machine
    for _ in range(args.runs):
        start_all = time.perf_counter()
        for f in files:
            start = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([args.seqc, "check", f], stderr=subprocess.DEVNULL)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            per_file[f].append((time.perf_counter() - start) * 1e3)
            cpu_file[f].append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1e3)
        totals.append((time.perf_counter() - start_all) * 1e3)
    for f, samples in per_file.items():
        s = sorted(samples)
        median = statistics.median(s)
        cpu = statistics.median(cpu_file[f])
        print(f"{os.path.basename(f):28} {median:10.2f} {s[int(0.9 * (len(s) - 1))]:8.2f} "
              f"{median - base:15.2f} {cpu:8.2f}")
    total = statistics.median(totals)
    print(f"{'all ' + str(len(files)) + ' examples':28} {total:10.2f} {'':8} {total - len(files) * base:15.2f}")


if __name__ == "__main__":
    main()
