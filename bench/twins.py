"""twins.py: the PyTorch modules the benchmark times against seqc, one per
benchmarked .seq model, built the same way (same layers, same shapes).

BENCH_MODELS lists them: label, .seq file (relative to the repository), the
model's name in it, the per-sample input shape, the PyTorch builder and the
batches to time (1 and 16; 1 and 64 for the small models).

ZOO_MODELS adds examples/zoo's ResNet-18, MobileNetV2 and EfficientNet-B0
(224x224, batch 1 and 16), built by torchvision 0.14 with its default
arguments: random initialisation from a fixed seed, BatchNorm statistics
and affine parameters randomised (the parity tests' torch_registry.randomize).
Their BenchModel has `weights=True`: the bench saves the model's own
state_dict as safetensors and seqc loads it, so that all three runtimes
compute with the same weights. Nothing is downloaded.
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

BenchModel = namedtuple("BenchModel",
                        "label seq_file model input_shape build batches weights",
                        defaults=[(1, 16), False])
SMALL = (1, 64)


def example(path, name):
    """The builder of an example's PyTorch twin: the parity tests' own."""
    return lambda: torch_models.MODELS[(path, name)]()


def has_twin(path, name):
    return (path, name) in torch_models.MODELS


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


class Separable(nn.Module):
    """bench/models/mobilenet_block.seq's Separable."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.dw = nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.pw = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = F.relu6(self.bn1(self.dw(x)))
        return F.relu6(self.bn2(self.pw(x)))


def mobilenet_block():
    """bench/models/mobilenet_block.seq, model MobileNetBlock."""
    return nn.Sequential(Separable(32, 64, 1), Separable(64, 128, 1),
                         Separable(128, 128, 2), Separable(128, 256, 1))


def vgg_block():
    """bench/models/vgg_block.seq, model VggBlock."""
    layers = []
    for _ in range(3):
        layers += [nn.Conv2d(64, 64, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


BENCH_MODELS = [
    BenchModel("mlp_tiny", "examples/seed003_mlp.seq", "Tiny", (128,),
               example("examples/seed003_mlp.seq", "Tiny"), SMALL),
    BenchModel("seed000_conv", "examples/seed000_sequential.seq", "Seed000", (1, 28, 28),
               example("examples/seed000_sequential.seq", "Seed000"), SMALL),
    BenchModel("lenet5", "examples/lenet5.seq", "LeNet5", (1, 28, 28),
               example("examples/lenet5.seq", "LeNet5"), SMALL),
    BenchModel("seed003_mlp", "examples/seed003_mlp.seq", "MLP", (3, 32, 32),
               example("examples/seed003_mlp.seq", "MLP"), SMALL),
    BenchModel("seed002_net", "examples/net_sequential.seq", "NetSequential", (1, 28, 28),
               example("examples/net_sequential.seq", "NetSequential")),
    BenchModel("resnet_small", "examples/resnet_small.seq", "ResNetSmall",
               (3, 32, 32), example("examples/resnet_small.seq", "ResNetSmall")),
    BenchModel("resnet64", "bench/models/resnet64.seq", "ResNet64", (3, 64, 64),
               ResNet64),
    BenchModel("mlp_big", "bench/models/mlp_big.seq", "MlpBig", (1024,), mlp_big),
    BenchModel("vgg_block", "bench/models/vgg_block.seq", "VggBlock", (64, 56, 56),
               vgg_block, (1, 8)),
    BenchModel("mobilenet_block", "bench/models/mobilenet_block.seq", "MobileNetBlock",
               (32, 56, 56), mobilenet_block),
]


# examples/zoo file -> (model name in it, torchvision builder)
ZOO_BENCH = [("resnet18", "ResNet", "resnet18"),
             ("mobilenet_v2", "MobileNetV2", "mobilenet_v2"),
             ("efficientnet_b0", "EfficientNet", "efficientnet_b0")]
# The rest of examples/zoo, benchmarked on request (bench.py --zoo-all):
# every model a user may take from torchvision, not only the three above.
ZOO_EXTRA = [("resnet50", "ResNet", "resnet50"),
             ("resnext50_32x4d", "ResNet", "resnext50_32x4d"),
             ("densenet121", "DenseNet", "densenet121"),
             ("googlenet", "GoogLeNet", "googlenet"),
             ("regnet_y_400mf", "RegNet", "regnet_y_400mf"),
             ("mobilenet_v3_small", "MobileNetV3", "mobilenet_v3_small"),
             ("shufflenet_v2_x1_0", "ShuffleNetV2", "shufflenet_v2_x1_0"),
             ("squeezenet1_1", "SqueezeNet", "squeezenet1_1"),
             ("vgg11_bn", "VGG", "vgg11_bn"),
             ("alexnet", "AlexNet", "alexnet")]
ZOO_SEED = 6


def torchvision_twin(builder):
    """torchvision's model, seeded, with randomised normalisation statistics."""
    def build():
        import torchvision.models
        from torch_registry import randomize
        torch.manual_seed(ZOO_SEED)
        return randomize(getattr(torchvision.models, builder)(), ZOO_SEED).eval()
    return build


def zoo_models(extra=False):
    """The zoo rows, when torchvision is installed (python3-torchvision);
    with `extra`, ZOO_EXTRA's too."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        print("skipping the zoo models: torchvision is not installed")
        return
    for stem, name, builder in ZOO_BENCH + (ZOO_EXTRA if extra else []):
        yield BenchModel(stem, f"examples/zoo/{stem}.seq", name, (3, 224, 224),
                         torchvision_twin(builder), (1, 16), True)


def all_models(extra=False):
    return BENCH_MODELS + list(zoo_models(extra))


def model_stats(model, shape):
    """Per sample: multiply-adds of the Conv2d and Linear layers, and the
    bytes of all parameters (float32)."""
    macs = [0]

    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.weight.shape[1] * module.weight.shape[2] * module.weight.shape[3]
            macs[0] += output[0].numel() * k
        elif isinstance(module, nn.Linear):
            macs[0] += output[0].numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.inference_mode():
        model(torch.randn(1, *shape))
    for h in hooks:
        h.remove()
    weight_bytes = sum(p.numel() * 4 for p in model.parameters())
    return {"macs_per_sample": macs[0], "weight_bytes": weight_bytes}
