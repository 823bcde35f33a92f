"""differential_paths.py: stages of differential_gen.py's models that
steer seqc onto particular kernel paths (the fused expansion and
depthwise convolution, the pointwise tiles and their register epilogue,
Winograd, strided pointwise, small groups on the lanes kernel), each
checked against PyTorch like any other stage."""

from differential_layers import activation, batchnorm, conv2d
from differential_nodes import Container, Stage, apply_child


def st_inverted(g):
    """An inverted residual block (MobileNetV2's): a 1x1 expansion to 16-48
    channels, a depthwise 3x3 or 5x5 convolution of stride 1 or 2, a 1x1
    projection, BatchNorm and an activation after the first two. On planes
    of 28 x 28 or more seqc computes the expansion inside the depthwise
    convolution, band by band (FuseExpandDepthwise): with 16 channels in
    the lanes (seqk_expand_depthwise_lanes) when the expansion's epilogue
    is bias and ReLU, ReLU6, SiLU or Hardswish (the depthwise one in
    registers too, or called on rows for the other activations), else on
    planes (seqk_conv2d_pointwise_rows, seqk_depthwise2d_phased_rows).
    Two blocks in three start with a 3x3 or 5x5 convolution instead,
    which is fused the same way (with channels in the lanes only)."""
    rng, c = g.rng, g.shape[0]
    e, k = rng.randint(16, 48), rng.choice([3, 3, 5])
    # or a 3x3 / 5x5 convolution of stride 1 in place of the expansion (a
    # stem's, computed inside the depthwise convolution too:
    # seqk_conv_depthwise_lanes)
    first = rng.choice([1, 3, 5])
    items = [conv2d(rng, c, e, first, 1, first // 2, bias=False), batchnorm(rng, 2, e), activation(rng),
             conv2d(rng, e, e, k, rng.choice([1, 2]), k // 2, groups=e, bias=rng.random() < 0.3),
             batchnorm(rng, 2, e), activation(rng), conv2d(rng, e, rng.randint(2, 16), 1, bias=False)]
    return apply_child(g.name("inv"), Container("Sequential", [("", i) for i in items], rng))


def st_pointwise(g):
    """A 1x1 expansion to 65-160 channels with BatchNorm and an activation,
    and a 1x1 projection back added to the input (`x = x + proj(x)`, or
    `relu(...)` of it): the pointwise kernel's tiles with channels in the
    lanes, its epilogue (bias, added tensor, ReLU, ReLU6, SiLU, Hardswish)
    applied in registers (seqk_fused); few input channels put positions
    in the lanes instead."""
    rng, c = g.rng, g.shape[0]
    e = rng.randint(65, 160)
    body = Container("Sequential", [("", conv2d(rng, c, e, 1, bias=rng.random() < 0.5)),
                                    ("", batchnorm(rng, 2, e)), ("", activation(rng)),
                                    ("", conv2d(rng, e, c, 1, bias=rng.random() < 0.7))], rng)
    name = g.name("pw")
    seq, py = rng.choice([("x = x + y", "x = x + y"), ("x = relu(y + x)", "x = F.relu(y + x)")])
    return Stage([(name, body)], [f"y = {name}(x)", seq], [f"y = self.{name}(x)", py])


def st_winograd(g):
    """Two 3x3 convolutions of stride 1, the second of 16 to 64 channels in
    and out: on planes of 8 x 8 or more (16 x 16 or more when a side is odd:
    ir::winogradFits) seqc computes it by Winograd's F(2x2, 3x3)
    (seqk_conv2d_winograd), whatever its padding, its tiles
    transformed across rows unless a row of them fills whole vectors
    (outputs 31 and 32 wide: 16 tiles); on the
    large planes (28 to 36) with more than 32 output channels, in blocks of
    tile rows whose last one two threads share by halves of its panels; on
    planes of 64 tiles or fewer, at batch 2 and 37, several images a call
    (ir::WinogradPlan::imageGroup)."""
    rng, (c, h, w) = g.rng, g.shape
    e = rng.randint(16, 64)
    pad = rng.choice([0, 1, 1, 2]) if min(h, w) >= 3 else 1
    items = [conv2d(rng, c, e, 3, 1, 1, bias=False), batchnorm(rng, 2, e), activation(rng),
             conv2d(rng, e, rng.randint(16, 64), 3, 1, pad, bias=rng.random() < 0.5)]
    return apply_child(g.name("wino"), Container("Sequential", [("", i) for i in items], rng))


def st_strided_pointwise(g):
    """A 1x1 convolution of stride 2, (2, 1) or (3, 2) without padding, to
    16-80 channels (a ResNet's downsampling shortcut), with BatchNorm and an
    activation: seqc runs it as a pointwise convolution on a subsampled copy
    of each image (ir::isStridedPointwise), channels in the lanes or
    positions, by the input's channel count."""
    rng, c = g.rng, g.shape[0]
    e = rng.randint(16, 80)
    stride = rng.choice([2, 2, (2, 1), (3, 2)])
    items = [conv2d(rng, c, e, 1, stride, 0, bias=rng.random() < 0.5), batchnorm(rng, 2, e), activation(rng)]
    return apply_child(g.name("sub"), Container("Sequential", [("", i) for i in items], rng))


def st_small_groups(g):
    """A 1x1 convolution to 2 to 8 groups of 2, 4 or 8 channels, BatchNorm
    and an activation, then a grouped 3x3 (or 1x3) convolution of stride 1
    on those groups (ResNeXt's and RegNet's), with BatchNorm and an
    activation, or a bias: on rows of 16 or more seqc runs it group by
    group on the lanes kernel (ir::groupLanesFit), its epilogue in
    registers where it has the form; on shorter rows, the direct kernel."""
    rng, c = g.rng, g.shape[0]
    width, groups = rng.choice([2, 4, 8]), rng.randint(2, 8)
    e = width * groups
    k = rng.choice([3, 3, (1, 3)])
    pad = 1 if k == 3 else (0, 1)
    items = [conv2d(rng, c, e, 1, bias=False), batchnorm(rng, 2, e), activation(rng),
             conv2d(rng, e, e, k, 1, pad, groups=groups, bias=rng.random() < 0.5)]
    if rng.random() < 0.7:
        items += [batchnorm(rng, 2, e), activation(rng)]
    return apply_child(g.name("grp"), Container("Sequential", [("", i) for i in items], rng))
