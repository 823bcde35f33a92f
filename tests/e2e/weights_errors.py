#!/usr/bin/python3
"""weights_errors.py: seqc never trusts a weights file.

`seqc run` with a broken safetensors file (a missing tensor, a wrong shape, a
wrong dtype, truncated data, an absurd header length, bad JSON, offsets out
of range, overlapping tensors, ...) must exit 1, say on stderr which tensor
or what is wrong, and leave no output file behind. An extra tensor is only a
warning; num_batches_tracked (I64, as PyTorch saves it) is expected and
ignored; F64, F16 and BF16 are converted. `seqc check FILE --weights W`
reports every missing and wrong-shaped tensor in one run.
"""
import os
import re
import struct

import numpy as np

import e2e_common as common
import safetensors_io as st

SOURCE = """\
# written by tests/e2e/weights_errors.py
model W(x: [N, 8]) = Sequential(
    Linear(8, 6),
    BatchNorm1d(6),
    ReLU(),
    Linear(6, 3),
)
"""


def build_torch(tm):
    import torch
    import torch.nn as nn
    torch.manual_seed(7)
    model = tm.sequential_model("W", nn.Linear(8, 6), nn.BatchNorm1d(6), nn.ReLU(),
                                nn.Linear(6, 3))
    return tm.randomize(model, 7).eval()


def shape_re(dims):
    """Matches a shape written as [6, 8], (6, 8), 6x8 or [6,8]."""
    inner = r"\s*[,x×]\s*".join(str(d) for d in dims)
    return re.compile(r"[\[(]?\s*" + inner + r"\s*[\])]?")


class Env:
    def __init__(self, args, tm, report, d):
        self.args, self.report, self.dir = args, report, d
        self.seq = os.path.join(d, "w.seq")
        with open(self.seq, "w") as f:
            f.write(SOURCE)
        self.model = build_torch(tm)
        self.sd = {k: v.detach().numpy().copy() for k, v in self.model.state_dict().items()}
        self.x = np.random.default_rng(3).standard_normal((3, 8)).astype(np.float32)
        self.xpath = os.path.join(d, "x.npy")
        np.save(self.xpath, self.x)
        self.expected = self.torch_out(self.sd)
        self.count = 0

    def torch_out(self, sd):
        import torch
        m = build_torch(__import__("torch_models"))
        m.load_state_dict({k: torch.from_numpy(np.asarray(v).copy()) for k, v in sd.items()})
        with torch.no_grad():
            return m.eval()(torch.from_numpy(self.x)).numpy()

    def write(self, blob):
        self.count += 1
        path = os.path.join(self.dir, f"w{self.count}.safetensors")
        with open(path, "wb") as f:
            f.write(blob)
        return path

    def entries(self, sd=None, dtype_of=None):
        """[(name, dtype, shape, bytes)] of a state dict, as st.encode makes them."""
        sd = self.sd if sd is None else sd
        out = []
        for name, a in sd.items():
            want = dtype_of(name) if dtype_of else None
            if want == "BF16":
                out.append((name, "BF16", a.shape, st.to_bf16_bytes(a)))
                continue
            a = a.astype(st.DTYPES[want]) if want else a
            out.append((name, st.NUMPY_TO_DTYPE[a.dtype.newbyteorder("<").str], a.shape,
                        a.astype(a.dtype.newbyteorder("<")).tobytes()))
        return out

    def run(self, weights, x=None):
        self.count += 1
        out = os.path.join(self.dir, f"y{self.count}.npy")
        cp = common.seqc(self.args, "run", self.seq, "--weights", weights,
                         "--input", x or self.xpath, "--output", out, timeout=120)
        return cp, out

    # -- expectations ------------------------------------------------------
    def expect_error(self, what, weights, must_mention=(), exit_code=1, x=None):
        cp, out = self.run(weights, x)
        problems = []
        if cp.returncode != exit_code:
            problems.append(f"exit {cp.returncode}, expected {exit_code}")
        if os.path.exists(out):
            problems.append(f"an output file was left behind: {out}")
        if not cp.stderr.strip():
            problems.append("nothing on stderr")
        for m in must_mention:
            found = m.search(cp.stderr) if hasattr(m, "search") else m in cp.stderr
            if not found:
                problems.append(f"stderr does not mention {getattr(m, 'pattern', m)!r}")
        if "internal compiler error" in cp.stderr:
            problems.append("an internal compiler error")
        if problems:
            self.report.fail(what, "\n".join(problems) + f"\n$ {common.show_cmd(cp)}\n"
                             f"stderr:\n{cp.stderr}")
        else:
            first = cp.stderr.strip().splitlines()[0]
            self.report.ok(what, first[:160])

    def expect_success(self, what, weights, expected=None, must_mention=(),
                       must_not_mention=()):
        cp, out = self.run(weights)
        problems = []
        if cp.returncode != 0:
            problems.append(f"exit {cp.returncode}, expected 0")
        elif not os.path.exists(out):
            problems.append("no output file")
        for m in must_mention:
            if m not in cp.stderr:
                problems.append(f"stderr does not mention {m!r}")
        for m in must_not_mention:
            if m in cp.stderr:
                problems.append(f"stderr mentions {m!r}")
        detail = ""
        if not problems:
            ok, detail = common.compare(self.expected if expected is None else expected,
                                        np.load(out))
            if not ok:
                problems.append(detail)
        if problems:
            self.report.fail(what, "\n".join(problems) + f"\n$ {common.show_cmd(cp)}\n"
                             f"stderr:\n{cp.stderr}")
        else:
            self.report.ok(what, detail)


