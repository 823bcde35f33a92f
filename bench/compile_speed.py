#!/usr/bin/python3
"""compile_speed.py: how long seqc takes to compile, as a user sees it.

  - `seqc build` of every model of every example, examples/zoo and
    examples/zoo-more included
    (wall and CPU seconds; target: under 1 s wall each), with the kernel
    cache (the pooled kernels compiled once per target, in a cache
    directory of its own that the first build fills) and with --no-cache;
  - `seqc build` of deep MLPs (Linear(64, 64) + ReLU, repeated) of 1,000,
    2,000 and 10,000 layers: the time should grow linearly;
  - `seqc run` of one model twice with an empty cache: the second run
    finds the compiled code in the cache and compiles nothing.

Medians of --runs runs (1 for the deep MLPs). Not a test: nothing is
asserted. Writes bench/compile_speed.json.

  bench/compile_speed.py [--seqc build/compiler/seqc] [--runs 3] [--layers 1000,2000,10000]
"""
import argparse
import glob
import json
import os
import re
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "lit", "Inputs"))
import run_files  # noqa: E402  (safetensors and .npy writers without numpy)


def timed(cmd, env=None):
    """(wall s, CPU s of the child) of one run; raises on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_of(runs, cmd, env=None):
    samples = [timed(cmd, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def deep_mlp(path, layers, width=64):
    body = "".join(f"    Linear({width}, {width}),\n    ReLU(),\n" for _ in range(layers))
    with open(path, "w") as f:
        f.write(f"model Deep(x: [N, {width}]) = Sequential(\n{body}    Linear({width}, 10),\n)\n")


def examples(args, work):
    rows = []
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "build-cache"))
    paths = sorted(glob.glob(os.path.join(ROOT, "examples", "*.seq")))
    paths += sorted(glob.glob(os.path.join(ROOT, "examples", "zoo", "*.seq")))
    paths += sorted(glob.glob(os.path.join(ROOT, "examples", "zoo-more", "*.seq")))
    for path in paths:
        name = os.path.relpath(path, os.path.join(ROOT, "examples"))
        with open(path) as f:
            models = re.findall(r"^model\s+(\w+)", f.read(), re.M)
        for model in models:
            cmd = [args.seqc, "build", path, "--model", model, "-o", os.path.join(work, "m.o")]
            cold_wall, cold_cpu = median_of(args.runs, cmd + ["--no-cache"], env)
            timed(cmd, env)  # fills the kernel cache
            wall, cpu = median_of(args.runs, cmd, env)
            rows.append({"file": name, "model": model, "wall_s": wall, "cpu_s": cpu,
                         "no_cache_wall_s": cold_wall, "no_cache_cpu_s": cold_cpu})
            print(f"  {name:30}{model:18}{wall:8.2f} s wall {cpu:6.2f} s CPU"
                  f"   --no-cache {cold_wall:5.2f} s wall {cold_cpu:5.2f} s CPU", flush=True)
    return rows


def deep(args, work):
    rows = []
    for layers in args.layers:
        path = os.path.join(work, f"deep{layers}.seq")
        deep_mlp(path, layers)
        wall, cpu = timed([args.seqc, "build", path, "-o", os.path.join(work, "deep.o")],
                          dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "build-cache")))
        rows.append({"layers": layers, "wall_s": wall, "cpu_s": cpu})
        print(f"  {layers:6} layers: {wall:7.2f} s wall {cpu:7.2f} s CPU "
              f"({1e3 * cpu / layers:.2f} ms CPU a layer)", flush=True)
    return rows


def second_run(args, work):
    """`seqc run` twice on a 1,000-layer MLP with an empty cache."""
    path = os.path.join(work, "run1000.seq")
    deep_mlp(path, 1000, width=4)
    tensors = {}
    for i in range(1000):
        tensors[f"{2 * i}.weight"] = ([4, 4], [0.25] * 16)
        tensors[f"{2 * i}.bias"] = ([4], [0.0] * 4)
    tensors["2000.weight"] = ([10, 4], [0.1] * 40)
    tensors["2000.bias"] = ([10], [0.0] * 10)
    run_files.safetensors(os.path.join(work, "w.safetensors"), tensors)
    run_files.npy(os.path.join(work, "x.npy"), [1, 4], [1.0, 2.0, 3.0, 4.0])
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))
    cmd = [args.seqc, "run", path, "--weights", os.path.join(work, "w.safetensors"),
           "--input", os.path.join(work, "x.npy"), "--output", os.path.join(work, "y.npy")]
    first = timed(cmd, env)
    second = timed(cmd, env)
    uncached = timed(cmd + ["--no-cache"], env)
    print(f"  seqc run, 1,000-layer MLP: first {first[0]:.2f} s wall ({first[1]:.2f} CPU), "
          f"second {second[0]:.2f} s wall ({second[1]:.2f} CPU), --no-cache {uncached[0]:.2f} s wall",
          flush=True)
    return {"first": first, "second": second, "no_cache": uncached}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seqc", default=os.path.join(ROOT, "build", "compiler", "seqc"))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--layers", default="1000,2000,10000")
    p.add_argument("--out", default=os.path.join(HERE, "compile_speed.json"))
    args = p.parse_args()
    args.layers = [int(n) for n in args.layers.split(",")]
    with tempfile.TemporaryDirectory(prefix="seqc-compile-") as work:
        print("seqc build, every example model:")
        ex = examples(args, work)
        print("seqc build, deep MLPs:")
        dp = deep(args, work)
        print("seqc run, cold and cached:")
        sr = second_run(args, work)
    with open(args.out, "w") as f:
        json.dump({"examples": ex, "deep": dp, "run": sr}, f, indent=1)
    print(f"wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
