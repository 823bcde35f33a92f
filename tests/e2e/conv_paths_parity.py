#!/usr/bin/python3
"""conv_paths_parity.py: convolutions that take the kernels' less common
paths, seqc run against PyTorch 1.13 at batch 1 on one thread and batch 3
on two.

- grouped convolutions whose groups fill half a panel (16 channels) or whole
  panels (32, 64): the packed tiles, group by group (ir::groupedPackedFits),
  padded or not, strided, dilated, a rectangular kernel; and groups of 4, 8
  and 48 channels beside them (the direct kernel, im2col; with 8 groups or
  more, a task per group: its im2col, then its GEMM); groups of 2, 4 and 8
  output channels of stride 1 (the lanes kernel, group by group:
  ir::groupLanesFit; rows shorter than 16 on the padded width's grid),
  RegNet's 104 and 208 channels in groups of 8 among them;
- convolutions of at most 64 taps with fewer than 16 output channels (the
  packed lanes kernel, its epilogue in registers: tanh, SiLU), and 1 -> 1,
  which stays depthwise; with column stride 2 and padding, on the padded
  copy's rows split by column parity (RegNet's stem among them);
- pointwise convolutions on 14x14 and 7x7 planes whose panels two threads
  would share unevenly (codegen's balanced pieces: 80, 672 and 160 output
  channels), with a residual added;
- depthwise convolutions of stride 1 on planes past 14 x 14 (up to 56 x 56:
  16 channels in the lanes, ir::depthwiseLanes, from 16 channels; 15 stay
  one channel at a time), odd sides and channel counts, dilated, the
  epilogue in registers (ReLU6) or not (SiLU);
- convolutions of 1 MB an image or more fused into the max pool after them
  (passes::fuseConvMaxPool: computed band by band of the pool's rows):
  stems padded or not, few taps or many, pools of stride 1 to 3, dilated,
  padded, ceil_mode.

usage: conv_paths_parity.py --seqc SEQC
"""
import os
import sys

from e2e_common import Report, compare, import_torch_models, parse_args, read_npy, seqc, tempdir, write_npy

# (layers as written in both languages, input [C, H, W], a residual input
# of the output's shape added in forward)
CASES = [
    ("Conv2d(64, 64, 3, padding=1, groups=4), ReLU()", [64, 13, 11], False),
    ("Conv2d(64, 64, 3, stride=2, padding=1, groups=4)", [64, 14, 15], False),
    ("Conv2d(128, 128, (3, 5), padding=(1, 2), groups=4, bias=False), BatchNorm2d(128), Sigmoid()",
     [128, 9, 20], False),
    ("Conv2d(96, 192, 3, padding=2, dilation=2, groups=3)", [96, 10, 10], False),
    ("Conv2d(64, 64, 3, groups=2)", [64, 8, 9], False),
    ("Conv2d(32, 32, 3, padding=1, groups=8)", [32, 12, 12], False),
    ("Conv2d(64, 64, 3, stride=2, padding=1, groups=8), ReLU()", [64, 16, 16], False),
    ("Conv2d(96, 96, 3, stride=2, groups=2)", [96, 13, 11], False),
    ("Conv2d(256, 256, 3, stride=2, padding=1, groups=32, bias=False), BatchNorm2d(256), ReLU()",
     [256, 34, 30], False),
    ("Conv2d(48, 48, 3, padding=1, groups=6, bias=False), BatchNorm2d(48), ReLU()", [48, 17, 33], False),
    ("Conv2d(64, 64, 3, stride=2, padding=1, groups=16)", [64, 20, 37], False),
    ("Conv2d(24, 12, 3, padding=1, groups=6), ReLU()", [24, 9, 16], True),
    ("Conv2d(104, 104, 3, stride=2, padding=1, groups=13, bias=False), BatchNorm2d(104), ReLU()",
     [104, 56, 56], False),
    ("Conv2d(208, 208, 3, padding=1, groups=26, bias=False), BatchNorm2d(208), ReLU()", [208, 14, 14], False),
    ("Conv2d(40, 40, 3, padding=1, groups=5), SiLU()", [40, 7, 7], False),
    ("Conv2d(16, 8, 3, padding=2, dilation=2, groups=4)", [16, 9, 5], True),
    ("Conv2d(1, 6, 5, padding=2), Tanh()", [1, 28, 28], False),
    ("Conv2d(2, 3, 3, stride=2, padding=1), SiLU()", [2, 19, 37], False),
    ("Conv2d(3, 32, 3, stride=2, padding=1, bias=False), BatchNorm2d(32), ReLU()", [3, 45, 100], False),
    ("Conv2d(3, 12, (3, 5), stride=(1, 2), padding=(1, 2)), Tanh()", [3, 8, 67], False),
    ("Conv2d(1, 1, 3, padding=1)", [1, 6, 19], False),
    ("Conv2d(24, 80, 1), ReLU6()", [24, 14, 14], True),
    ("Conv2d(16, 672, 1)", [16, 14, 14], True),
    ("Conv2d(40, 160, 1), SiLU()", [40, 7, 7], True),
    ("Conv2d(32, 32, 3, padding=1, groups=32, bias=False), BatchNorm2d(32), ReLU6()", [32, 56, 56], False),
    ("Conv2d(17, 17, 5, padding=2, groups=17), SiLU()", [17, 29, 31], True),
    ("Conv2d(15, 15, 3, padding=1, groups=15), ReLU()", [15, 30, 30], False),
    ("Conv2d(48, 48, 3, padding=2, dilation=2, groups=48)", [48, 23, 40], False),
    # a convolution computed inside the max pool after it, band by band
    # (FuseConvMaxPool: outputs of 1 MB an image or more): ResNet's stem,
    # SqueezeNet's (few taps: the lanes kernel, unpadded), a column-phased
    # stride-2 one with SiLU, one of 200 taps with Tanh under a dilated
    # pool of stride 1, and a 5x5 pool of stride 3 with ceil_mode
    ("Conv2d(3, 64, 7, stride=2, padding=3, bias=False), BatchNorm2d(64), ReLU(), "
     "MaxPool2d(3, stride=2, padding=1)", [3, 110, 150], False),
    ("Conv2d(3, 64, 3, stride=2), ReLU(), MaxPool2d(3, stride=2, ceil_mode=True)", [3, 150, 121], False),
    ("Conv2d(3, 40, 3, stride=2, padding=1), SiLU(), MaxPool2d(2)", [3, 191, 143], False),
    ("Conv2d(8, 32, 5, padding=2), Tanh(), MaxPool2d(3, stride=1, padding=1, dilation=2)", [8, 95, 90], False),
    ("Conv2d(3, 48, 3, padding=1), ReLU6(), MaxPool2d(5, stride=3, padding=2, ceil_mode=True)", [3, 79, 83],
     False),
]