def without(sd, *names):
    return {k: v for k, v in sd.items() if k not in names}


def run_cases(env):
    sd, e = env.sd, env
    good = e.write(st.encode(sd))
    e.expect_success("good file (num_batches_tracked I64 ignored)", good,
                     must_not_mention=("num_batches_tracked",))

    e.expect_error("missing tensor", e.write(st.encode(without(sd, "3.bias"))),
                   must_mention=("3.bias",))

    bad = dict(sd)
    bad["0.weight"] = sd["0.weight"][:, :7].copy()
    e.expect_error("wrong shape", e.write(st.encode(bad)),
                   must_mention=("0.weight", shape_re([6, 8]), shape_re([6, 7])))

    i32 = [(n, "I32", shape, sd[n].astype("<i4").tobytes()) if n == "0.bias"
           else (n, dt, shape, data) for n, dt, shape, data in e.entries()]
    e.expect_error("wrong dtype (I32)", e.write(st.encode_raw(i32)),
                   must_mention=("0.bias", "I32"))

    blob = st.encode(sd)
    e.expect_error("truncated data", e.write(blob[:-10]))
    e.expect_error("truncated header", e.write(blob[:20]))
    e.expect_error("empty file", e.write(b""))
    e.expect_error("absurd header length", e.write(struct.pack("<Q", 2 ** 62) + blob[8:]))
    n = struct.unpack("<Q", blob[:8])[0]
    e.expect_error("header length past the end of the file",
                   e.write(struct.pack("<Q", len(blob)) + blob[8:]))
    e.expect_error("header is not JSON", e.write(
        struct.pack("<Q", n) + b"{not json" + b" " * (n - 9) + blob[8 + n:]))

    def far_offsets(h):
        h["3.weight"]["data_offsets"] = [0, 10 ** 12]
    e.expect_error("offsets beyond the data", e.write(
        st.encode_raw(e.entries(), header_override=far_offsets)), must_mention=("3.weight",))

    def overlap(h):
        h["3.bias"]["data_offsets"] = list(h["3.weight"]["data_offsets"][:1]) + [
            h["3.weight"]["data_offsets"][0] + 12]
    e.expect_error("overlapping tensors", e.write(
        st.encode_raw(e.entries(), header_override=overlap)))

    def negative_dim(h):
        h["0.bias"]["shape"] = [-6]
    e.expect_error("negative dimension", e.write(
        st.encode_raw(e.entries(), header_override=negative_dim)))

    # A duplicate key: json.dumps cannot write one, so edit the text.
    entries = e.entries()
    parts, offset = [], 0
    for name, dt, shape, data in entries:
        parts.append(f'"{name}":{{"dtype":"{dt}","shape":{list(shape)},'
                     f'"data_offsets":[{offset},{offset + len(data)}]}}')
        offset += len(data)
    parts.append(parts[0])  # 0.weight again, same offsets
    text = ("{" + ",".join(parts) + "}").encode()
    text += b" " * (-len(text) % 8)
    e.expect_error("duplicate tensor name", e.write(
        struct.pack("<Q", len(text)) + text + b"".join(d for *_, d in entries)))

    extra = dict(sd)
    extra["extra.weight"] = np.ones((2, 2), np.float32)
    e.expect_success("extra tensor (a warning only)", e.write(st.encode(extra)),
                     must_mention=("extra.weight",))

    # Other float dtypes are converted: the expectation uses the rounded values.
    def rounded(conv):
        return {k: (conv(v) if v.dtype == np.float32 else v) for k, v in sd.items()}
    floats = lambda dt: (lambda k: dt if sd[k].dtype == np.float32 else None)
    e.expect_success("F64 weights", e.write(st.encode(sd, dtype_of=floats("F64"))))
    e.expect_success("F16 weights", e.write(st.encode(sd, dtype_of=floats("F16"))),
                     expected=e.torch_out(rounded(lambda v: v.astype(np.float16).astype(np.float32))))
    e.expect_success("BF16 weights", e.write(st.encode(sd, dtype_of=floats("BF16"))),
                     expected=e.torch_out(rounded(
                         lambda v: st.from_bf16_bytes(st.to_bf16_bytes(v), v.shape))))

    # Files that cannot be opened are usage errors (exit 2), not input errors.
    e.expect_error("weights file does not exist", os.path.join(env.dir, "nope.safetensors"),
                   exit_code=2)
    e.expect_error("weights path is a directory", env.dir, exit_code=2)

    # An input of the wrong shape is an input error.
    xbad = os.path.join(env.dir, "xbad.npy")
    np.save(xbad, np.zeros((3, 7), np.float32))
    e.expect_error("input of the wrong shape", good, x=xbad)


