#!/usr/bin/python3
"""pool_ceil_parity.py: MaxPool2d / AvgPool2d with ceil_mode on inputs no
larger than the kernel (where the last window hangs over the input's end or
the whole input is one partial window), seqc run against PyTorch 1.13.

usage: pool_ceil_parity.py --seqc SEQC
"""
import os
import struct
import sys

from e2e_common import Report, compare, import_torch_models, parse_args, read_npy, seqc, tempdir, write_npy

# (layer as written in both languages, input [C, H, W]); every case is one
# PyTorch accepts and a floor-mode pool would reject or shrink.
CASES = [
    ("MaxPool2d(2, ceil_mode=True)", [3, 1, 1]),
    ("AvgPool2d(2, ceil_mode=True)", [3, 1, 1]),
    ("AvgPool2d(2, ceil_mode=True, count_include_pad=False)", [2, 1, 1]),
    ("MaxPool2d(3, stride=2, ceil_mode=True)", [2, 2, 4]),
    ("AvgPool2d(3, stride=2, padding=1, ceil_mode=True)", [2, 2, 2]),
    ("AvgPool2d(4, stride=3, padding=2, ceil_mode=True, count_include_pad=False)", [1, 3, 5]),
    ("MaxPool2d(2, stride=2, dilation=2, ceil_mode=True)", [2, 2, 3]),
    ("MaxPool2d((3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True)", [2, 1, 4]),
]


def main():
    args = parse_args(__doc__.splitlines()[0])
    import_torch_models()
    import numpy as np
    import torch
    from torch import nn  # noqa: F401 (the cases are evaluated with nn in scope)
    report = Report("pool ceil_mode parity")
    with tempdir(args, "seqc-pool-ceil-") as d:
        weights = os.path.join(d, "empty.safetensors")
        with open(weights, "wb") as f:
            f.write(struct.pack("<Q", 8) + b"{}      ")
        for i, (layer, shape) in enumerate(CASES):
            src, x_path, y_path = (os.path.join(d, n) for n in (f"m{i}.seq", f"x{i}.npy", f"y{i}.npy"))
            with open(src, "w") as f:
                f.write(f"model M(x: [N, {', '.join(map(str, shape))}]) = Sequential({layer})\n")
            x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(i))
            expected = eval("nn." + layer)(x).numpy()
            write_npy(x_path, x.numpy())
            cp = seqc(args, "run", src, "--weights", weights, "--input", x_path, "--output", y_path)
            if cp.returncode != 0:
                report.fail(layer, f"seqc run exited {cp.returncode}:\n{cp.stderr}")
                continue
            actual = read_npy(y_path, int(np.prod(expected.shape)))
            ok, message = compare(expected.reshape(-1), actual)
            (report.ok if ok else report.fail)(f"{layer} on {shape} -> {list(expected.shape[1:])}", message)
    report.finish()


if __name__ == "__main__":
    sys.exit(main())