def main():
    args = parse_args(__doc__.splitlines()[0])
    import_torch_models()
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x, r):
            return self.body(x) + r

    report = Report("convolution paths parity")
    with tempdir(args, "seqc-conv-paths-") as d:
        for i, (layers, shape, residual) in enumerate(CASES):
            torch.manual_seed(i)
            body = eval(f"nn.Sequential({layers})", {"nn": nn, **vars(nn)})
            for m in body.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-1, 1)
                    m.running_var.uniform_(0.5, 2.0)
            body.eval()
            out_shape = list(body(torch.zeros(1, *shape)).shape[1:])
            src, weights = os.path.join(d, f"m{i}.seq"), os.path.join(d, f"w{i}.pt")
            dims = ", ".join(map(str, shape))
            with open(src, "w") as f:
                if residual:
                    f.write(f"model M(x: [N, {dims}], r: [N, {', '.join(map(str, out_shape))}]) {{\n"
                            f"    body = Sequential({layers})\n"
                            "    forward(x, r) {\n        return body(x) + r\n    }\n}\n")
                else:
                    f.write(f"model M(x: [N, {dims}]) = Sequential({layers})\n")
            model = Residual(body) if residual else body
            torch.save(model.state_dict() if residual else body.state_dict(), weights)
            for batch, threads in ((1, 1), (3, 2)):
                gen = torch.Generator().manual_seed(100 * i + batch)
                inputs = [torch.randn(batch, *shape, generator=gen)]
                if residual:
                    inputs.append(torch.randn(batch, *out_shape, generator=gen))
                with torch.no_grad():
                    expected = model(*inputs).numpy()
                paths = []
                for k, x in enumerate(inputs):
                    paths.append(os.path.join(d, f"x{i}_{batch}_{k}.npy"))
                    write_npy(paths[-1], x.numpy())
                y_path = os.path.join(d, f"y{i}_{batch}.npy")
                cp = seqc(args, "run", src, "--weights", weights, "--input", *paths, "--output", y_path,
                          "--threads", str(threads))
                what = f"{layers} on {shape}, batch {batch}, {threads} thread(s)"
                if cp.returncode != 0:
                    report.fail(what, f"seqc run exited {cp.returncode}:\n{cp.stderr}")
                    continue
                actual = read_npy(y_path, expected.size)
                ok, message = compare(expected.reshape(-1), actual)
                (report.ok if ok else report.fail)(what, message)
    report.finish()


if __name__ == "__main__":
    sys.exit(main())
