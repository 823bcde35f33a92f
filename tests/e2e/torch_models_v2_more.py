"""torch_models_v2_more.py: the PyTorch twins of examples/layers_v2_more.seq:
indexing, stack, amin, GroupNorm, PReLU, ConvTranspose2d, Upsample and
F.interpolate (see torch_models.py for what a twin must match). Importing
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
