"""torch_models_v2.py: the PyTorch twins of examples/layers_v2.seq, the
layers and tensor functions of language version 2 (see torch_models.py for
what a twin must match). Importing this module registers them.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_registry import register


# ---------------------------------------------------------------------------
# examples/layers_v2.seq
# ---------------------------------------------------------------------------
LAYERS_V2 = "examples/layers_v2.seq"


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth as torchvision 0.14 prints it (the
    identity in eval mode); defined here so that torchvision is optional."""

    def __init__(self, p, mode):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        return x

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode})"


class ShuffleUnit(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
            nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.BatchNorm2d(8))

    def forward(self, x):
        halves = x.chunk(2, dim=1)
        y = torch.cat((halves[0], self.branch(halves[1])), dim=1)
        n = y.size(0)
        y = y.view(n, 2, 8, 8, 8)
        y = torch.transpose(y, 1, 2).contiguous()
        return y.view(n, -1, 8, 8)


class SqueezeExcitation(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return scale * x


class SqueezeExcite(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 16, 3, padding=1)
        self.se = SqueezeExcitation(16, 4)
        self.sd = StochasticDepth(0.2, "row")
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        y = F.silu(self.conv(x))
        y = self.sd(self.se(y)) + x
        s = torch.sigmoid(y.mean([2, 3], keepdim=True))
        y = y.mul(s)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(y, (1, 1)), 1))


class Reductions(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4 + 5 + 4 + 6 + 5, 7)

    def forward(self, x):
        a = x.mean([2, 3])
        b = torch.sum(x, dim=(1, 3))
        c = x.amax(dim=-1).amax(-1)
        d = x.permute(0, 3, 1, 2).mean(dim=(2, 3))
        e = x.transpose(1, 2).sum(-1, keepdim=True).squeeze(-1).mean(2)
        f = torch.unsqueeze(a, 1).squeeze(1)
        return self.fc(torch.cat([f + 0 * a, b, c, d, e], 1))


class Pools1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(6, 8, 3, padding=1)
        self.bn = nn.BatchNorm1d(8)
        self.pool = nn.MaxPool1d(3, stride=2, padding=1)
        self.avg = nn.AvgPool1d(2)
        self.adaptive = nn.AdaptiveAvgPool1d(3)

    def forward(self, x):
        y = self.pool(F.relu(self.bn(self.conv(x))))
        y = self.avg(y) + F.avg_pool1d(y, 2)
        z = self.adaptive(y)
        w = F.max_pool1d(y, 2, ceil_mode=True)
        return torch.cat([z, w, y.mean(-1, keepdim=True)], -1)


class MoreLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.pad = nn.ZeroPad2d((1, 2, 0, 3))
        self.conv = nn.Conv2d(3, 12, 3)
        self.acts = nn.ModuleList([
            nn.Hardsigmoid(), nn.Hardtanh(-2.0, 2.0), nn.Mish(),
            nn.Softplus(beta=2, threshold=5), nn.Hardswish(inplace=True), nn.SiLU()])
        self.pool = nn.AdaptiveMaxPool2d((3, 2))
        self.drop = nn.Dropout(p=0.3)

    def forward(self, x):
        y = self.conv(self.pad(x)) * 3.0
        parts = torch.split(y, [2, 2, 2, 2, 2, 2], dim=1)
        z = torch.cat([a(p) for a, p in zip(self.acts, parts)], 1)
        z = F.dropout(z, 0.5, training=False) + F.softplus(z) - F.hardsigmoid(z)
        z = F.gelu(z, approximate="tanh") + F.adaptive_max_pool2d(z, 1) * F.leaky_relu(z, 0.2)
        return self.drop(self.pool(z)).flatten(1)


register(LAYERS_V2, "ShuffleUnit", [("x", ("N", 16, 8, 8))])(ShuffleUnit)
register(LAYERS_V2, "SqueezeExcite", [("x", ("N", 16, 8, 8))])(SqueezeExcite)
register(LAYERS_V2, "Reductions", [("x", ("N", 4, 5, 6))])(Reductions)
register(LAYERS_V2, "Pools1d", [("x", ("N", 6, 20))])(Pools1d)
register(LAYERS_V2, "MoreLayers", [("x", ("N", 3, 10, 10))])(MoreLayers)
