#!/usr/bin/env python3
"""scaling.py: how seqc's time and memory grow with the size of the model.

For generated models of 1,000 / 10,000 / 100,000 layers (a Sequential
alternating Linear(8, 8) and ReLU(), one child per line) it times, each in
its own process, with its peak resident memory:
  check   parse + check            (seqc check)
  lower   ... + lowering + passes  (seqc dump ir-opt, output discarded)
  build   ... + code generation    (seqc build -o, only up to --build-max layers)
and prints a table with the CPU time per layer, so that a linear stage shows
a flat column (wall time is shown too; it depends on the machine's load),
and the peak memory per source byte, in all and above the peak of a bare
one-layer model (the libraries: about 54 MiB), which is what grows with
the input. usage: bench/scaling.py [--seqc build/compiler/seqc]
[--sizes 1000,10000,100000] [--build-max 10000] [--timeout 900]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time


def model_text(layers):
    lines = ["model Deep(x: [N, 8]) = Sequential("]
    for i in range(layers):
        lines.append("    Linear(8, 8)," if i % 2 == 0 else "    ReLU(),")
    lines.append(")")
    return "\n".join(lines) + "\n"


def measure(cmd, timeout):
    """(CPU seconds, wall seconds, peak RSS in MiB, exit code) of one run;
    None on timeout. CPU time (user + system) does not depend on the load of
    the machine, wall time does."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            return None
        time.sleep(0.01)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(proc.stderr.read().decode(errors="replace")[-2000:])
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, code


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seqc", default=os.path.join(root, "build", "compiler", "seqc"))
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--build-max", type=int, default=10000)
    p.add_argument("--timeout", type=float, default=900)
    args = p.parse_args()
    print(f"{'layers':>8} {'bytes':>10} {'stage':>6} {'CPU s':>8} {'us/layer':>9} {'wall s':>8}"
          f" {'peak MiB':>9} {'B/src B':>8} {'>bare':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        bare_path = os.path.join(tmp, "bare.seq")
        with open(bare_path, "w") as f:
            f.write("model Bare(x: [N, 8]) = Linear(8, 8)\n")
        bare = measure([args.seqc, "check", bare_path], args.timeout)
        bare_mib = bare[2] if bare else 0
        for n in [int(s) for s in args.sizes.split(",")]:
            path = os.path.join(tmp, f"deep{n}.seq")
            with open(path, "w") as f:
                f.write(model_text(n))
            size = os.path.getsize(path)
            stages = [("check", [args.seqc, "check", path]),
                      ("lower", [args.seqc, "dump", "ir-opt", path])]
            if n <= args.build_max:
                stages.append(("build", [args.seqc, "build", path, "-o", os.path.join(tmp, "deep.o")]))
            for stage, cmd in stages:
                r = measure(cmd, args.timeout)
                if r is None:
                    print(f"{n:>8} {size:>10} {stage:>6} {'':>8} {'':>9} {'>' + str(int(args.timeout)):>8}")
                    continue
                cpu, wall, mib, code = r
                flag = "" if code == 0 else f"  (exit {code})"
                print(f"{n:>8} {size:>10} {stage:>6} {cpu:>8.2f} {cpu / n * 1e6:>9.1f} {wall:>8.2f} {mib:>9.0f}"
                      f" {mib * 2**20 / size:>8.0f} {(mib - bare_mib) * 2**20 / size:>6.0f}{flag}", flush=True)


if __name__ == "__main__":
    main()
