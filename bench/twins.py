"""twins.py: the PyTorch modules the benchmark times against seqc, one per
benchmarked .seq model, built the same way (same layers, same shapes).

BENCH_MODELS lists them: label, .seq file (relative to the repository), the
model's name in it, the per-sample input shape, and the PyTorch builder.
"""

import os
import sys
from collections import namedtuple

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "e2e"))
import torch_models  # noqa: E402  (the examples' PyTorch builders)

BenchModel = namedtuple("BenchModel", "label seq_file model input_shape build")


def example(path, name):
    """The builder of an example's PyTorch twin: the parity tests' own."""
    return lambda: torch_models.MODELS[(path, name)]()


def conv_bn(c_in, c_out, k, stride=1):
    return (nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
            nn.BatchNorm2d(c_out))


class Block64(nn.Module):
    """bench/models/resnet64.seq's Block (identity) or Down (stride 2)."""

    def __init__(self, c_in, c_out, down):
        super().__init__()
        stride = 2 if down else 1
        self.conv1, self.bn1 = conv_bn(c_in, c_out, 3, stride)
        self.conv2, self.bn2 = conv_bn(c_out, c_out, 3)
        if down:
            self.shortcut = nn.Sequential(*conv_bn(c_in, c_out, 1, stride))
        self.down = down

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.shortcut(x) if self.down else x))


class ResNet64(nn.Module):
    """bench/models/resnet64.seq, model ResNet64."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(32), nn.ReLU())
        self.layers = nn.Sequential(
            Block64(32, 32, False), Block64(32, 32, False),
            Block64(32, 64, True), Block64(64, 64, False),
            Block64(64, 128, True), Block64(128, 128, False),
            Block64(128, 256, True), Block64(256, 256, False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(256, 1000)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def mlp_big():
    """bench/models/mlp_big.seq, model MlpBig."""
    return nn.Sequential(nn.Linear(1024, 4096), nn.ReLU(), nn.Linear(4096, 4096),
                         nn.ReLU(), nn.Linear(4096, 1000))


BENCH_MODELS = [
    BenchModel("lenet5", "examples/lenet5.seq", "LeNet5", (1, 28, 28),
               example("examples/lenet5.seq", "LeNet5")),
    BenchModel("seed003_mlp", "examples/seed003_mlp.seq", "MLP", (3, 32, 32),
               example("examples/seed003_mlp.seq", "MLP")),
    BenchModel("seed002_net", "examples/net.seq", "Net", (1, 28, 28),
               example("examples/net.seq", "Net")),
    BenchModel("resnet_small", "examples/resnet_small.seq", "ResNetSmall",
               (3, 32, 32), example("examples/resnet_small.seq", "ResNetSmall")),
    BenchModel("resnet64", "bench/models/resnet64.seq", "ResNet64", (3, 64, 64),
               ResNet64),
    BenchModel("mlp_big", "bench/models/mlp_big.seq", "MlpBig", (1024,), mlp_big),
]
