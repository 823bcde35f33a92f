#!/usr/bin/python3
"""threads_agree.py: a forward computes the same output, bit for bit, on
contexts of 1, 2 and 3 workers. Each output sums its terms in one order
however a layer's work is split, so any difference is a race between two
tasks (or a task writing outside its share). Builds models whose layers
split their work in every way (bands of rows, runs of positions, panels
of output channels, blocks of channels, images), links each into
tests/e2e/forward/threads_main.c, and calls it many times at batch 1 and
3. Needs no torch.

A race this caught: a depthwise band's last row stored a whole vector
past the end of a 28- or 56-wide row, into the next band's first row,
which another task may already have written (MobileNet-style blocks
differed from one worker's output in most calls).
"""
import os
import subprocess

import e2e_common as common

MODELS = {
    # depthwise-separable blocks (MobileNet v1): depthwise convolutions of
    # 56- and 28-wide rows, alone and fused with the 1x1 before them, one
    # of stride 2; a 14 x 14 one with its channels in the vector lanes
    "separable": """
module Separable(c_in: int, c_out: int, stride: int) {
    dw = Conv2d(c_in, c_in, kernel_size=3, stride=stride, padding=1, groups=c_in, bias=False)
    bn1 = BatchNorm2d(c_in)
    pw = Conv2d(c_in, c_out, kernel_size=1, bias=False)
    bn2 = BatchNorm2d(c_out)
    forward(x) {
        x = relu6(bn1(dw(x)))
        return relu6(bn2(pw(x)))
    }
}
model Net(x: [N, 16, 56, 56]) = Sequential(
    Separable(16, 40, 1), Separable(40, 48, 2), Separable(48, 48, 1), Separable(48, 64, 2),
    Separable(64, 72, 1), AdaptiveAvgPool2d(1), Flatten(), Linear(72, 10))
""",
    # inverted residuals (MobileNetV2) with SiLU and squeeze-and-excitation
    # (EfficientNet): expansions fused into their depthwise convolutions,
    # projections in runs of positions, residual adds
    "inverted": """
module Inverted(c: int, e: int) {
    expand = Sequential(Conv2d(c, e, 1, bias=False), BatchNorm2d(e), SiLU())
    dw = Sequential(Conv2d(e, e, 3, padding=1, groups=e, bias=False), BatchNorm2d(e), SiLU())
    se1 = Conv2d(e, 8, 1)
    se2 = Conv2d(8, e, 1)
    project = Sequential(Conv2d(e, c, 1, bias=False), BatchNorm2d(c))
    forward(x) {
        y = dw(expand(x))
        s = sigmoid(se2(silu(se1(adaptive_avg_pool2d(y, 1)))))
        return x + project(y * s)
    }
}
model Net(x: [N, 3, 112, 112]) = Sequential(
    Conv2d(3, 24, 3, stride=2, padding=1, bias=False), BatchNorm2d(24), ReLU6(),
    Inverted(24, 72), Conv2d(24, 32, 3, stride=2, padding=1), Inverted(32, 96),
    Conv2d(32, 48, 3, stride=2, padding=1), Inverted(48, 144), Inverted(48, 144),
    Conv2d(48, 80, 3, stride=2, padding=1), Inverted(80, 240),
    AdaptiveAvgPool2d(1), Flatten(), Linear(80, 10))
""",
    # dense convolutions: padded 3 x 3 in bands of rows and panels of 32
    # output channels (40: a partial panel), stride 2, a 1 x 1 shortcut,
    # pooling, and a Linear split by its output columns
    "dense": """
module Block(c: int) {
    conv1 = Conv2d(c, c, 3, padding=1, bias=False)
    bn1 = BatchNorm2d(c)
    conv2 = Conv2d(c, c, 3, padding=1, bias=False)
    bn2 = BatchNorm2d(c)
    forward(x) { return relu(x + bn2(conv2(relu(bn1(conv1(x)))))) }
}
model Net(x: [N, 3, 60, 60]) = Sequential(
    Conv2d(3, 40, 3, padding=1), ReLU(), Block(40), MaxPool2d(2),
    Conv2d(40, 72, 3, stride=2, padding=1), ReLU(), Block(72),
    Conv2d(72, 136, 1), ReLU(), AdaptiveAvgPool2d(3), Flatten(), Linear(136 * 9, 300), ReLU(), Linear(300, 10))
""",
    # unpadded convolutions of rows narrower than a vector (LeNet-5's
    # 10 x 10 layer, then 8 x 8 and 6 x 6): each call stores whole vectors
    # into the rows after a tile's, never past its own last row, and a
    # chunk of tasks runs as one call per image and panel
    "narrow": """
model Net(x: [N, 6, 14, 14]) = Sequential(
    Conv2d(6, 16, 5), Tanh(), Conv2d(16, 16, 3), ReLU(), Conv2d(16, 32, 3), ReLU(),
    Flatten(), Linear(32 * 6 * 6, 10))
""",
}
CALLS = "60"


def main():
    args = common.parse_args(__doc__, need_build=True)
    report = common.Report("outputs on 1, 2 and 3 workers")
    with common.tempdir(args, "seqc-threads-") as d:
        for name, source in MODELS.items():
            seq = os.path.join(d, f"{name}.seq")
            with open(seq, "w") as f:
                f.write(source)
            cp = common.seqc(args, "build", seq, "-o", os.path.join(d, "net.o"), "--prefix", "net")
            if cp.returncode != 0:
                report.fail(f"seqc build {name}", common.show_cmd(cp) + "\n" + cp.stdout + cp.stderr)
                continue
            exe = os.path.join(d, name)
            cp = subprocess.run(
                [args.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1",
                 os.path.join(common.HERE, "forward", "threads_main.c"), os.path.join(d, "net.o"),
                 "-I", args.include, "-I", d, "-L", args.libdir, "-lseqrt", f"-Wl,-rpath,{args.libdir}",
                 "-lpthread", "-lm", "-o", exe],
                capture_output=True, text=True)
            if cp.returncode != 0:
                report.fail(f"cc threads_main.c with {name}", common.show_cmd(cp) + "\n" + cp.stdout + cp.stderr)
                continue
            for batch in ("1", "3"):
                cp = subprocess.run([exe, CALLS, batch], capture_output=True, text=True, timeout=300)
                what = f"{name} at batch {batch}"
                if cp.returncode != 0:
                    report.fail(what, common.show_cmd(cp) + "\n" + cp.stdout + cp.stderr)
                else:
                    report.ok(what, cp.stdout.strip())
    report.finish()


if __name__ == "__main__":
    main()
