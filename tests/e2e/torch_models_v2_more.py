"""torch_models_v2_more.py: the PyTorch twins of examples/layers_v2_more.seq
and examples/layers_v2_edges.seq:
indexing, stack, amin, GroupNorm, PReLU, ConvTranspose2d, Upsample and
its subclasses, F.interpolate, nested loop unpacking (see torch_models.py for what a twin must match). Importing
this module registers them.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_registry import register

LAYERS_V2_MORE = "examples/layers_v2_more.seq"


class Indexing(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 6, 3, padding=1)
        self.fc = nn.Linear(108, 5)

    def forward(self, x):
        y = self.conv(x)
        first = y[:, 0]
        pair = torch.stack([first, y[:, -1]], dim=1)
        low = pair.amin(dim=2)
        high = torch.amax(pair, 2)
        odd = y[..., 1::2]
        mid = y[:, 1:4, None, -2]
        unused, rest = y.chunk(2, dim=1)
        corner = y[:, :, 2:, :-1][..., 0, 3]
        parts = [low.flatten(1), high.flatten(1), odd.amin(2).flatten(1),
                 torch.dropout(odd, 0.3, train=False).mean(2).flatten(1),
                 rest[:, 0, ::3, 1:7:3].flatten(1), mid.flatten(1)]
        z = F.dropout(torch.cat(parts, 1), p=0.2, training=self.training)
        return self.fc(z) + corner.sum(1, keepdim=True)


class GroupNorms(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.gn = nn.GroupNorm(4, 16)
        self.act = nn.PReLU(16)
        self.gn2 = nn.GroupNorm(16, 16, eps=0.001, affine=False)
        self.act2 = nn.PReLU()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 6), nn.GroupNorm(2, 6),
                                  nn.PReLU(init=0.1))

    def forward(self, x):
        y = self.act(self.gn(self.conv(x)))
        y = self.act2(self.gn2(y)) + y
        return self.head(F.max_pool2d(y, 2))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(8, 6, 4, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1, groups=2,
                                      bias=False)
        self.up3 = nn.ConvTranspose2d(4, 4, (3, 2), stride=(1, 2), dilation=2)
        self.near = nn.Upsample(scale_factor=2)
        self.bilinear = nn.Upsample(size=(7, 9), mode="bilinear", align_corners=True)
        self.norm = nn.GroupNorm(2, 4)

    def forward(self, x):
        y = F.relu(self.up1(x))
        y = self.up2(y)
        a = self.up3(y)
        b = self.near(y)
        c = self.bilinear(self.norm(y))
        d = F.interpolate(y, scale_factor=1.5, mode="bilinear")
        e = F.interpolate(a, size=(9, 17))
        f = F.interpolate(c, scale_factor=(2, 3), mode="bilinear", align_corners=False)
        return torch.cat([a.mean([2, 3]), b.amax([2, 3]), c.flatten(2).mean(2), d.mean((2, 3)),
                          e[:, :, 1:-1].mean([2, 3]), f.sum([2, 3])], 1)


register(LAYERS_V2_MORE, "Indexing", [("x", ("N", 4, 6, 8))])(Indexing)
register(LAYERS_V2_MORE, "GroupNorms", [("x", ("N", 8, 10, 10))])(GroupNorms)
register(LAYERS_V2_MORE, "Decoder", [("x", ("N", 8, 5, 6))])(Decoder)


class Resample(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Upsample(scale_factor=0.5)
        self.odd = nn.Upsample(scale_factor=(1.7, 0.6), mode="bilinear", align_corners=True)
        self.again = nn.Upsample(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)
        self.gn = nn.GroupNorm(2, 4)
        self.act = nn.PReLU(4, init=-0.5)
        self.fc = nn.Linear(4 * 4 * 5, 6)
        self.gn1 = nn.GroupNorm(3, 6, affine=False)
        self.act1 = nn.PReLU(6)
        self.twice = nn.UpsamplingBilinear2d(scale_factor=2)

    def forward(self, x):
        a = self.down(x)
        b = self.odd(x)
        c = self.again(x)
        d = F.interpolate(x, size=5, mode="bilinear", align_corners=False)
        seq = self.act(self.gn(torch.cat([b.flatten(2), c.flatten(2), d.flatten(2)], 2)))
        e = self.twice(F.upsample_nearest(x, size=(3, 4)))
        return (self.act1(self.gn1(self.fc(a.flatten(1)))) + seq.mean(2).sum(1, keepdim=True)
                + e.amax((1, 2, 3)).unsqueeze(1))


class FixedBatch(nn.Module):
    def forward(self, x):
        return torch.stack([x[0], x[-1, :, ::-1 + 2]], 0)[:, 1:, 0] + x[:, 0, 0, None]


class LoopUnpack(nn.Module):
    def __init__(self):
        super().__init__()
        for i, (cin, cout) in enumerate([(4, 6), (6, 4)]):
            self.add_module("c" + str(i), nn.Conv2d(cin, cout, 1))

    def forward(self, x):
        for i, (m, n) in enumerate(zip(self.children(), [1, 2])):
            x = m(x) * float(n + i)
        return x


class Paddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.reflect = nn.ReflectionPad2d((1, 2, 0, 3))
        self.replicate = nn.ReplicationPad2d(2)
        self.constant = nn.ConstantPad2d((1, 0, 2, 1), -1.5)
        self.zero = nn.ConstantPad2d(1, 0.0)

    def forward(self, x):
        a = self.reflect(x)
        b = self.replicate(x)
        c = self.constant(self.zero(x))
        d = F.pad(x, (2, 2, 1, 1), mode="reflect")
        e = F.pad(x, (1, 3), value=2.0)
        f = F.pad(x, [0, 1, 1, 0], mode="replicate")
        return torch.cat([a.flatten(1), b.flatten(1), c.flatten(1), d.flatten(1),
                          e.flatten(1), f.flatten(1)], 1)


LAYERS_V2_EDGES = "examples/layers_v2_edges.seq"
register(LAYERS_V2_EDGES, "Resample", [("x", ("N", 4, 9, 11))])(Resample)
register(LAYERS_V2_EDGES, "FixedBatch", [("x", (2, 3, 4))])(FixedBatch)
register(LAYERS_V2_EDGES, "LoopUnpack", [("x", ("N", 4, 5, 5))])(LoopUnpack)
register(LAYERS_V2_EDGES, "Paddings", [("x", ("N", 3, 5, 6))])(Paddings)
