"""torch_models.py: the PyTorch twin of every model in examples/*.seq.

Each builder constructs an nn.Module with exactly the structure the .seq file
describes: the class is named after the model (so print(model) shows the
same name), user modules are classes named as the .seq module, children are
registered in the same order and under the same names. So str(model),
state_dict() names and shapes, and outputs must all match what seqc makes.

The registry (MODELS, INPUTS) and the helpers the parity scripts use
(build, make_inputs, run, ...) live in torch_registry.py and are re-exported
here; the version-2 twins (examples/layers_v2.seq) are in torch_models_v2.py.

Runs under /usr/bin/python3 (Debian's python3-torch 1.13).
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_registry import (INPUTS, MODELS, build, fixed_batch, input_shapes,  # noqa: F401
                            make_inputs, randomize, register, run, sequential_model)


# ---------------------------------------------------------------------------
# examples/seed000_sequential.seq
# ---------------------------------------------------------------------------
SEED000 = "examples/seed000_sequential.seq"
IMG28 = [("x", ("N", 1, 28, 28))]


def _seed000_layers():
    return [nn.Conv2d(1, 20, 5), nn.ReLU(), nn.Conv2d(20, 64, 5), nn.ReLU()]


def _seed000_dict():
    return OrderedDict(zip(["conv1", "relu1", "conv2", "relu2"],
                           _seed000_layers()))


@register(SEED000, "Seed000", IMG28)
def seed000():
    return sequential_model("Seed000", *_seed000_layers())


@register(SEED000, "Seed000Named", IMG28)
def seed000_named():
    return sequential_model("Seed000Named", _seed000_dict())


@register(SEED000, "Seed000Dict", IMG28)
def seed000_dict():
    return sequential_model("Seed000Dict", _seed000_dict())


@register(SEED000, "Seed000Cell", IMG28)
def seed000_cell():
    return sequential_model("Seed000Cell", *_seed000_layers())


@register(SEED000, "Seed000CellDict", IMG28)
def seed000_cell_dict():
    return sequential_model("Seed000CellDict", _seed000_dict())


# ---------------------------------------------------------------------------
# examples/net.seq, net_sequential.seq, net_module_list.seq (seed 002, fixed)
# ---------------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self, in_c=1, n_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_c, 32, kernel_size=3, stride=1, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 28 * 28, 1024)
        self.fc2 = nn.Linear(1024, n_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = x.view(x.shape[0], -1)
        x = torch.sigmoid(self.fc1(x))
        return self.fc2(x)


class NetSequential(nn.Module):
    def __init__(self, in_c=1, n_classes=10):
        super().__init__()
        self.conv_block1 = nn.Sequential(
            nn.Conv2d(in_c, 32, kernel_size=3, stride=1, padding=1),
            nn.BatchNorm2d(32), nn.ReLU())
        self.conv_block2 = nn.Sequential(
            nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1),
            nn.BatchNorm2d(64), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.Linear(64 * 28 * 28, 1024), nn.Sigmoid(),
            nn.Linear(1024, n_classes))

    def forward(self, x):
        x = self.conv_block2(self.conv_block1(x))
        x = x.view(x.size(0), -1)
        return self.decoder(x)


class NetModuleList(nn.Module):
    def __init__(self, in_c=1, n_classes=10):
        super().__init__()
        self.module_list = nn.ModuleList([
            nn.Conv2d(in_c, 32, kernel_size=3, stride=1, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 28 * 28, 1024),
            nn.Sigmoid(),
            nn.Linear(1024, n_classes),
        ])

    def forward(self, x):
        for layer in self.module_list:
            x = layer(x)
        return x


register("examples/net.seq", "Net", IMG28)(Net)
register("examples/net_sequential.seq", "NetSequential", IMG28)(NetSequential)
register("examples/net_module_list.seq", "NetModuleList", IMG28)(NetModuleList)


# ---------------------------------------------------------------------------
# examples/seed003_mlp.seq
# ---------------------------------------------------------------------------
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(in_channels=3, out_channels=64, kernel_size=3),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2))
        self.layer2 = nn.Sequential(
            nn.Conv2d(in_channels=64, out_channels=30, kernel_size=5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2))
        self.layer3 = nn.Sequential(
            nn.Linear(in_features=30 * 5 * 5, out_features=10, bias=True),
            nn.ReLU(inplace=True))

    def forward(self, x):
        x = self.layer1(x)
        x = self.layer2(x)
        x = x.view(x.shape[0], -1)
        return self.layer3(x)


register("examples/seed003_mlp.seq", "MLP", [("x", ("N", 3, 32, 32))])(MLP)


@register("examples/seed003_mlp.seq", "Tiny", [("x", ("N", 128))])
def tiny():
    return sequential_model("Tiny", nn.Linear(128, 64), nn.ReLU(),
                            nn.Linear(64, 10))


# ---------------------------------------------------------------------------
# examples/lenet5.seq
# ---------------------------------------------------------------------------
class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.Tanh(),
            nn.AvgPool2d(kernel_size=2))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.Tanh(),
            nn.Linear(120, 84), nn.Tanh(),
            nn.Linear(84, 10))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


register("examples/lenet5.seq", "LeNet5", IMG28)(LeNet5)


@register("examples/lenet5.seq", "LeNet5Relu", IMG28)
def lenet5_relu():
    return sequential_model("LeNet5Relu", OrderedDict([
        ("c1", nn.Conv2d(1, 6, 5, padding=2)),
        ("relu1", nn.ReLU()),
        ("s2", nn.MaxPool2d(2, stride=2)),
        ("c3", nn.Conv2d(6, 16, 5)),
        ("relu3", nn.ReLU()),
        ("s4", nn.MaxPool2d(2, stride=2)),
        ("flatten", nn.Flatten()),
        ("f5", nn.Linear(16 * 5 * 5, 120)),
        ("relu5", nn.ReLU()),
        ("f6", nn.Linear(120, 84)),
        ("relu6", nn.ReLU()),
        ("out", nn.Linear(84, 10)),
        ("prob", nn.LogSoftmax(dim=1)),
    ]))


# ---------------------------------------------------------------------------
# examples/resnet_small.seq
# ---------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride,
                               padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=3, stride=1,
                               padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = nn.Sequential(
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class ResNetSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.blocks = nn.ModuleList([
            ResBlock(16),
            BasicBlock(16, 32, stride=2),
            ResBlock(32),
            BasicBlock(32, 64, 2),
            BasicBlock(64, 128),
        ])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


register("examples/resnet_small.seq", "ResNetSmall",
         [("x", ("N", 3, 32, 32))])(ResNetSmall)


# ---------------------------------------------------------------------------
# examples/module_dict.seq
# ---------------------------------------------------------------------------
class Head(nn.Sequential):
    def __init__(self, c_in, c_out):
        super().__init__(nn.Linear(c_in, c_out), nn.Tanh())


class MultiHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(32, 64), nn.ReLU())
        self.heads = nn.ModuleDict(OrderedDict([
            ("a", nn.Linear(64, 16)),
            ("b", Head(64, 16)),
            ("c", nn.Sequential(nn.Linear(64, 16), nn.Sigmoid())),
        ]))
        self.gate = nn.Linear(64, 1)
        self.out = nn.Linear(3 * 16, 10)

    def forward(self, x):
        h = self.trunk(x)
        ya = self.heads.a(h)
        yb = self.heads["b"](h)
        yc = self.heads["c"](h)
        g = self.gate(h)
        s = ya + yb * yc
        d = (ya - yb) * g
        return self.out(torch.cat([s, d, yc / 2], dim=1))


class Fusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.branches = nn.ModuleDict(OrderedDict([
            ("visual", nn.Sequential(nn.Conv2d(3, 4, kernel_size=3, padding=1),
                                     nn.ReLU(), nn.Flatten())),
            ("tabular", nn.Linear(6, 4 * 8 * 8)),
        ]))
        self.fc = nn.Linear(2 * 4 * 8 * 8, 5)

    def forward(self, image, meta):
        v = self.branches.visual(image)
        t = self.branches["tabular"](meta)
        return self.fc(torch.cat([v, v * t - 0.5], 1))


class PairScore(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(16, 8)
        self.score = nn.Linear(16, 1)

    def forward(self, x):
        return self.score(self.enc(x).reshape(1, 2 * 8))


register("examples/module_dict.seq", "MultiHead", [("x", ("N", 32))])(MultiHead)
register("examples/module_dict.seq", "Fusion",
         [("image", ("N", 3, 8, 8)), ("meta", ("N", 6))])(Fusion)
register("examples/module_dict.seq", "PairScore", [("x", (2, 16))])(PairScore)


# ---------------------------------------------------------------------------
# examples/comprehension.seq
# ---------------------------------------------------------------------------
class Down(nn.Sequential):
    def __init__(self, c):
        super().__init__(
            nn.Conv2d(c, 2 * c, kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * c),
            nn.ReLU(inplace=True))


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, kernel_size=3, padding=1),
                                  nn.BatchNorm2d(c))

    def forward(self, x):
        return F.relu(x + self.body(x))


class MLPStack(nn.Sequential):
    def __init__(self, width, depth):
        super().__init__(*[nn.Linear(width, width) for _ in range(depth)])


class Pyramid(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.stages = nn.ModuleList([Down(16 * 2 ** i) for i in range(3)])
        self.mixers = nn.ModuleList([Residual(128) for _ in range(2)])
        self.head = nn.Sequential(*[nn.Linear(64, 64) for _ in range(3)])
        self.tail = MLPStack(10, 2)
        self.out = nn.LogSoftmax(dim=1)
        self.mixers.append(nn.Identity())
        self.mixers.insert(1, Residual(128))
        self.mixers.pop(0)
        self.head.insert(0, nn.Linear(128 * 2 * 2, 64))
        self.head.append(nn.ReLU())
        self.head.extend([nn.Linear(64, 10), nn.ReLU()])

    def forward(self, x):
        x = self.stem(x)
        x = self.stages[0](x)
        for s in self.stages[1:]:
            x = s(x)
        for m in self.mixers[:-1]:
            x = m(x)
        x = self.mixers[-1](x)
        x = x.flatten(1)
        x = self.head(x)
        x = self.tail(x)
        return self.out(x)


register("examples/comprehension.seq", "Pyramid",
         [("x", ("N", 3, 16, 16))])(Pyramid)


# ---------------------------------------------------------------------------
# examples/activations.seq
# ---------------------------------------------------------------------------
class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.acts = nn.ModuleList([
            nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(),
            nn.LeakyReLU(negative_slope=0.2), nn.Sigmoid(), nn.Tanh(),
            nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(), nn.Hardswish(),
            nn.ELU(), nn.ELU(alpha=0.5), nn.Softmax(dim=1),
            nn.LogSoftmax(dim=-1),
        ])
        self.norm = nn.LayerNorm(14 * 16)
        self.drop = nn.Dropout()
        self.keep = nn.Identity()
        self.out = nn.Linear(14 * 16, 10)

    def forward(self, x):
        h = self.fc(x) * 4.0
        y = torch.cat([a(h) for a in self.acts], dim=1)
        z = self.out(self.keep(self.drop(self.norm(y))))
        return torch.cat([z, y], dim=1)


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.out = nn.Linear(8 * 16, 10)

    def forward(self, x):
        h = self.fc(x) * 3.0
        y = torch.cat([F.relu(h), torch.sigmoid(h), torch.tanh(h), F.gelu(h),
                       F.gelu(h, approximate="tanh"), F.silu(h),
                       F.softmax(h, 1), F.log_softmax(h, dim=-1)], dim=1)
        return torch.cat([self.out(y), y], dim=1)


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(4, 8, 3, padding=1),
            nn.BatchNorm1d(8),
            nn.LeakyReLU(0.1),
            nn.Conv1d(8, 8, 5, stride=2, padding=2, groups=2),
            nn.Conv1d(8, 16, 3, dilation=2, padding="same", bias=False),
            nn.ELU())
        self.norm = nn.LayerNorm((16, 16), eps=0.01)
        self.fc = nn.Sequential(
            nn.Linear(16 * 16, 32), nn.BatchNorm1d(32, eps=1e-6), nn.SiLU(),
            nn.Dropout(p=0.2), nn.Linear(32, 8), nn.Softmax(dim=-1))

    def forward(self, x):
        x = self.norm(self.conv(x))
        x = x.view(x.size(0), -1)
        return self.fc(x)


class Pools(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding="same"),
            nn.BatchNorm2d(8, eps=0.1, momentum=0.01),
            nn.ReLU6(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
            nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8, bias=False),
            nn.Conv2d(8, 16, kernel_size=1, padding="valid"),
            nn.Hardswish(),
            nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
            nn.Dropout2d(0.1),
            nn.Identity(),
            nn.Conv2d(16, 12, kernel_size=(3, 1), stride=(2, 1), padding=(1, 0),
                      padding_mode="zeros"))

    def forward(self, x):
        x = self.features(x)
        y = F.max_pool2d(x, 2, stride=1)
        z = F.avg_pool2d(x, (3, 3), stride=1, padding=1)
        w = F.adaptive_avg_pool2d(z, (2, 4))
        return torch.flatten(y + w, 1)


register("examples/activations.seq", "Activations", [("x", ("N", 16))])(Activations)
register("examples/activations.seq", "Functional", [("x", ("N", 16))])(Functional)
register("examples/activations.seq", "Conv1dNet", [("x", ("N", 4, 32))])(Conv1dNet)
register("examples/activations.seq", "Pools", [("x", ("N", 3, 16, 16))])(Pools)


import torch_models_v2  # noqa: E402,F401  (registers examples/layers_v2.seq)
import torch_models_v2_more  # noqa: E402,F401  (registers examples/layers_v2_more.seq)


if __name__ == "__main__":
    # Self-check of the PyTorch side: every builder constructs, prints and
    # runs its inputs at batch 1 and 3 (or its fixed batch).
    import time
    for i, key in enumerate(MODELS):
        t0 = time.time()
        model = build(key, seed=i)
        text = str(model)
        assert text.startswith(key[1] + "("), (key, text[:40])
        for batch in sorted({fixed_batch(key) or 1, fixed_batch(key) or 3}):
            out = run(model, make_inputs(key, batch, seed=i))
            assert torch.isfinite(out).all(), key
        n = sum(t.numel() for t in model.state_dict().values())
        print(f"{key[0]:40s} {key[1]:16s} out {tuple(out.shape)!s:18s} "
              f"{n:>10d} values  {time.time() - t0:.2f}s")
