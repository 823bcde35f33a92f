#!/usr/bin/python3
"""torch_weights.py: seqc reads what torch.save(model.state_dict()) writes.

Every fixture is written here, at test time, by Debian's torch 1.13:
F32, F16, BF16 and F64 state dicts; tensors sharing one storage; views at an
offset; non-contiguous (transposed) tensors; a broadcast view (refused by
name); empty tensors; a DDP checkpoint whose keys all start with `module.`
(one error with the --strip-prefix fix, then loaded with it); `seqc convert`
to safetensors; the legacy format and a checkpoint dict (clear errors); and
hostile pickles (a GLOBAL of os.system, a REDUCE of something other than a
tensor rebuild) refused with nothing executed: their payload would create a
file, which must not exist afterwards.
"""
import collections
import os
import pickle
import tempfile
import zipfile

import numpy as np

import e2e_common as common
import safetensors_io as st

SOURCE = """\
# written by tests/e2e/torch_weights.py
model T(x: [N, 8]) = Sequential(
    Linear(8, 6),
    BatchNorm1d(6),
    ReLU(),
    Linear(6, 3),
)
"""


def make_module(seed=5):
    import torch
    import torch.nn as nn
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(8, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
    with torch.no_grad():
        m[1].running_mean.uniform_(-0.5, 0.5)
        m[1].running_var.uniform_(0.5, 2.0)
        m[1].weight.uniform_(0.5, 1.5)
        m[1].bias.uniform_(-0.3, 0.3)
    return m.eval()


class Env:
    def __init__(self, args, report, d):
        import torch
        self.args, self.report, self.dir = args, report, d
        self.seq = self.path("t.seq")
        with open(self.seq, "w") as f:
            f.write(SOURCE)
        self.module = make_module()
        self.sd = self.module.state_dict()
        self.x = torch.from_numpy(np.random.default_rng(4).standard_normal((3, 8)).astype(np.float32))
        self.xpath = self.path("x.npy")
        np.save(self.xpath, self.x.numpy())
        self.count = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def save(self, sd, name, **kwargs):
        import torch
        p = self.path(name)
        torch.save(sd, p, **kwargs)
        return p

    def expected(self, sd):
        """The module's output with `sd` loaded (as float32)."""
        import torch
        m = make_module()
        m.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
        with torch.no_grad():
            return m.eval()(self.x).numpy()

    def run(self, weights, *extra):
        self.count += 1
        out = self.path(f"y{self.count}.npy")
        cp = common.seqc(self.args, "run", self.seq, "--weights", weights, "--input", self.xpath,
                         "--output", out, *extra, timeout=120)
        return cp, out

    def fail(self, what, problems, cp):
        self.report.fail(what, "\n".join(problems) + f"\n$ {common.show_cmd(cp)}\n"
                         f"stdout:\n{cp.stdout}\nstderr:\n{cp.stderr}")

    def expect_run(self, what, weights, sd, *extra):
        cp, out = self.run(weights, *extra)
        problems = []
        if cp.returncode != 0:
            problems.append(f"exit {cp.returncode}, expected 0")
        elif "warning" in cp.stderr or "error" in cp.stderr:
            problems.append("unexpected diagnostics")
        else:
            ok, detail = common.compare(self.expected(sd), np.load(out))
            if not ok:
                problems.append(detail)
        if problems:
            self.fail(what, problems, cp)
        else:
            self.report.ok(what, detail)

    def expect_error(self, what, cp, mentions=(), exit_code=1, leftover=None):
        problems = []
        if cp.returncode != exit_code:
            problems.append(f"exit {cp.returncode}, expected {exit_code}")
        for m in mentions:
            if m not in cp.stderr:
                problems.append(f"stderr does not mention {m!r}")
        if "internal compiler error" in cp.stderr:
            problems.append("an internal compiler error")
        if leftover and os.path.exists(leftover):
            problems.append(f"an output file was left behind: {leftover}")
        if problems:
            self.fail(what, problems, cp)
        else:
            self.report.ok(what, (cp.stderr.strip().splitlines() or [""])[0][:150])


def cast(sd, dtype):
    return collections.OrderedDict(
        (k, v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items())


def shared_storage(sd):
    """Every float tensor a view into one flat storage, at its own offset."""
    import torch
    floats = [(k, v) for k, v in sd.items() if v.is_floating_point()]
    flat = torch.cat([v.reshape(-1) for _, v in floats] + [torch.zeros(5)])
    out, at = collections.OrderedDict(), 0
    for k, v in sd.items():
        if not v.is_floating_point():
            out[k] = v
            continue
        out[k] = flat[at:at + v.numel()].view(v.shape)
        at += v.numel()
    return out


def run_dtypes_and_views(env):
    import torch
    env.expect_run("F32 state_dict (.pth)", env.save(env.sd, "f32.pth"), env.sd)
    env.expect_run("F32 with a .bin extension (found by magic bytes)",
                   env.save(env.sd, "f32.bin"), env.sd)
    for dtype, name in ((torch.float16, "F16"), (torch.bfloat16, "BF16"), (torch.float64, "F64")):
        sd = cast(env.sd, dtype)
        env.expect_run(f"{name} state_dict, converted", env.save(sd, f"{name}.pth"), sd)
    sd = shared_storage(env.sd)
    assert sd["0.weight"].storage_offset() == 0 and sd["3.bias"].storage_offset() > 0
    env.expect_run("tensors sharing one storage, views at offsets", env.save(sd, "shared.pth"), sd)
    sd = collections.OrderedDict(env.sd)
    sd["0.weight"] = env.sd["0.weight"].t().contiguous().t()   # non-contiguous
    sd["3.weight"] = env.sd["3.weight"].t().contiguous().t()
    assert not sd["0.weight"].is_contiguous()
    env.expect_run("non-contiguous (transposed) tensors, gathered", env.save(sd, "nc.pth"), sd)
    sd = collections.OrderedDict((k, nn_param(v)) for k, v in env.sd.items())
    env.expect_run("nn.Parameter values (_rebuild_parameter)", env.save(sd, "params.pth"), env.sd)
    sd = collections.OrderedDict(env.sd)
    sd["1.running_mean"] = torch.tensor([0.25]).expand(6)
    cp, _ = env.run(env.save(sd, "expand.pth"))
    env.expect_error("a broadcast view is refused by name", cp,
                     ["'1.running_mean'", "broadcast view", ".contiguous()"])


def nn_param(v):
    import torch
    return torch.nn.Parameter(v.clone(), requires_grad=False) if v.is_floating_point() else v


def run_prefix(env):
    import torch
    ddp = collections.OrderedDict(("module." + k, v) for k, v in env.sd.items())
    path = env.save(ddp, "ddp.pth")
    cp, out = env.run(path)
    env.expect_error("DDP checkpoint: one error naming the prefix", cp,
                     ["every key has the prefix 'module.'", "help:", "--strip-prefix module."],
                     leftover=out)
    if cp.stderr.count("error:") != 1 or "warning" in cp.stderr:
        env.fail("DDP checkpoint: exactly one error, no warnings", ["more diagnostics"], cp)
    else:
        env.report.ok("DDP checkpoint: exactly one error, no warnings")
    env.expect_run("run --strip-prefix module.", path, env.sd, "--strip-prefix", "module.")
    cp = common.seqc(env.args, "check", env.seq, "--weights", path)
    env.expect_error("check --weights on the DDP file", cp, ["every key has the prefix 'module.'"])
    cp = common.seqc(env.args, "check", env.seq, "--weights", path, "--strip-prefix", "module.")
    env.expect_error("check --weights --strip-prefix module.", cp, exit_code=0)
    obj = env.path("t.o")
    cp = common.seqc(env.args, "build", env.seq, "-o", obj, "--weights", path,
                     "--strip-prefix", "module.")
    env.expect_error("build --weights --strip-prefix module.", cp, exit_code=0)
    if not os.path.exists(obj):
        env.fail("build writes its object", ["no object"], cp)
    cp = common.seqc(env.args, "build", env.seq, "-o", env.path("u.o"), "--weights", path)
    env.expect_error("build without --strip-prefix fails, writes nothing", cp,
                     ["every key has the prefix 'module.'"], leftover=env.path("u.o"))
    cp = common.seqc(env.args, "--diagnostics", "json", "check", env.seq, "--weights", path)
    if '"--strip-prefix module.' not in cp.stderr and "--strip-prefix module." not in cp.stderr:
        env.fail("json diagnostics carry the fix", ["no fix"], cp)
    else:
        env.report.ok("json diagnostics carry the --strip-prefix fix")


def run_convert(env):
    import torch
    sd = collections.OrderedDict(env.sd)
    sd["empty"] = torch.zeros(0, 4)
    sd["half"] = torch.arange(6, dtype=torch.float16).reshape(2, 3)
    sd["nc"] = torch.arange(6.0).reshape(2, 3).t()
    ddp = collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    src = env.save(ddp, "conv.pth")
    out = env.path("conv.safetensors")
    cp = common.seqc(env.args, "convert", src, "-o", out, "--strip-prefix", "module.")
    if cp.returncode != 0 or not os.path.exists(out):
        env.fail("convert --strip-prefix", [f"exit {cp.returncode}"], cp)
        return
    back = st.load(out)
    problems = []
    if list(back) != list(sd):
        problems.append(f"names {list(back)}, expected {list(sd)}")
    for k, v in sd.items():
        got = back.get(k)
        want = v.float().numpy() if v.dtype == torch.bfloat16 else v.numpy()
        if got is None or got.shape != want.shape or got.dtype != want.dtype or \
                not np.array_equal(got, want):
            problems.append(f"tensor {k}: {None if got is None else (got.dtype, got.shape)}")
    if problems:
        env.fail("convert keeps names, shapes, dtypes and values", problems, cp)
    else:
        env.report.ok("convert keeps names, shapes, dtypes and values (empty, F16, non-contiguous)")
    plain = env.path("plain.safetensors")
    cp = common.seqc(env.args, "convert", env.save(env.sd, "plain.pth"), "-o", plain)
    env.expect_error("convert exits 0", cp, exit_code=0)
    env.expect_run("run on the converted file", plain, env.sd)
    cp = common.seqc(env.args, "convert", src, "-o", env.path("no/such/dir/x.safetensors"))
    env.expect_error("convert to an unwritable place exits 2", cp, ["cannot write"], exit_code=2)
    cp = common.seqc(env.args, "convert", env.path("missing.pth"), "-o", env.path("m.safetensors"))
    env.expect_error("convert of a missing file exits 2", cp, ["no such file"], exit_code=2,
                     leftover=env.path("m.safetensors"))


def run_not_state_dicts(env):
    legacy = env.save(env.sd, "legacy.pth", _use_new_zipfile_serialization=False)
    cp, out = env.run(legacy)
    env.expect_error("the legacy format: a clear error", cp, ["legacy (before 1.6) format"],
                     leftover=out)
    checkpoint = env.save({"model": env.sd, "epoch": 3}, "ckpt.pth")
    cp, out = env.run(checkpoint)
    env.expect_error("a checkpoint dict: a clear error", cp, ["not a tensor"], leftover=out)
    with open(env.path("f32.pth"), "rb") as f:
        blob = f.read()
    for cut in (len(blob) // 3, len(blob) - 30):
        p = env.path(f"cut{cut}.pth")
        with open(p, "wb") as f:
            f.write(blob[:cut])
        cp, out = env.run(p)
        env.expect_error(f"a torch file truncated to {cut} bytes", cp, ["weights"], leftover=out)


def hostile_zip(name, pickle_bytes):
    """A zip laid out as torch.save lays it out, around `pickle_bytes`."""
    with zipfile.ZipFile(name, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/version", "3\n")
    return name


def run_hostile(env):
    marker = env.path("pwned")

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    # What pickle itself writes for a malicious object inside a state dict.
    by_pickle = pickle.dumps(collections.OrderedDict([("0.weight", Evil())]), protocol=2)
    assert b"system" in by_pickle
    # Hand-built: GLOBAL os.system, a string argument, TUPLE1, REDUCE.
    by_hand = (b"\x80\x02cos\nsystem\nX" + len(f"touch {marker}").to_bytes(4, "little") +
               f"touch {marker}".encode() + b"\x85R.")
    # GLOBAL of an allowed class, then a REDUCE that is not a tensor rebuild.
    reduce_storage = b"\x80\x02ctorch\nFloatStorage\nK\x04\x85R."
    # GLOBAL builtins.eval via STACK_GLOBAL (protocol 4).
    stack_global = (b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x0b" +
                    b"print('hi')" + b"\x85R.")
    cases = [
        ("pickle.dumps of an os.system __reduce__", by_pickle,
         f"refuses global '{os.system.__module__}.system'"),
        ("hand-built GLOBAL os.system + REDUCE", by_hand, "refuses global 'os.system'"),
        ("REDUCE of torch.FloatStorage", reduce_storage, "refuses REDUCE of 'torch.FloatStorage'"),
        ("STACK_GLOBAL builtins.eval", stack_global, "refuses global 'builtins.eval'"),
    ]
    for what, blob, mention in cases:
        p = hostile_zip(env.path(f"evil{env.count}.pth"), blob)
        cp, out = env.run(p)
        env.expect_error(f"hostile: {what} (run)", cp, [mention], leftover=out)
        conv = env.path("evil.safetensors")
        cp = common.seqc(env.args, "convert", p, "-o", conv)
        env.expect_error(f"hostile: {what} (convert)", cp, [mention], leftover=conv)
        cp = common.seqc(env.args, "check", env.seq, "--weights", p)
        env.expect_error(f"hostile: {what} (check)", cp, [mention])
    if os.path.exists(marker):
        env.report.fail("nothing was executed", f"{marker} exists")
    else:
        env.report.ok("nothing was executed (the payload's file does not exist)")


def main():
    common.import_torch_models()
    args = common.parse_args(__doc__)
    report = common.Report("torch weights")
    tempfile.tempdir = os.getcwd()  # the fixtures live in the build tree
    with common.tempdir(args, "seqc-torch-") as d:
        env = Env(args, report, d)
        run_dtypes_and_views(env)
        run_prefix(env)
        run_convert(env)
        run_not_state_dicts(env)
        run_hostile(env)
    report.finish()


if __name__ == "__main__":
    main()
