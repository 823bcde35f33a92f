#!/usr/bin/python3
"""bench.py: seqc against PyTorch (OpenBLAS) and ONNX Runtime, per call.

For each model of twins.all_models() (the bench models, and examples/zoo's
ResNet-18, MobileNetV2 and EfficientNet-B0), each of its batches and each
thread count, the median latency of one forward call (and p10/p90) in:
  - seqc: `seqc build`, linked with seqc_bench.c against libseqrt, random
    weights (seqrt_weights_random), or for the zoo the PyTorch model's own
    state_dict, saved as safetensors by the PyTorch worker;
  - PyTorch (/usr/bin/python3, eval, inference_mode, torch.set_num_threads),
    with Debian's OpenBLAS (LD_LIBRARY_PATH), OPENBLAS_CORETYPE=SkylakeX on
    AVX-512 machines (0.3.21 takes Zen 4 for a Haswell);
  - ONNX Runtime (onnxruntime-node, ort_bench.js) on the model exported by
    torch.onnx.export (opset 13, dynamic batch).
A probe (probe.c) measures this machine's FMA peak and read bandwidth on
1..T threads, in the same run, before and after the models (the better of
the two; the read bandwidth over a buffer larger than the caches, and after
the models over buffers the size of the weight-bound models' weights). Prints, per row, seqc's GFLOP/s (2 flops per multiply-add of the
Conv2d and Linear layers) as a share of the probed FMA peak of the threads
used; for batch-1 rows bound by their weights (under 4 flops per weight
byte, over 16 MB of them) the GB/s of weights read against the probed read
bandwidths; the ratio of the best peer's time to seqc's (> 1: seqc is
faster; with --rounds, the median of the rounds' own ratios) and its
geomean; then seqc's speed-up from 1 to 2 threads. Writes
results.json. Run it through run.sh, which installs what it needs. Not a
test: nothing is asserted.

  /usr/bin/python3 bench/bench.py [--build build] [--models lenet5,mlp_big]
      [--batches 1,16] [--threads 1,2] [--min-time 1.0] [--rounds 1] [--out FILE]
(--batches overrides every model's own batches.)
"""

import argparse
import ctypes
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
WARMUP_S = 0.2
MIN_ITERS = 10
ZOO_MIN_ITERS = 5


# ---------------------------------------------------------------------------
# PyTorch worker (a child process, started with the OpenBLAS environment)
# ---------------------------------------------------------------------------

def time_calls(fn, min_time, min_iters):
    """Median, p10, p90 (ms) of single calls, after a warm-up."""
    end = time.perf_counter() + WARMUP_S
    while time.perf_counter() < end:
        fn()
    samples, start = [], time.perf_counter()
    while time.perf_counter() - start < min_time or len(samples) < min_iters:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return summarize(samples)


def summarize(samples):
    s = sorted(samples)
    return {"median_ms": statistics.median(s), "p10_ms": s[round(0.1 * (len(s) - 1))],
            "p90_ms": s[round(0.9 * (len(s) - 1))], "iters": len(s)}


def blas_in_use():
    """The BLAS library this process loaded, and OpenBLAS's core if it is one."""
    import torch
    torch.mm(torch.randn(64, 64), torch.randn(64, 64))  # make sure it is loaded
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "blas" in line.split()[-1]})
    info = {"libraries": paths}
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            info["openblas_core"] = lib.openblas_get_corename().decode()
            info["openblas_config"] = lib.openblas_get_config().decode()
        except (OSError, AttributeError):
            continue
    return info


