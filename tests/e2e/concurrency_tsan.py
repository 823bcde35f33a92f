#!/usr/bin/python3
"""concurrency_tsan.py: one compiled forward called by 8 threads at once,
sharing one weights handle, each thread with its own context, under
ThreadSanitizer, in every ctest run. Builds a small conv net with
`seqc build --sanitize thread` (the forward and its kernels instrumented),
compiles libseqrt's sources and tests/e2e/forward/concurrency_main.c with
clang-19 -fsanitize=thread, and runs the program: every thread must agree
bit for bit with a lone call, and ThreadSanitizer must report nothing.
Then the program's race mode (2 threads, one output buffer) must be
reported as a data race in the forward: the instrumentation works.
Skipped (77) without clang-19.
"""
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess

import e2e_common as common

MODEL = """model Net(x: [N, 3, 16, 16]) {
    features = Sequential(Conv2d(3, 16, 3, padding=1), BatchNorm2d(16), ReLU(), MaxPool2d(2),
                          Conv2d(16, 32, 3, padding=1), ReLU(), AdaptiveAvgPool2d(2))
    head = Linear(128, 10)
    forward(x) { return log_softmax(head(features(x).view(x.shape[0], -1)), dim=1) }
}
"""
TSAN = ["-fsanitize=thread", "-O1", "-g", "-fno-omit-frame-pointer"]
SYMBOLIZER = "/usr/lib/llvm-19/bin/llvm-symbolizer"


def run(report, what, cmd, **kw):
    cp = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if cp.returncode != 0:
        report.fail(what, common.show_cmd(cp) + "\n" + cp.stdout + cp.stderr)
        report.finish()
    return cp


def main():
    args = common.parse_args(__doc__, need_build=True)
    report = common.Report("concurrency under ThreadSanitizer")
    if not shutil.which("clang-19") or not shutil.which("clang++-19"):
        print("skipped: clang-19 is not installed")
        raise SystemExit(common.SKIP)
    runtime = os.path.join(args.root, "runtime")
    with common.tempdir(args, "seqc-tsan-") as d:
        seq = os.path.join(d, "net.seq")
        with open(seq, "w") as f:
            f.write(MODEL)
        cp = common.seqc(args, "build", seq, "-o", os.path.join(d, "net.o"), "--prefix", "net",
                         "--sanitize", "thread")
        if cp.returncode != 0:
            report.fail("seqc build", common.show_cmd(cp) + "\n" + cp.stdout + cp.stderr)
            report.finish()

        def compile_one(source):
            obj = os.path.join(d, os.path.basename(source) + ".o")
            run(report, f"clang++-19 -fsanitize=thread {os.path.basename(source)}",
                ["clang++-19", "-std=c++20", *TSAN, "-I", os.path.join(runtime, "include"),
                 "-I", os.path.join(runtime, "src"), "-c", source, "-o", obj])
            return obj

        sources = sorted(glob.glob(os.path.join(runtime, "src", "*.cpp")))
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            objects = list(pool.map(compile_one, sources))
        exe = os.path.join(d, "concurrency")
        run(report, "link concurrency_main.c under ThreadSanitizer",
            ["clang-19", "-std=c11", *TSAN, "-Wall", "-Werror",
             os.path.join(common.HERE, "forward", "concurrency_main.c"), os.path.join(d, "net.o"),
             *objects, "-I", os.path.join(runtime, "include"), "-I", d,
             "-lstdc++", "-lpthread", "-lm", "-o", exe])
        options = "halt_on_error=1:exitcode=66:second_deadlock_stack=1"
        if os.path.exists(SYMBOLIZER):
            options += ":external_symbolizer_path=" + SYMBOLIZER
        env = dict(os.environ, TSAN_OPTIONS=options)
        # ThreadSanitizer reads UBSAN_OPTIONS too (an ASan build's exitcode).
        env.pop("UBSAN_OPTIONS", None)
        cp = subprocess.run([exe], capture_output=True, text=True, timeout=600, env=env)
        if cp.returncode != 0 or "ThreadSanitizer" in cp.stderr:
            report.fail("8 threads, one forward, one weights handle",
                        f"exit code {cp.returncode}\n{cp.stdout}{cp.stderr[-6000:]}")
        else:
            report.ok("8 threads, one forward, one weights handle, no ThreadSanitizer report",
                      cp.stdout.strip())
        # The forward's own stores are visible: one output buffer for two
        # threads is a data race, reported in the generated code.
        cp = subprocess.run([exe, "race"], capture_output=True, text=True, timeout=600, env=env)
        what = "2 threads, one output buffer: a data race in the forward"
        if cp.returncode != 66 or "ThreadSanitizer: data race" not in cp.stderr:
            report.fail(what, f"exit code {cp.returncode} (66 expected)\n{cp.stdout}{cp.stderr[-6000:]}")
        elif not re.search(r"#\d+ net[._]", cp.stderr):
            # a frame of the generated code: net_forward, or net.images,
            # net.run_task... when the racing store ran in a pool worker
            report.fail(what, "the report names no function of the forward\n" + cp.stderr[-6000:])
        else:
            report.ok(what, "reported")
    report.finish()


if __name__ == "__main__":
    main()
