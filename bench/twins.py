"""twins.py: the PyTorch modules the benchmark times against seqc, one per
benchmarked .seq model, built the same way (same layers, same shapes).

BENCH_MODELS lists them: label, .seq file (relative to the repository), the
model's name in it, the per-sample input shape, and the PyTorch builder.
"""

from collections import namedtuple

import torch
from torch import nn
import torch.nn.functional as F

BenchModel = namedtuple("BenchModel", "label seq_file model input_shape build")


class LeNet5(nn.Module):
    """examples/lenet5.seq, model LeNet5."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Conv2d(6, 16, kernel_size=5), nn.Tanh(),
            nn.AvgPool2d(kernel_size=2))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
            nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class MLP(nn.Module):
    """examples/seed003_mlp.seq, model MLP (seed 003's network)."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(3, 64, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.layer2 = nn.Sequential(nn.Conv2d(64, 30, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.layer3 = nn.Sequential(nn.Linear(30 * 5 * 5, 10), nn.ReLU())

    def forward(self, x):
        x = self.layer2(self.layer1(x))
        return self.layer3(x.view(x.shape[0], -1))


class Net(nn.Module):
    """examples/net.seq, model Net (seed 002's network, fixed)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1, 1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 28 * 28, 1024)
        self.fc2 = nn.Linear(1024, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = x.view(x.shape[0], -1)
        return self.fc2(torch.sigmoid(self.fc1(x)))


def conv_bn(c_in, c_out, k, stride=1):
    return (nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False),
            nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """resnet_small.seq's BasicBlock: projection shortcut, any stride."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(c_in, c_out, 3, stride)
        self.relu = nn.ReLU()
        self.conv2, self.bn2 = conv_bn(c_out, c_out, 3)
        self.downsample = nn.Sequential(*conv_bn(c_in, c_out, 1, stride))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class ResBlock(nn.Module):
    """resnet_small.seq's ResBlock: identity shortcut."""

    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(c, c, 3)
        self.relu = nn.ReLU()
        self.conv2, self.bn2 = conv_bn(c, c, 3)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + x)


class ResNetSmall(nn.Module):
    """examples/resnet_small.seq, model ResNetSmall."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(3, 16, 3), nn.ReLU())
        self.blocks = nn.ModuleList([
            ResBlock(16), BasicBlock(16, 32, 2), ResBlock(32),
            BasicBlock(32, 64, 2), BasicBlock(64, 128)])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


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
    BenchModel("lenet5", "examples/lenet5.seq", "LeNet5", (1, 28, 28), LeNet5),
    BenchModel("seed003_mlp", "examples/seed003_mlp.seq", "MLP", (3, 32, 32), MLP),
    BenchModel("seed002_net", "examples/net.seq", "Net", (1, 28, 28), Net),
    BenchModel("resnet_small", "examples/resnet_small.seq", "ResNetSmall",
               (3, 32, 32), ResNetSmall),
    BenchModel("resnet64", "bench/models/resnet64.seq", "ResNet64", (3, 64, 64),
               ResNet64),
    BenchModel("mlp_big", "bench/models/mlp_big.seq", "MlpBig", (1024,), mlp_big),
]