def torch_worker(spec):
    """Exports the ONNX model, then times PyTorch; prints one JSON object."""
    import torch
    import twins
    torch.manual_seed(0)
    model = next(m for m in twins.all_models(extra=True) if m.label == spec["label"]).build().eval()
    model_stats = twins.model_stats(model, spec["shape"])
    if spec.get("weights"):
        import safetensors_io  # tests/e2e, on the path twins.py set
        safetensors_io.save_state_dict(model, spec["weights"])
    example = torch.randn(1, *spec["shape"])
    torch.onnx.export(model, example, spec["onnx"], opset_version=13,
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    rows = []
    for threads in spec["threads"]:
        torch.set_num_threads(threads)
        for batch in spec["batches"]:
            x = torch.randn(batch, *spec["shape"])
            with torch.inference_mode():
                stats = time_calls(lambda: model(x), spec["min_time"], spec["min_iters"])
            rows.append({"batch": batch, "threads": threads, **stats})
    print(json.dumps({"torch": torch.__version__, "blas": blas_in_use(), "rows": rows,
                      "stats": model_stats}))


# ---------------------------------------------------------------------------
# The three columns
# ---------------------------------------------------------------------------

def exit_status(code):
    if code < 0:
        import signal
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def weights_path(bm, work):
    """The safetensors file the PyTorch worker writes for seqc, or None
    (seqc then draws random weights)."""
    return os.path.join(work, bm.label + ".safetensors") if bm.weights else None


def min_iters(bm):
    """Timed calls at least: fewer for the 224x224 models, whose batch-16
    calls take up to a second."""
    return ZOO_MIN_ITERS if bm.weights else MIN_ITERS


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            line = next((l for l in f if l.startswith("flags")), "")
    except OSError:
        return set()
    return set(line.split(":", 1)[-1].split())


def openblas_env():
    """Debian's OpenBLAS first on the library path; its SkylakeX kernels
    where the CPU has AVX-512 (OpenBLAS 0.3.21 does not know Zen 4 and
    would take Haswell's), its own choice elsewhere (SkylakeX there is an
    illegal instruction)."""
    env = dict(os.environ, LD_LIBRARY_PATH=":".join(
        filter(None, [OPENBLAS_DIR, os.environ.get("LD_LIBRARY_PATH")])))
    if "avx512f" in cpu_flags():
        env["OPENBLAS_CORETYPE"] = "SkylakeX"
    else:
        env.pop("OPENBLAS_CORETYPE", None)
    return env


def run_torch(bm, args, onnx_path, work):
    env = openblas_env()
    spec = {"label": bm.label, "shape": list(bm.input_shape), "onnx": onnx_path,
            "batches": batches_of(bm, args), "threads": args.threads, "min_time": args.min_time,
            "min_iters": min_iters(bm), "weights": weights_path(bm, work)}
    proc = subprocess.run([sys.executable, __file__, "--torch-worker", json.dumps(spec)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"PyTorch worker failed ({exit_status(proc.returncode)}):\n"
                           f"{proc.stderr[-3000:]}")
    return json_lines(proc.stdout)[-1]


def run_ort(bm, args, onnx_path):
    config = {"shape": list(bm.input_shape), "batches": batches_of(bm, args),
              "threads": args.threads, "min_time": args.min_time, "min_iters": min_iters(bm)}
    proc = subprocess.run(["node", os.path.join(HERE, "ort_bench.js"), onnx_path,
                           json.dumps(config)], capture_output=True, text=True, cwd=HERE)
    if proc.returncode != 0:
        raise RuntimeError(f"ort_bench.js failed ({exit_status(proc.returncode)}):\n"
                           f"{proc.stderr[-3000:]}")
    return json_lines(proc.stdout)


def batches_of(bm, args):
    return args.batches or list(bm.batches)


def run_probe(args, work, sizes_mb):
    """probe.c's peaks: {"fma_gflops": [per thread count], "read_gbs": [...],
    "read_gbs_at_mb": {"MB": [...]}} (the read bandwidth over a buffer of
    each of sizes_mb, the weight-bound models' weights)."""
    exe = os.path.join(work, "probe")
    cmd = [args.cc, "-O2", "-march=native", "-ffp-contract=fast", "-pthread",
           os.path.join(HERE, "probe.c"), "-o", exe]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n{proc.stderr[-3000:]}")
    proc = subprocess.run([exe, str(max(args.threads)), str(args.probe_mb)]
                          + ([",".join(map(str, sizes_mb))] if sizes_mb else []),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"probe failed:\n{proc.stderr[-3000:]}")
    return json_lines(proc.stdout)[-1]


def best_of_probes(a, b):
    """The element-wise maximum of two probes' peaks (either may be None)."""
    if not a or not b:
        return a or b
    out = dict(b)
    for key in ("fma_gflops", "read_gbs"):
        out[key] = [max(x, y) for x, y in zip(a[key], b[key])]
    # the placement of the threads, which may change during a run: both
    out["core_to_core_ns"] = [a.get("core_to_core_ns"), b.get("core_to_core_ns")]
    return out


def build_seqc_bench(bm, args, work, meta):
    """seqc build + cc: the path of the timing executable."""
    prefix = bm.model.lower()
    obj, header = os.path.join(work, prefix + ".o"), os.path.join(work, prefix + ".h")
    exe = os.path.join(work, prefix + "_bench")
    libdir = os.path.join(args.build, "runtime")
    commands = [
        [args.seqc, "build", os.path.join(ROOT, bm.seq_file), "--model", bm.model,
         "-o", obj, "--header", header],
        [args.cc, "-O2", "-std=c11", os.path.join(HERE, "seqc_bench.c"), obj,
         "-I", os.path.join(ROOT, "runtime", "include"), "-I", work,
         f'-DSEQ_HEADER="{prefix}.h"', f"-DSEQ_PREFIX={prefix}",
         "-L", libdir, "-lseqrt", f"-Wl,-rpath,{os.path.abspath(libdir)}",
         "-lm", "-lpthread", "-o", exe],
    ]
    for cmd in commands:
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if cmd[0] == args.seqc:
            meta.setdefault("seqc_build_s", {})[bm.label] = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}\n{proc.stderr[-3000:]}")
        for path in (obj, header) if cmd[0] == args.seqc else (exe,):
            if not os.path.exists(path):
                raise RuntimeError(f"{' '.join(cmd)} exited 0 but wrote no {path}")
    return exe


def run_seqc(bm, args, work, meta, exe=None):
    exe = exe or build_seqc_bench(bm, args, work, meta)
    weights = weights_path(bm, work)
    proc = subprocess.run([exe, ",".join(map(str, batches_of(bm, args))),
                           ",".join(map(str, args.threads)), str(args.min_time),
                           str(min_iters(bm))] + ([weights] if weights else []),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"seqc harness failed:\n{proc.stderr[-3000:]}")
    return [dict(r, exe=exe) for r in json_lines(proc.stdout)]


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def attempt(what, label, fn, *a):
    """fn(*a), or None after printing why it failed."""
    try:
        return fn(*a)
    except RuntimeError as e:
        print(f"  {label}: {what} failed: {e}", file=sys.stderr, flush=True)
        return None


def index_rows(rows):
    return {(r["batch"], r["threads"]): r for r in rows or []}


def median_rounds(rounds):
    """The row of each (batch, threads) whose median_ms is the median of its
    rounds' (the lower middle one of an even count), with the rounds' medians
    as "rounds_ms"."""
    by_key = {}
    for rows in rounds:
        for key, row in index_rows(rows).items():
            by_key.setdefault(key, []).append(row)
    out = []
    for key, rows in by_key.items():
        rows = sorted(rows, key=lambda r: r["median_ms"])
        out.append(dict(rows[(len(rows) - 1) // 2], rounds_ms=[r["median_ms"] for r in rows]))
    return out


def paired(rounds, key, peers):
    """The best of `peers`' times over seqc's for the rows of `key` (batch,
    threads), in each round ({name: rows of that round, or None}) where seqc
    and all of them ran, in round order."""
    out = []
    for by_name in rounds:
        rows = {name: index_rows(by_name[name]).get(key) for name in ("seqc",) + peers}
        if all(rows.values()):
            out.append(min(rows[p]["median_ms"] for p in peers) / rows["seqc"]["median_ms"])
    return out


def bench_model(bm, args, work, meta):
    """Rows {model, batch, threads, seqc, torch, ort} for one model. With
    --rounds N the three are timed N times, one after the other (seqc
    compiled once), and each row keeps the median of its N medians: the
    machine's noise moves a round, not the ratio. Its best peer / seqc is
    the median of the rounds' own ratios ("paired"): in a round the three
    run within seconds of each other, so a slow spell of the host, which
    lasts seconds to minutes (one vCPU at half speed), moves all three."""
    print(f"== {bm.label} ({bm.seq_file}, model {bm.model})", flush=True)
    onnx_path = os.path.join(work, bm.label + ".onnx")
    torch_rounds, ort_rounds, seqc_rounds = [], [], []
    stats, exe = {}, None
    for _ in range(args.rounds):
        torch_out = attempt("PyTorch", bm.label, run_torch, bm, args, onnx_path, work)
        ort_rows = None
        if torch_out:
            stats = torch_out["stats"]
            meta.setdefault("torch", torch_out["torch"])
            meta.setdefault("blas", torch_out["blas"])
            ort_rows = attempt("ONNX Runtime", bm.label, run_ort, bm, args, onnx_path)
        torch_rounds.append(torch_out and torch_out["rows"])
        ort_rounds.append(ort_rows)
        seqc_rows = None
        if args.seqc_ok:
            seqc_rows = attempt("seqc", bm.label, run_seqc, bm, args, work, meta, exe)
            exe = (seqc_rows or [{}])[0].get("exe")
        seqc_rounds.append(seqc_rows)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "exe"} for r in rows]
    present = lambda rounds: [r for r in rounds if r]
    columns = {"seqc": index_rows(strip(median_rounds(present(seqc_rounds)))),
               "torch": index_rows(median_rounds(present(torch_rounds))),
               "ort": index_rows(median_rounds(present(ort_rounds)))}
    rounds = [{"seqc": s, "torch": t, "ort": o} for s, t, o in zip(seqc_rounds, torch_rounds, ort_rounds)]
    rows = []
    for threads in args.threads:
        for batch in batches_of(bm, args):
            row = {"model": bm.label, "batch": batch, "threads": threads, **stats}
            for name, col in columns.items():
                r = col.get((batch, threads))
                row[name] = {k: v for k, v in r.items() if k not in ("batch", "threads")} if r else None
            for peers in (("torch",), ("ort",), ("torch", "ort")):
                row["paired_" + "_".join(peers)] = paired(rounds, (batch, threads), peers)
            row["seqc_by_round"] = [(index_rows(r).get((batch, threads)) or {}).get("median_ms")
                                    for r in seqc_rounds]
            rows.append(row)
    return rows


def ratio(row, peer):
    if row["seqc"] and row[peer]:
        return row[peer]["median_ms"] / row["seqc"]["median_ms"]
    return None


# Batch-1 rows with fewer flops per weight byte than this, and weights
# larger than the caches, stream their weights from memory.
WEIGHT_BOUND_FLOPS_PER_BYTE = 4.0
WEIGHT_BOUND_MIN_BYTES = 16 << 20


def weight_bound(row):
    macs, weights = row.get("macs_per_sample"), row.get("weight_bytes")
    return bool(row["batch"] == 1 and macs and weights and weights >= WEIGHT_BOUND_MIN_BYTES
                and 2.0 * macs / weights < WEIGHT_BOUND_FLOPS_PER_BYTE)


def weights_mb(row):
    return -(-row["weight_bytes"] // (1 << 20))


def derive(row, probe):
    """Adds GFLOP/s, % of the FMA peak, GB/s and % of the read bandwidth
    (weight-bound batch-1 rows), and best peer / seqc to a row."""
    seqc = row["seqc"] and row["seqc"]["median_ms"]
    peers = [row[p]["median_ms"] for p in ("torch", "ort") if row[p]]
    # the median of the rounds' own ratios where every round ran all three
    # (bench_model), else the ratio of the medians
    best = row.get("paired_torch_ort")
    row["best_over_seqc"] = (statistics.median_low(best) if best
                             else min(peers) / seqc if seqc and peers else None)
    for peer in ("torch", "ort"):
        own = row.get("paired_" + peer)
        row[peer + "_over_seqc"] = statistics.median_low(own) if own else ratio(row, peer)
    macs, weights = row.get("macs_per_sample"), row.get("weight_bytes")
    if not seqc or not macs:
        return
    t = row["threads"]
    row["gflops"] = 2.0 * macs * row["batch"] / (seqc * 1e-3) * 1e-9
    if probe and t <= len(probe["fma_gflops"]):
        row["pct_peak"] = 100.0 * row["gflops"] / probe["fma_gflops"][t - 1]
    if weight_bound(row):
        row["gbs"] = weights / (seqc * 1e-3) * 1e-9
        if probe and t <= len(probe["read_gbs"]):
            row["pct_bw"] = 100.0 * row["gbs"] / probe["read_gbs"][t - 1]
        same_size = (probe or {}).get("read_gbs_at_mb", {}).get(str(weights_mb(row)))
        if same_size and t <= len(same_size):
            row["pct_bw_same_size"] = 100.0 * row["gbs"] / same_size[t - 1]


def fmt(v, spec=".3f"):
    if v is None:
        return "-"
    if spec == ".3f" and v < 0.1:
        return format(v, ".4f")
    return format(v, spec)


def geomean(values):
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def print_table(rows, probe):
    if probe:
        print(f"\nprobe: FMA peak {probe['fma_gflops']} GFLOP/s "
              f"({probe.get('fma_chains')} chains of {probe['vector_bits']}-bit FMAs), "
              f"read bandwidth {probe['read_gbs']} GB/s ({probe['buffer_mb']} MB buffer, "
              f"LLC {probe.get('llc_mb')} MB) on 1..T pinned threads")
        for mb, gbs in (probe.get("read_gbs_at_mb") or {}).items():
            print(f"       read bandwidth over {mb} MB (a weight-bound model's weights, "
                  f"read again and again): {gbs} GB/s")
        trips = probe.get("core_to_core_ns")
        if trips:
            trips = trips if isinstance(trips, list) else [trips]
            print(f"       a cache line's round trip between the first two CPUs: "
                  f"{' ns, then '.join(str(t) for t in trips)} ns (tens: they share an L3; "
                  f"hundreds: they do not, and the two-thread rows that move data between "
                  f"the cores are slower)")
        print("%bw: of the read bandwidth over the big buffer (memory); %ws: over a buffer "
              "the size of the model's weights")
    head = f"{'model':<16}{'batch':>6}{'thr':>4}{'seqc ms':>10}{'torch ms':>10}{'ort ms':>10}" \
           f"{'GFLOP/s':>9}{'%peak':>7}{'GB/s':>7}{'%bw':>6}{'%ws':>6}{'best/seqc':>10}"
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        med = {k: r[k] and r[k]["median_ms"] for k in ("seqc", "torch", "ort")}
        print(f"{r['model']:<16}{r['batch']:>6}{r['threads']:>4}{fmt(med['seqc']):>10}"
              f"{fmt(med['torch']):>10}{fmt(med['ort']):>10}"
              f"{fmt(r.get('gflops'), '.1f'):>9}{fmt(r.get('pct_peak'), '.0f'):>7}"
              f"{fmt(r.get('gbs'), '.1f'):>7}{fmt(r.get('pct_bw'), '.0f'):>6}"
              f"{fmt(r.get('pct_bw_same_size'), '.0f'):>6}"
              f"{fmt(r.get('best_over_seqc'), '.2f'):>10}")
    g = geomean(r.get("best_over_seqc") for r in rows)
    print(f"geomean best peer / seqc over {sum(1 for r in rows if r.get('best_over_seqc'))} "
          f"rows: {fmt(g, '.2f')}   (medians of single calls; > 1: seqc is faster)")
    return g


def scaling(rows):
    """seqc's 1 -> 2 thread speed-up for every model and batch timed on both:
    the median of the rounds' own (both timed in one run of seqc's harness,
    seconds apart), else the ratio of the medians."""
    by = {(r["model"], r["batch"], r["threads"]): r for r in rows if r["seqc"]}
    out = []
    for (model, batch, threads), one in by.items():
        two = by.get((model, batch, 2))
        if threads == 1 and two:
            ms_1, ms_2 = one["seqc"]["median_ms"], two["seqc"]["median_ms"]
            rounds = [a / b for a, b in zip(one.get("seqc_by_round") or [], two.get("seqc_by_round") or [])
                      if a and b]
            out.append({"model": model, "batch": batch, "ms_1": ms_1, "ms_2": ms_2,
                        "speedup": statistics.median_low(rounds) if rounds else ms_1 / ms_2})
    return out


def print_scaling(scale):
    if not scale:
        return
    print(f"\n{'seqc scaling':<16}{'batch':>6}{'1 thr ms':>10}{'2 thr ms':>10}{'speed-up':>10}")
    for s in scale:
        flag = "  < 1.8" if s["ms_1"] > 1.0 and s["speedup"] < 1.8 else ""
        print(f"{s['model']:<16}{s['batch']:>6}{s['ms_1']:>10.3f}{s['ms_2']:>10.3f}"
              f"{s['speedup']:>10.2f}{flag}")


def ort_version():
    try:
        with open(os.path.join(HERE, "node_modules", "onnxruntime-node", "package.json")) as f:
            return json.load(f)["version"]
    except OSError:
        return None


def autogroup_enabled():
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def warn_if_busy(meta):
    """Records the load average; warns when other work shares the cores.
    With the kernel's autogroup scheduling on (Debian's default), a
    background job started from another session (a build under nice -n 19)
    gets as much CPU as the benchmark: nice orders processes only within a
    session. Measured on the 2-core VM with a nice'd build running: the
    probe's 2-thread FMA peak fell from 399 to 193 GFLOP/s, and seqc's
    batch-1 VGG block from 4.0 to 8.4 ms; with autogroup off, 4.0 ms."""
    meta["loadavg_at_start"] = os.getloadavg()[0]
    meta["sched_autogroup"] = autogroup_enabled()
    if meta["loadavg_at_start"] > 0.5 * (os.cpu_count() or 1):
        print(f"warning: load average {meta['loadavg_at_start']:.1f} on "
              f"{os.cpu_count()} cores: timings (2 threads above all) will be noisy")
        if meta["sched_autogroup"]:
            print("warning: autogroup scheduling is on, so nice'd work of another session takes "
                  "an equal share of the cores; as root, `echo 0 > "
                  "/proc/sys/kernel/sched_autogroup_enabled` lets the benchmark come first")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def describe_blas(meta):
    blas = meta.get("blas") or {}
    libs = ", ".join(blas.get("libraries", [])) or "none found"
    core = blas.get("openblas_core")
    return f"PyTorch BLAS: {libs}" + (f" (OpenBLAS core {core}: {blas.get('openblas_config')})"
                                      if core else " (not OpenBLAS)")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--seqc", help="default: BUILD/compiler/seqc")
    p.add_argument("--models", help="comma-separated labels (default: all)")
    p.add_argument("--zoo-all", action="store_true",
                   help="every examples/zoo model, not only the three of the standard run")
    p.add_argument("--batches", help="comma-separated (default: each model's own)")
    p.add_argument("--probe-mb", type=int, default=0,
                   help="the read-bandwidth probe's buffer, in MB (0: 4x the LLC, "
                        "512 to 4096)")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--rounds", type=int, default=1,
                   help="time seqc, PyTorch and ONNX Runtime this many times in turn; "
                        "each row keeps the median of the rounds' medians")
    p.add_argument("--min-time", type=float, default=1.0,
                   help="seconds of timed calls per configuration")
    p.add_argument("--cc", default=os.environ.get("CC", "cc"))
    p.add_argument("--out", default=os.path.join(HERE, "results.json"))
    p.add_argument("--torch-worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")] if args.batches else None
    args.threads = [int(t) for t in args.threads.split(",")]
    args.seqc = args.seqc or os.path.join(args.build, "compiler", "seqc")
    return args


def selected_models(args):
    import twins
    wanted = set(args.models.split(",")) if args.models else None
    for bm in twins.all_models(extra=args.zoo_all):
        if wanted and bm.label not in wanted:
            continue
        if not os.path.exists(os.path.join(ROOT, bm.seq_file)):
            print(f"skipping {bm.label}: {bm.seq_file} does not exist yet")
            continue
        yield bm


def main():
    args = parse_args()
    if args.torch_worker:
        return torch_worker(json.loads(args.torch_worker))
    args.seqc_ok = os.access(args.seqc, os.X_OK)
    if not args.seqc_ok:
        print(f"seqc column skipped: {args.seqc} does not exist (build the compiler "
              f"first: cmake --build {args.build}); timing PyTorch and ONNX Runtime only")
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "cpu": cpu_name(), "nproc": os.cpu_count(), "onnxruntime_node": ort_version(),
            "min_time_s": args.min_time}
    warn_if_busy(meta)
    rows = []
    with tempfile.TemporaryDirectory(prefix="seqc-bench-") as work:
        print("== the probe", flush=True)
        first = attempt("the probe", "probe", run_probe, args, work, [])
        for bm in selected_models(args):
            rows += bench_model(bm, args, work, meta)
        # after the models again, with the read bandwidth over the sizes of
        # their weights; the peaks are the better of the two probes
        sizes = sorted({weights_mb(r) for r in rows if weight_bound(r)})
        print("== the probe again", flush=True)
        probe = best_of_probes(first, attempt("the probe", "probe", run_probe, args, work, sizes))
        meta["probe"] = probe
    for r in rows:
        derive(r, probe)
    meta["geomean_best_over_seqc"] = print_table(rows, probe)
    scale = scaling(rows)
    print_scaling(scale)
    print(describe_blas(meta))
    if meta.get("seqc_build_s"):
        print("seqc build (s): " + ", ".join(f"{k} {v:.2f}" for k, v in meta["seqc_build_s"].items()))
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "rows": rows, "scaling": scale}, f, indent=1)
    print(f"wrote {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
