#!/usr/bin/python3
"""deep_conv_precision.py: deep stacks of 3x3 convolutions with large
activations stay within the parity tolerance, element by element.

The stacks are what Winograd's transforms find hardest: no BatchNorm,
He-initialised weights (activations around 10 after six layers), the last
convolution's feature map compared itself (no pooling or classifier to
average its errors away). Every layer runs by seqc's Winograd kernel
(3x3, stride 1, 16 channels or more, planes of 8 or more), whose
F(2x2, 3x3) uses about 0.4 of the tolerance here; F(4x4, 3x3), 3 to 5
times less accurate in float, used 1.1 to 1.3 of it and is not used.

usage: deep_conv_precision.py --seqc SEQC
"""
import os
import sys

from e2e_common import Report, compare, import_torch_models, parse_args, seqc, tempdir
from safetensors_io import save

# (channels, plane, layers, input scale): the inputs uniform in [0, scale)
STACKS = [
    (64, 56, 6, 30.0),
    (256, 28, 4, 10.0),
    (128, 28, 5, 20.0),
]


def stack(torch, channels, layers, seed):
    """The PyTorch stack and its seqc source, weights He-initialised."""
    torch.manual_seed(seed)
    modules, lines = [], []
    for i in range(layers):
        conv = torch.nn.Conv2d(channels, channels, 3, padding=1)
        torch.nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        torch.nn.init.uniform_(conv.bias, -0.1, 0.1)
        modules.append(conv)
        lines.append(f"  Conv2d({channels}, {channels}, 3, padding=1),")
        if i < layers - 1:
            modules.append(torch.nn.ReLU())
            lines.append("  ReLU(),")
    return torch.nn.Sequential(*modules).eval(), lines


def main():
    args = parse_args(__doc__.splitlines()[0])
    import_torch_models()
    import numpy as np
    import torch
    report = Report("deep convolution precision")
    with tempdir(args, "seqc-deep-conv-") as d:
        for i, (channels, plane, layers, scale) in enumerate(STACKS):
            net, lines = stack(torch, channels, layers, seed=i)
            src, weights, x_path, y_path = (os.path.join(d, name) for name in
                                            (f"m{i}.seq", f"w{i}.safetensors", f"x{i}.npy", f"y{i}.npy"))
            with open(src, "w") as f:
                f.write(f"model Stack(x: [N, {channels}, {plane}, {plane}]) = Sequential(\n")
                f.write("\n".join(lines) + "\n)\n")
            save({k: v.detach().numpy() for k, v in net.state_dict().items()}, weights)
            x = torch.rand(1, channels, plane, plane, generator=torch.Generator().manual_seed(100 + i)) * scale
            np.save(x_path, x.numpy(), allow_pickle=False)
            with torch.no_grad():
                expected = net(x).numpy()
            what = f"{layers} x Conv2d({channels}, {channels}, 3) at {plane}x{plane}, inputs in [0, {scale:g})"
            cp = seqc(args, "run", src, "--model", "Stack", "--weights", weights, "--input", x_path,
                      "--output", y_path)
            if cp.returncode != 0:
                report.fail(what, f"seqc run exited {cp.returncode}:\n{cp.stderr}")
                continue
            actual = np.load(y_path, allow_pickle=False)
            ok, message = compare(expected.reshape(-1), actual.reshape(-1))
            used = np.max(np.abs(expected - actual.reshape(expected.shape)) / (1e-4 + 1e-4 * np.abs(expected)))
            detail = (f"|y| median {np.median(np.abs(expected)):.3g}, max {np.abs(expected).max():.3g};"
                      f" {used:.2f} of the tolerance at worst; {message}")
            (report.ok if ok else report.fail)(what, detail)
    report.finish()


if __name__ == "__main__":
    sys.exit(main())