def run_check(env):
    """seqc check --weights: every problem in one run."""
    bad = without(env.sd, "0.bias", "3.bias")
    bad["1.running_var"] = env.sd["1.running_var"][:5].copy()
    path = env.write(st.encode(bad))
    cp = common.seqc(env.args, "check", env.seq, "--weights", path, timeout=60)
    problems = []
    if cp.returncode != 1:
        problems.append(f"exit {cp.returncode}, expected 1")
    for name in ("0.bias", "3.bias", "1.running_var"):
        if name not in cp.stderr:
            problems.append(f"stderr does not mention {name!r}")
    if problems:
        env.report.fail("check --weights reports every problem",
                        "\n".join(problems) + f"\n$ {common.show_cmd(cp)}\nstderr:\n{cp.stderr}")
    else:
        env.report.ok("check --weights reports every problem")

    good = env.write(st.encode(env.sd))
    cp = common.seqc(env.args, "check", env.seq, "--weights", good, timeout=60)
    if cp.returncode != 0:
        env.report.fail("check --weights on a good file", f"exit {cp.returncode}\n{cp.stderr}")
    else:
        env.report.ok("check --weights on a good file")


def main():
    tm = common.import_torch_models()
    args = common.parse_args(__doc__)
    report = common.Report("weights errors")
    with common.tempdir(args, "seqc-weights-") as d:
        env = Env(args, tm, report, d)
        run_cases(env)
        run_check(env)
    report.finish()


if __name__ == "__main__":
    main()
