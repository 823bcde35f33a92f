"""differential_layers.py: built-in layers with random, mostly valid
arguments, and the shape probe that runs a candidate in PyTorch (for
differential_gen.py). A layer PyTorch (or LANGUAGE.md) would reject is
dropped by its caller and drawn again.
"""

import torch
from torch import nn

from differential_nodes import REQ, Layer, Net

MAX_ELEMS = 40_000  # largest activation per sample


# ---------------------------------------------------------------------------
# Built-in layers with random, mostly valid arguments
# ---------------------------------------------------------------------------

def pick_groups(rng, cin, cout):
    """(groups, out_channels): plain, depthwise or grouped."""
    r = rng.random()
    if r < 0.2 and (cout is None or cout % cin == 0):
        return cin, cout or cin * rng.choice([1, 1, 2])
    if r < 0.35:
        divs = [d for d in range(2, cin + 1) if cin % d == 0
                and (cout is None or cout % d == 0)]
        if divs:
            g = rng.choice(divs)
            return g, cout or g * rng.randint(1, max(1, 16 // g))
    # sometimes 16 to 40 channels: seqk_conv2d_packed's panels of 32
    # (full, partial and a half-panel last) and its tile shapes
    return 1, cout or (rng.randint(1, 16) if rng.random() < 0.6 else rng.randint(16, 40))


def pick_padding(rng, dims, k, stride):
    kmax = max(k) if isinstance(k, tuple) else k
    r = rng.random()
    if r < 0.2 and stride == 1:
        return "same"
    if r < 0.3:
        return "valid"
    if r < 0.45 and dims == 2:
        return (rng.randint(0, kmax // 2 + 1), rng.randint(0, kmax // 2 + 1))
    return rng.randint(0, kmax // 2 + 1)


def conv_args(cin, cout, k, stride=1, padding=0, dilation=1, groups=1, bias=True):
    """Conv arguments in PyTorch's order (positional rendering relies on it)."""
    return [("in_channels", cin, REQ), ("out_channels", cout, REQ),
            ("kernel_size", k, REQ), ("stride", stride, 1), ("padding", padding, 0),
            ("dilation", dilation, 1), ("groups", groups, 1), ("bias", bias, True)]


def conv2d(rng, *a, **kw):
    return Layer("Conv2d", conv_args(*a, **kw), rng)


def conv(rng, dims, cin, cout=None, keep_size=False):
    """Conv1d/Conv2d with random kernel 1-5, stride 1-3, padding, dilation,
    groups and bias; keep_size forces stride 1 and padding='same'."""
    k = rng.randint(1, 5)
    if dims == 2 and rng.random() < 0.25:
        k = (k, rng.randint(1, 5))
    stride = 1 if keep_size or rng.random() < 0.5 else rng.randint(2, 3)
    if dims == 2 and stride != 1 and rng.random() < 0.2:
        stride = (stride, rng.randint(1, 2))
    groups, cout = pick_groups(rng, cin, cout)
    padding = "same" if keep_size else pick_padding(rng, dims, k, stride)
    args = conv_args(cin, cout, k, stride, padding,
                     1 if rng.random() < 0.75 else 2, groups, rng.random() < 0.75)
    return Layer(f"Conv{dims}d", args, rng)


def linear(rng, fin, fout, bias=None):
    bias = rng.random() < 0.8 if bias is None else bias
    return Layer("Linear", [("in_features", fin, REQ),
                            ("out_features", fout, REQ),
                            ("bias", bias, True)], rng)


def batchnorm(rng, dims, c):
    args = [("num_features", c, REQ),
            ("eps", rng.choice([1e-5, 1e-5, 1e-3, 0.01]), 1e-5),
            ("momentum", rng.choice([0.1, 0.1, 0.05]), 0.1),
            ("affine", rng.random() < 0.85, True)]
    return Layer(f"BatchNorm{dims}d", args, rng)


def layernorm(rng, shape):
    norm = shape[-1]
    if len(shape) >= 2 and rng.random() < 0.25:
        norm = tuple(shape[-2:])
    args = [("normalized_shape", norm, REQ),
            ("eps", rng.choice([1e-5, 1e-6, 1e-3]), 1e-5),
            ("elementwise_affine", rng.random() < 0.8, True)]
    return Layer("LayerNorm", args, rng)


ACTIVATIONS = ["ReLU", "ReLU6", "LeakyReLU", "Sigmoid", "Tanh", "GELU",
               "SiLU", "Hardswish", "ELU"]


def activation(rng, kind=None):
    kind = kind or rng.choice(ACTIVATIONS)
    inplace = [("inplace", rng.random() < 0.3, False)]
    args = {
        "ReLU": inplace, "ReLU6": inplace, "SiLU": inplace,
        "Hardswish": inplace, "Sigmoid": [], "Tanh": [],
        "LeakyReLU": [("negative_slope", rng.choice([0.01, 0.1, 0.2, 0.3]),
                       0.01)] + inplace,
        "ELU": [("alpha", rng.choice([1.0, 0.5, 1.5, 2.0]), 1.0)] + inplace,
        "GELU": [("approximate", rng.choice(["none", "tanh"]), "none")],
    }[kind]
    return Layer(kind, args, rng)


def pool_kernel(rng):
    k = rng.randint(1, 4)
    return (k, rng.randint(1, 4)) if rng.random() < 0.2 else k


def half(k):
    return min(k) // 2 if isinstance(k, tuple) else k // 2


def pool_args(rng, avg):
    """Arguments of MaxPool2d / AvgPool2d (and their functional forms):
    padding at most half the kernel, random ceil_mode."""
    k = pool_kernel(rng)
    stride = rng.choice([None, None, 1, 2, 3])
    args = [("kernel_size", k, REQ), ("stride", stride, None),
            ("padding", rng.randint(0, half(k)), 0)]
    if not avg:
        args.append(("dilation", 1 if rng.random() < 0.8 else 2, 1))
    args.append(("ceil_mode", rng.random() < 0.35, False))
    if avg:
        args.append(("count_include_pad", rng.random() < 0.6, True))
    return args


def pair(v):
    return v if isinstance(v, tuple) else (v, v)


def pooled_size(size, k, s, p, d, ceil):
    """PyTorch 1.13's pooling_output_shape."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def pool_fits(args, shape):
    """A (dilated) kernel larger than its padded input is an error, except
    with ceil_mode when a window still starts inside the input (a 2x2 pool
    of a 1x1 input gives 1x1), as in PyTorch."""
    a = {k: v for k, v, _ in args}
    k, p = pair(a["kernel_size"]), pair(a["padding"])
    s = pair(a["stride"] if a.get("stride") is not None else a["kernel_size"])
    d, ceil = a.get("dilation", 1), a.get("ceil_mode", False)
    return all(d * (k[i] - 1) + 1 <= shape[1 + i] + 2 * p[i] or
               (ceil and pooled_size(shape[1 + i], k[i], s[i], p[i], d, True) >= 1)
               for i in (0, 1))


def pool(rng, shape):
    avg = rng.random() < 0.5
    args = pool_args(rng, avg)
    if not pool_fits(args, shape):
        return None
    # MaxPool2d's fifth parameter is return_indices in PyTorch: keep
    # ceil_mode a keyword.
    return Layer("AvgPool2d" if avg else "MaxPool2d", args,
                 rng, max_pos=None if avg else 4)


def adaptive(rng, shape):
    h, w = shape[-2:]
    size = rng.randint(1, min(h, w, 4))
    if rng.random() < 0.3:
        size = (rng.randint(1, min(h, 4)), rng.randint(1, min(w, 4)))
    return Layer("AdaptiveAvgPool2d", [("output_size", size, REQ)], rng)


def passthrough(rng, dims):
    r = rng.random()
    if r < 0.4:
        return Layer("Identity", [], rng)
    kind = "Dropout2d" if dims == 2 and r < 0.6 else "Dropout"
    return Layer(kind, [("p", rng.choice([0.1, 0.25, 0.5]), 0.5)], rng)


def softmax_layer(rng, rank):
    dim = rng.randint(1, rank - 1)
    if rng.random() < 0.4:
        dim -= rank
    kind = rng.choice(["Softmax", "LogSoftmax"])
    return Layer(kind, [("dim", dim, REQ)], rng)


# ---------------------------------------------------------------------------
# Shape probing in PyTorch
# ---------------------------------------------------------------------------

def probe(children, py_lines, shape, batch):
    """Runs a stage on a dummy batch of 2: (output shape, MACs per sample),
    or None when PyTorch rejects it."""
    macs = [0]

    def count(module, inputs, output):
        w = module.weight
        macs[0] += output.numel() // 2 * w[0].numel()

    try:
        net = Net([(n, node.build()) for n, node in children],
                  py_lines + ["return x"], batch)
        net.eval()
        for m in net.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                m.register_forward_hook(count)
        with torch.no_grad():
            out = net(torch.zeros(2, *shape))
    except (RuntimeError, ValueError, TypeError, IndexError, ZeroDivisionError):
        return None
    if out.shape[0] != 2 or out.numel() // 2 > MAX_ELEMS:
        return None
    return tuple(out.shape[1:]), macs[0]


def layer_fits(layer, shape):
    got = probe([("m", layer)], ["x = self.m(x)"], shape, "N")
    return got and got[0]


