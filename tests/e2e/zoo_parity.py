#!/usr/bin/python3
"""zoo_parity.py: each examples/zoo/ and examples/zoo-more/ model against
torchvision 0.14.

For one zoo file (--zoo NAME, the basename without .seq) the model is built
by torchvision with its default arguments (no download: random weights,
torch.manual_seed per model, BatchNorm running statistics and affine
parameters randomised), in eval() mode. Then:
  1. `seqc print` equals print(model);
  2. the state_dict() names, order and shapes equal `seqc summary --params`;
  3. torchvision's state_dict, saved as safetensors (num_batches_tracked
     included), loads into `seqc run` without renaming, and the outputs at
     batch 1 and 2 satisfy |y - y'| <= 1e-4 + 1e-4 * max|y|;
  4. for the models in NATIVE, the same through `seqc build` and a linked C
     program (run_parity.py's); for those in EMBEDDED, also with the weights
     compiled into the object (EfficientNet-B0: a forward pass long enough
     to be split into several functions); for those in FIXED_ONE, also the
     model declared for a batch of exactly 1 at batch 1, on 1 and 2 threads
     (its concats' inputs then written in place).
Exits 0 on success, 1 on any failure, 77 when torch or torchvision is missing.
"""
import json
import os
import sys
import zlib

import numpy as np

import e2e_common as common

# zoo file -> (model name in the file, torchvision builder)
ZOO = {
    "alexnet": ("AlexNet", "alexnet"),
    "vgg11_bn": ("VGG", "vgg11_bn"),
    "resnet18": ("ResNet", "resnet18"),
    "resnet50": ("ResNet", "resnet50"),
    "resnext50_32x4d": ("ResNet", "resnext50_32x4d"),
    "squeezenet1_1": ("SqueezeNet", "squeezenet1_1"),
    "densenet121": ("DenseNet", "densenet121"),
    "googlenet": ("GoogLeNet", "googlenet"),
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2"),
    "mobilenet_v3_small": ("MobileNetV3", "mobilenet_v3_small"),
    "efficientnet_b0": ("EfficientNet", "efficientnet_b0"),
    "shufflenet_v2_x1_0": ("ShuffleNetV2", "shufflenet_v2_x1_0"),
    "regnet_y_400mf": ("RegNet", "regnet_y_400mf"),
}
# examples/zoo-more/: more of torchvision's classification models, ported
# from its source as a user would (a sweep of the language against models
# seqc's authors had not written): file -> (model, builder, input size)
MORE = {
    "mobilenet_v3_large": ("MobileNetV3", "mobilenet_v3_large", 224),
    "mnasnet1_0": ("MNASNet", "mnasnet1_0", 224),
    "resnet34": ("ResNet", "resnet34", 224),
    "wide_resnet50_2": ("ResNet", "wide_resnet50_2", 224),
    "vgg16_bn": ("VGG", "vgg16_bn", 224),
    "squeezenet1_0": ("SqueezeNet", "squeezenet1_0", 224),
    "inception_v3": ("Inception3", "inception_v3", 299),
    "efficientnet_b3": ("EfficientNet", "efficientnet_b3", 224),
    "efficientnet_v2_s": ("EfficientNet", "efficientnet_v2_s", 224),
    "regnet_x_400mf": ("RegNet", "regnet_x_400mf", 224),
    "densenet169": ("DenseNet", "densenet169", 224),
    "shufflenet_v2_x0_5": ("ShuffleNetV2", "shufflenet_v2_x0_5", 224),
}
# torchvision initialises these so that the outputs are about 1e13, the
# sum of huge cancelling terms (Inception's truncated normal of std 0.1 on
# every convolution): their convolutions and Linears get weights of
# variance 1/fan-in instead, which keeps the activations near 1. Wide
# ResNet-50-2's outputs reach 212 with its own initialisation, and on an
# AVX2 machine (Zen 3) PyTorch's float32 output was itself 1.3e-4 from its
# float64 one at an output of 0.12, outside the bound (seqc: 3.2e-4);
# reinitialised, 15 at most, PyTorch 4e-6 and seqc 1.7e-5 from float64.
REINIT = {"inception_v3", "wide_resnet50_2"}
NATIVE = {"resnet18", "mobilenet_v2"}
# Also declared for a batch of exactly 1 (every node then runs on one image,
# and PlanMemory writes the concats' inputs in place: ShuffleNet's chunks
# and branches), at batch 1 on 1 and 2 threads
FIXED_ONE = {"shufflenet_v2_x1_0"}
EMBEDDED = {"efficientnet_b0"}
BATCHES = [1, 2]


def build_torchvision(builder, seed, reinit=False):
    import warnings
    import torch
    import torchvision.models as models
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GoogLeNet's note on its initialisation
        model = getattr(models, builder)()
    g = torch.Generator().manual_seed(seed + 1000003)
    with torch.no_grad():
        if reinit:
            for m in model.modules():
                if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                    m.weight.normal_(0.0, (1.0 / m.weight[0].numel()) ** 0.5, generator=g)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.2)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
    return model.eval()


class Case:
    """What run_parity.run_jit and run_native expect of a model."""

    def __init__(self, key, model, d, seed, size=224):
        import torch
        import safetensors_io
        self.key, self.dir = key, d
        self.weights = os.path.join(d, "w.safetensors")
        safetensors_io.save_state_dict(model, self.weights)
        self.input_names = ["x"]
        self.batches = BATCHES
        self.inputs, self.expected = {}, {}
        for b in self.batches:
            x = torch.randn(b, 3, size, size, generator=torch.Generator().manual_seed(seed + b))
            with torch.no_grad():
                self.expected[b] = model(x).numpy()
            npy, raw = os.path.join(d, f"x_b{b}.npy"), os.path.join(d, f"x_b{b}.f32")
            np.save(npy, x.numpy().astype(np.float32))
            x.numpy().astype("<f4").tofile(raw)
            self.inputs[b] = [(npy, raw)]


def check_print(args, report, path, name, model):
    cp = common.seqc(args, "print", path, "--model", name, timeout=60)
    expected = str(model) + "\n"
    if cp.returncode != 0:
        report.fail("print", f"$ {common.show_cmd(cp)}\nexit {cp.returncode}\n{cp.stderr}")
    elif cp.stdout != expected:
        report.fail("print", common.unified_diff(expected, cp.stdout, "print(model)"))
    else:
        report.ok("print")


def check_params(args, report, path, name, model):
    cp = common.seqc(args, "summary", path, "--model", name, "--params", timeout=60)
    if cp.returncode != 0:
        report.fail("state_dict", f"$ {common.show_cmd(cp)}\nexit {cp.returncode}\n{cp.stderr}")
        return
    got = [(p["name"], list(p["shape"])) for p in json.loads(cp.stdout)["params"]]
    want = [(n, list(t.shape)) for n, t in model.state_dict().items()
            if not n.endswith("num_batches_tracked")]
    if got != want:
        fmt = lambda ps: "".join(f"{n} {s}\n" for n, s in ps)
        report.fail("state_dict", common.unified_diff(fmt(want), fmt(got), "state_dict"))
    else:
        report.ok("state_dict", f"{len(want)} tensors, names, order and shapes")


def check_fixed_batch_one(args, report, case, path, name, d):
    import run_parity
    with open(path) as f:
        text = f.read()
    fixed = text.replace("[N, 3, 224, 224]", "[1, 3, 224, 224]")
    what = f"{name} declared for a batch of 1"
    if fixed == text:
        report.fail(what, "the model's input is not declared [N, 3, 224, 224]")
        return
    src = os.path.join(d, "fixed1.seq")
    with open(src, "w") as f:
        f.write(fixed)
    cp = common.seqc(args, "dump", "ir-opt", src, "--model", name, timeout=60)
    if cp.returncode != 0 or "(the concat's input, in place)" not in cp.stdout:
        report.fail(what, "no concat takes its inputs in place\n" + cp.stderr)
        return
    for threads in (1, 2):
        out = os.path.join(d, f"fixed1_t{threads}.npy")
        cp = common.seqc(args, "run", src, "--model", name, "--weights", case.weights, "--input",
                         case.inputs[1][0][0], "--output", out, "--threads", str(threads))
        label = f"{what}, concats in place, {threads} thread{'s' if threads > 1 else ''}"
        if cp.returncode != 0 or not os.path.exists(out):
            report.fail(label, run_parity.fail_cmd(cp))
            continue
        run_parity.check_output(report, label, case.expected[1], np.load(out))


def main():
    common.import_torch_models()
    try:
        import torchvision  # noqa: F401
    except ImportError as e:
        print(f"skipped: {e} (install python3-torchvision)")
        sys.exit(common.SKIP)
    sys.argv, zoo = strip_zoo_option(sys.argv)
    args = common.parse_args(__doc__, need_build=True)
    import run_parity
    report = common.Report(f"zoo parity {zoo}")
    if zoo in ZOO:
        (name, builder), size, folder = ZOO[zoo], 224, "zoo"
    else:
        (name, builder, size), folder = MORE[zoo], "zoo-more"
    rel = os.path.join("examples", folder, zoo + ".seq")
    path = os.path.join(args.root, rel)
    seed = zlib.crc32(zoo.encode()) % (2 ** 31)
    model = build_torchvision(builder, seed, reinit=zoo in REINIT)
    check_print(args, report, path, name, model)
    check_params(args, report, path, name, model)
    with common.tempdir(args, f"seqc-zoo-{zoo}-") as d:
        case = Case((rel, name), model, d, seed, size)
        del model
        run_parity.run_jit(args, report, case)
        if zoo in NATIVE:
            run_parity.run_native(args, report, case, embedded=False)
        if zoo in EMBEDDED:
            run_parity.run_native(args, report, case, embedded=True)
        if zoo in FIXED_ONE:
            check_fixed_batch_one(args, report, case, path, name, d)
    report.finish()


def strip_zoo_option(argv):
    out, zoo = [], None
    it = iter(argv)
    for a in it:
        if a == "--zoo":
            zoo = next(it)
        else:
            out.append(a)
    if zoo not in ZOO and zoo not in MORE:
        print(f"error: --zoo must be one of {', '.join(list(ZOO) + list(MORE))}")
        sys.exit(1)
    return out, zoo


if __name__ == "__main__":
    main()
