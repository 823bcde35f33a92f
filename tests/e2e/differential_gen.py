"""differential_gen.py: random valid .seq models and their PyTorch twins.

A model is grown stage by stage from a seed. A stage adds children (built-in
layers, containers, instances of user modules) and forward statements, each
written twice: as .seq text and as Python over torch. The shape after a stage
is found by running it in PyTorch on a dummy batch of 2, so a stage PyTorch
rejects is simply drawn again: every model that comes out is valid, and small
(a budget of multiply-accumulates per sample).

generate(seed) -> Generated(text, build(), input_shape, ...)
generate(seed, defect=KIND) -> the same with one deliberate shape error,
marked in the text by a trailing `# defect` comment on its line.
"""

import math
import random

import torch
from torch import nn

from differential_nodes import (REQ, Container, Layer, Net, Template, Use,
                                child_lines, indent, item_lines, render_call,
                                value_of)
from differential_layers import (activation, adaptive, batchnorm, conv, conv2d,
                                 layer_fits, layernorm, linear, passthrough,
                                 pool, pool_args, pool_fits, probe, softmax_layer)
from differential_nodes import Stage, apply_child
from differential_paths import (st_inverted, st_pointwise, st_small_groups,
                                st_strided_pointwise, st_winograd)

MAC_BUDGET = 1_000_000  # per sample
DEFECTS = ("linear", "batchnorm", "conv", "view")


# ---------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------

def image_layer(rng, shape):
    c = shape[0]
    r = rng.random()
    if r < 0.45:
        return conv(rng, 2, c)
    if r < 0.55:
        return batchnorm(rng, 2, c)
    if r < 0.72:
        return activation(rng)
    if r < 0.85:
        return pool(rng, shape)
    if r < 0.9:
        return layernorm(rng, shape)
    if r < 0.95:
        return adaptive(rng, shape)
    return passthrough(rng, 2)


def vector_layer(rng, shape):
    f = shape[-1]
    r = rng.random()
    if r < 0.4:
        return linear(rng, f, rng.randint(4, 64))
    if r < 0.65:
        return activation(rng)
    if r < 0.75:
        return batchnorm(rng, 1, shape[0])
    if r < 0.85:
        return layernorm(rng, shape)
    return passthrough(rng, 1)


def seq_layer(rng, shape):
    c, length = shape
    r = rng.random()
    if r < 0.4:
        return conv(rng, 1, c)
    if r < 0.5:
        return batchnorm(rng, 1, c)
    if r < 0.7:
        return activation(rng)
    if r < 0.8:
        return linear(rng, length, rng.randint(4, 24))
    if r < 0.9:
        return layernorm(rng, shape)
    return passthrough(rng, 1)


LAYER_PICKERS = {3: image_layer, 1: vector_layer, 2: seq_layer}


def chain(g, n):
    """n layers that fit one after another from g.shape, each checked."""
    layers, shape = [], g.shape
    for _ in range(n):
        for _ in range(12):
            layer = LAYER_PICKERS[len(shape)](g.rng, shape)
            out = layer and layer_fits(layer, shape)
            if out:
                layers.append(layer)
                shape = out
                break
    return layers


def st_chain(g):
    """A Sequential of 1-4 layers (or one bare layer) applied to x."""
    rng = g.rng
    layers = chain(g, rng.randint(1, 4))
    if not layers:
        return None
    if len(layers) == 1 and rng.random() < 0.5:
        return apply_child(g.name("layer"), layers[0])
    form = rng.choice(["list", "list", "named", "ordereddict"])
    names = [f"{l.kind.lower()}{i}" for i, l in enumerate(layers)]
    return apply_child(g.name("features"),
                       Container("Sequential", list(zip(names, layers)), rng,
                                 form))


def st_residual(g):
    """Res(c) blocks: one, or a ModuleList/Sequential of them with a loop."""
    rng, c = g.rng, g.shape[0]
    t = g.template("Res", make_res_template)
    blocks = [("", Use(t, {"c": c}, rng)) for _ in range(rng.randint(1, 3))]
    if len(blocks) == 1:
        return apply_child(g.name("block"), blocks[0][1])
    name = g.name("blocks")
    form = "repeat" if rng.random() < 0.5 else "list"
    if rng.random() < 0.3:
        return apply_child(name, Container("Sequential", blocks, rng, form))
    seq_slice, py_slice = rng.choice([("", ""), ("[1:]", "[1:]"),
                                      ("[:-1]", "[:-1]"), ("[0:2]", "[0:2]")])
    lst = Container("ModuleList", blocks, rng, form)
    return Stage([(name, lst)], [f"for blk in {name}{seq_slice} {{ x = blk(x) }}"],
                 [f"for blk in self.{name}{py_slice}: x = blk(x)"])


def st_down(g):
    """Down(cin, cout, stride): a residual block with a projection."""
    rng, c = g.rng, g.shape[0]
    t = g.template("Down", make_down_template)
    values = {"cin": c, "cout": rng.randint(2, 16), "stride": rng.choice([1, 2])}
    return apply_child(g.name("down"), Use(t, values, rng))


def st_convbnact(g):
    rng, c = g.rng, g.shape[0]
    t = g.template("ConvBNAct", make_convbnact_template)
    return apply_child(g.name("cba"), Use(t, {"cin": c, "cout": rng.randint(2, 16)}, rng))


def st_inline_residual(g):
    """`y = body(x)` then `x = relu(y + x)` in the model's own forward."""
    rng, c = g.rng, g.shape[0]
    body = Container("Sequential", [("", conv(rng, 2, c, c, keep_size=True)),
                                    ("", batchnorm(rng, 2, c))], rng)
    name = g.name("body")
    seq, py = rng.choice([("x = relu(y + x)", "x = F.relu(y + x)"),
                          ("x = x + y", "x = x + y"),
                          ("x = y - x", "x = y - x")])
    return Stage([(name, body)], [f"y = {name}(x)", seq],
                 [f"y = self.{name}(x)", py])


def st_cat(g):
    """Two branches (or x itself and a branch) joined by cat along channels;
    half the time then a BatchNorm and an activation, as DenseNet's layers
    take the features they concatenate (seqc copies the concat through
    them)."""
    rng, c = g.rng, g.shape[0]
    a, b = g.name("branch"), g.name("branch")
    ca, cb = rng.randint(1, 8), rng.randint(1, 8)
    children = [(a, conv(rng, 2, c, ca, keep_size=True)),
                (b, Container("Sequential", [
                    ("", conv(rng, 2, c, cb, keep_size=True)),
                    ("", activation(rng))], rng))]
    whole = rng.random() < 0.4
    norm = g.name("catnorm") if rng.random() < 0.5 else None
    out = c + cb if whole else ca + cb
    wrap = (lambda e: f"{norm}({e})") if norm else (lambda e: e)
    wrap_py = (lambda e: f"self.{norm}({e})") if norm else (lambda e: e)
    extra = [(norm, Container("Sequential", [("", batchnorm(rng, 2, out)), ("", activation(rng))], rng))] if norm else []
    if whole:
        return Stage(children[1:] + extra, [f"x = {wrap(f'cat([x, {b}(x)], dim=1)')}"],
                     [f"x = {wrap_py(f'torch.cat([x, self.{b}(x)], dim=1)')}"])
    return Stage(children + extra, [f"u = {a}(x)", f"v = {b}(x)",
                                    f"x = {wrap('cat([u, v], ' + rng.choice(['1', 'dim=1', '-3']) + ')')}"],
                 [f"u = self.{a}(x)", f"v = self.{b}(x)",
                  f"x = {wrap_py('torch.cat([u, v], 1)')}"])


def st_gate(g):
    """Squeeze-and-excitation: x * sigmoid(gate(pool(x))), broadcast."""
    rng, c = g.rng, g.shape[0]
    name = g.name("gate")
    return Stage([(name, conv2d(rng, c, c, 1))],
                 ["s = adaptive_avg_pool2d(x, 1)", f"x = x * sigmoid({name}(s))"],
                 ["s = F.adaptive_avg_pool2d(x, 1)",
                  f"x = x * torch.sigmoid(self.{name}(s))"])


def st_gate_project(g):
    """Squeeze-and-excitation, its product read by a 1x1 projection (with
    BatchNorm) of at most a quarter as many channels as the plane has
    positions: seqc scales the projection's weights per image instead
    (passes::fuseChannelScale), the scale on either side of the `*`."""
    rng, (c, h, w) = g.rng, g.shape
    gate, proj = g.name("gate"), g.name("proj")
    o = rng.randint(16, max(16, min(48, h * w // 4)))  # packed: 16 or more
    body = Container("Sequential", [("", conv2d(rng, c, o, 1, bias=rng.random() < 0.5)),
                                    ("", batchnorm(rng, 2, o))], rng)
    seq, py = rng.choice([("x * s", "x * s"), ("s * x", "s * x")])
    return Stage([(gate, conv2d(rng, c, c, 1)), (proj, body)],
                 ["s = sigmoid(" + gate + "(adaptive_avg_pool2d(x, 1)))", f"x = {proj}({seq})"],
                 [f"s = torch.sigmoid(self.{gate}(F.adaptive_avg_pool2d(x, 1)))", f"x = self.{proj}({py})"])


def st_module_dict(g):
    rng, c = g.rng, g.shape[0]
    co = rng.randint(1, 12)
    heads = Container("ModuleDict", [("a", conv(rng, 2, c, co, keep_size=True)),
                                     ("b", conv(rng, 2, c, co, keep_size=True))],
                      rng, "named")
    name = g.name("heads")
    return Stage([(name, heads)], [f'x = {name}.a(x) + {name}["b"](x)'],
                 [f"x = self.{name}['a'](x) + self.{name}['b'](x)"])


FUNCTIONAL = [("relu(x)", "F.relu(x)"), ("sigmoid(x)", "torch.sigmoid(x)"),
              ("tanh(x)", "torch.tanh(x)"), ("silu(x)", "F.silu(x)"),
              ("gelu(x)", "F.gelu(x)"),
              ("gelu(x, approximate='tanh')", "F.gelu(x, approximate='tanh')"),
              ("x * 0.5", "x * 0.5"), ("x * 3.0", "x * 3.0"),
              ("x / 2", "x / 2"), ("2.5 * x", "2.5 * x")]


def st_functional(g):
    seq, py = g.rng.choice(FUNCTIONAL)
    return Stage([], [f"x = {seq}"], [f"x = {py}"])


def st_functional_pool(g):
    rng = g.rng
    if rng.random() < 0.3:
        size = rng.randint(1, min(g.shape[1], g.shape[2], 3))
        return Stage([], [f"x = adaptive_avg_pool2d(x, {size})"],
                     [f"x = F.adaptive_avg_pool2d(x, {size})"])
    avg = rng.random() < 0.5
    fn = "avg_pool2d" if avg else "max_pool2d"
    args = pool_args(rng, avg)
    if not pool_fits(args, g.shape):
        return None
    seq = render_call(fn, args, rng, first="x", max_pos=None if avg else 4)
    py = ", ".join(["x"] + [f"{k}={value_of(v)!r}" for k, v, _ in args])
    return Stage([], [f"x = {seq}"], [f"x = F.{fn}({py})"])


def st_softmax(g):
    rng, rank = g.rng, len(g.shape) + 1
    if rng.random() < 0.5:
        return apply_child(g.name("norm"), softmax_layer(rng, rank))
    dim = rng.randint(1, rank - 1) - (rank if rng.random() < 0.4 else 0)
    fn = rng.choice(["softmax", "log_softmax"])
    return Stage([], [f"x = {fn}(x, {rng.choice(['', 'dim='])}{dim})"],
                 [f"x = F.{fn}(x, dim={dim})"])


def product_text(dims):
    return " * ".join(str(d) for d in dims)


def st_flatten(g):
    """To a vector: Flatten(), view/reshape with -1 or the product, flatten."""
    rng, b = g.rng, g.batch
    dims = g.shape
    n = math.prod(dims)
    choice = rng.randrange(6)
    if choice == 0:
        return apply_child(g.name("flat"), Layer("Flatten", [], rng))
    forms = [("x.view(x.shape[0], -1)", "x.view(x.shape[0], -1)"),
             (f"x.view({b}, {product_text(dims)})", f"x.view({b}, {n})"),
             (f"x.reshape(x.size(0), {n})", f"x.reshape(x.size(0), {n})"),
             ("flatten(x, 1)", "torch.flatten(x, 1)"),
             ("x.flatten(1)", "x.flatten(1)")]
    seq, py = forms[choice - 1]
    return Stage([], [f"x = {seq}"], [f"x = {py}"])


def st_to_seq(g):
    """Image [C, H, W] to sequence [C, H*W] (or [C*H, W])."""
    rng, b = g.rng, g.batch
    c, h, w = g.shape
    if rng.random() < 0.3:
        return apply_child(g.name("flat"),
                           Layer("Flatten", [("start_dim", 2, 1)], rng))
    if rng.random() < 0.5:
        return Stage([], [f"x = x.view({b}, {c}, {h} * {w})"],
                     [f"x = x.view({b}, {c}, {h * w})"])
    return Stage([], [f"x = x.reshape(x.shape[0], {c} * {h}, -1)"],
                 [f"x = x.reshape(x.shape[0], {c * h}, -1)"])


def st_to_image(g):
    """Vector to image: Linear to C*H*W, then view."""
    rng, b = g.rng, g.batch
    c, h, w = rng.randint(1, 8), rng.randint(3, 8), rng.randint(3, 8)
    name = g.name("fc")
    return Stage([(name, linear(rng, g.shape[-1], c * h * w))],
                 [f"x = {name}(x)", f"x = x.view({b}, {c}, {h}, {w})"],
                 [f"x = self.{name}(x)", f"x = x.view({b}, {c}, {h}, {w})"])


def st_seq_to_image(g):
    c, length = g.shape
    h = next((d for d in range(3, length) if length % d == 0), None)
    if h is None:
        return None
    return Stage([], [f"x = x.view({g.batch}, {c}, {h}, {length // h})"],
                 [f"x = x.view({g.batch}, {c}, {h}, {length // h})"])


def st_repeat_linear(g):
    """`Sequential(Linear(f, f) for _ in range(k))`."""
    rng, f = g.rng, g.shape[-1]
    items = [("", linear(rng, f, f, bias=True))] * rng.randint(2, 3)
    return apply_child(g.name("mlp"), Container("Sequential", items, rng, "repeat"))


def st_mlp_residual(g):
    t = g.template("MlpRes", make_mlp_res_template)
    return apply_child(g.name("res"), Use(t, {"f": g.shape[-1]}, g.rng))


# (stage, weight) per rank of the per-sample shape
STAGES = {
    3: [(st_chain, 6), (st_residual, 3), (st_down, 1.5), (st_convbnact, 1),
        (st_inline_residual, 1), (st_cat, 1), (st_gate, 0.7), (st_gate_project, 0.6), (st_inverted, 0.8), (st_winograd, 4),
        (st_pointwise, 0.8), (st_strided_pointwise, 0.6), (st_small_groups, 0.6),
        (st_module_dict, 0.5), (st_functional, 1.5), (st_functional_pool, 1),
        (st_softmax, 0.4), (st_flatten, 1.2), (st_to_seq, 0.6)],
    2: [(st_chain, 5), (st_functional, 1), (st_softmax, 0.5),
        (st_flatten, 1), (st_seq_to_image, 0.7)],
    1: [(st_chain, 5), (st_repeat_linear, 1), (st_mlp_residual, 1),
        (st_functional, 1), (st_softmax, 0.5), (st_to_image, 0.8)],
}


# ---------------------------------------------------------------------------
# User module templates
# ---------------------------------------------------------------------------

def res_body(rng, cin, cout, stride):
    """conv(k, stride) - BN - act - conv(3) - BN, sizes kept up to stride."""
    k = rng.choice([1, 3, 5])
    groups = cin if cin is cout and rng.random() < 0.4 else 1
    first = conv2d(rng, cin, cout, k, stride, k // 2, groups=groups, bias=False)
    second = conv2d(rng, cout, cout, 3, padding=rng.choice([1, "same"]), bias=False)
    return Container("Sequential", [("", first), ("", batchnorm(rng, 2, cout)),
                                    ("", activation(rng)), ("", second),
                                    ("", batchnorm(rng, 2, cout))], rng)


def make_res_template(rng, syms):
    c = syms["c"]
    seq, py = rng.choice([("return relu(y + x)", "return F.relu(y + x)"),
                          ("return x + y", "return x + y")])
    return ([("body", res_body(rng, c, c, 1))], ["y = body(x)", seq],
            ["y = self.body(x)", py])


def make_down_template(rng, syms):
    cin, cout, stride = syms["cin"], syms["cout"], syms["stride"]
    proj = Container("Sequential", [
        ("", conv2d(rng, cin, cout, 1, stride, bias=False)),
        ("", batchnorm(rng, 2, cout))], rng)
    return ([("body", res_body(rng, cin, cout, stride)), ("proj", proj)],
            ["y = body(x)", "return relu(y + proj(x))"],
            ["y = self.body(x)", "return F.relu(y + self.proj(x))"])


def make_convbnact_template(rng, syms):
    cin, cout = syms["cin"], syms["cout"]
    return Container("Sequential", [
        ("", conv2d(rng, cin, cout, 3, padding=1)),
        ("", batchnorm(rng, 2, cout)), ("", activation(rng))], rng)


def make_mlp_res_template(rng, syms):
    f = syms["f"]
    body = Container("Sequential", [("", linear(rng, f, f * 2)),
                                    ("", activation(rng)),
                                    ("", linear(rng, f * 2, f))], rng)
    return ([("body", body)], ["return x + body(x)"],
            ["return x + self.body(x)"])


TEMPLATE_PARAMS = {
    "Res": [("c", "int", REQ)],
    "Down": [("cin", "int", REQ), ("cout", "int", REQ), ("stride", "int", 1)],
    "ConvBNAct": [("cin", "int", REQ), ("cout", "int", REQ)],
    "MlpRes": [("f", "int", REQ)],
}


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

class Generated:
    """A generated model: .seq text, PyTorch builder, input shape."""

    def __init__(self, seed, name, text, build, input_shape, defect=None):
        self.seed, self.name, self.text = seed, name, text
        self.build, self.input_shape = build, input_shape
        self.defect = defect

    @property
    def defect_line(self):
        for i, line in enumerate(self.text.splitlines(), 1):
            if line.rstrip().endswith("# defect"):
                return i
        return None


class ModelGen:
    def __init__(self, seed, defect=None):
        self.seed, self.rng = seed, random.Random(seed)
        self.defect = defect
        self.children, self.seq, self.py = [], [], []
        self.templates, self.counts = {}, {}
        self.macs = 0
        self.batch = self.rng.choice(["N", "N", "N", "B", "batch"])
        self.chain_mode = defect != "view" and self.rng.random() < 0.15
        self.shape = self.input_shape = self.pick_input()

    def pick_input(self):
        rng, r = self.rng, self.rng.random()
        if r < 0.14:  # planes an expansion is fused on (st_inverted)
            return (rng.randint(1, 4), rng.randint(28, 36), rng.randint(28, 36))
        if r < 0.6:
            return (rng.randint(1, 16), rng.randint(5, 32), rng.randint(5, 32))
        if r < 0.8:
            return (rng.randint(4, 64),)
        return (rng.randint(1, 16), rng.randint(5, 32))

    def name(self, prefix):
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        return f"{prefix}{self.counts[prefix]}"

    def template(self, name, maker):
        if name not in self.templates:
            expr = name == "ConvBNAct"
            self.templates[name] = Template(name, TEMPLATE_PARAMS[name],
                                            self.rng.randrange(1 << 30), maker, expr)
        return self.templates[name]

    def try_stage(self, fn):
        stage = fn(self)
        if stage is None or (self.chain_mode and not stage.chainable):
            return False
        got = probe(stage.children, stage.py, self.shape, self.batch)
        if not got or self.macs + got[1] > MAC_BUDGET:
            return False
        self.accept(stage)
        self.shape, self.macs = got[0], self.macs + got[1]
        return True

    def accept(self, stage):
        self.children += stage.children
        self.seq += stage.seq
        self.py += stage.py

    def grow(self):
        rng = self.rng
        n = rng.randint(2, 7)
        defect_at = rng.randint(0, n - 1) if self.defect in ("linear", "batchnorm", "conv") else -1
        done = tries = 0
        while done < n and tries < 60:
            tries += 1
            if done == defect_at:
                self.insert_defect()
                defect_at = -1
            stages = STAGES[len(self.shape)]
            fn = rng.choices([s for s, _ in stages], [w for _, w in stages])[0]
            # on a plane the fused pairs take, often an inverted residual
            # (the seeds' 60 models then hold several of them)
            if len(self.shape) == 3 and self.shape[1] * self.shape[2] >= 28 * 28 and rng.random() < 0.6:
                fn = st_inverted
            done += self.try_stage(fn)
        if defect_at >= 0:
            self.insert_defect()
        self.head()

    def head(self):
        """Often a classifier: flatten and Linear, maybe a (log-)softmax."""
        rng = self.rng
        if rng.random() < 0.4:
            return
        if len(self.shape) > 1:
            self.try_stage(st_flatten)
        if len(self.shape) == 1:
            f = self.shape[0]
            self.try_stage(lambda g: apply_child(g.name("head"), linear(rng, f, rng.randint(2, 12))))
            if rng.random() < 0.3:
                self.try_stage(st_softmax)

    def insert_defect(self):
        """A layer whose argument does not match its input, on its own line."""
        rng, shape = self.rng, self.shape
        kind = self.defect
        if kind == "conv" and len(shape) != 3:
            kind = "linear"
        if kind == "linear":
            bad = linear(rng, shape[-1] + rng.randint(1, 3), shape[-1])
        elif kind == "batchnorm":
            bad = batchnorm(rng, 2 if len(shape) == 3 else 1, shape[0] + rng.randint(1, 3))
        else:
            c = shape[0]
            bad = conv2d(rng, c + 1, c, 3, padding=1)
        bad.defect = True
        if rng.random() < 0.5:
            node = Container("Sequential", [("", activation(rng)), ("", bad)], rng)
        else:
            node = bad
        self.accept(apply_child(self.name("bad"), node))

    def view_defect(self):
        """`x = x.view(N, P + 1)`: a view whose sizes do not multiply out."""
        p = math.prod(self.shape)
        self.seq.append(f"x = x.view(x.shape[0], {p + 1})  # defect")

    def render(self, model_name):
        lines = [f"# differential test model, seed {self.seed}"]
        defs = []
        for t in self.templates.values():
            defs += t.definition() + [""]
        after = self.rng.random() < 0.3
        if not after:
            lines += defs
        lines += self.render_model(model_name)
        if after:
            lines += [""] + defs
        return "\n".join(lines).rstrip() + "\n"

    def input_decl(self):
        dtype = "f32" if self.rng.random() < 0.15 else ""
        dims = ", ".join([self.batch] + [str(d) for d in self.input_shape])
        return f"x: {dtype}[{dims}]"

    def render_model(self, name):
        head = f"model {name}({self.input_decl()})"
        if self.chain_mode:
            return item_lines(self.chain_container(), f"{head} = ", "")
        out = [head + " {"] + indent(child_lines(self.children))
        seq = list(self.seq)
        if seq and seq[-1].startswith("x = ") and "defect" not in seq[-1] \
                and self.rng.random() < 0.5:
            seq[-1] = "return " + seq[-1][4:]
        else:
            seq.append("return x")
        out += ["", "    forward(x) {"] + indent(seq, 8) + ["    }", "}"]
        return out

    def chain_container(self):
        """The model's own Sequential in chain mode (made once)."""
        if not hasattr(self, "_chain"):
            named = self.rng.random() < 0.4
            items = [(n if named else "", node) for n, node in self.children]
            self._chain = Container("Sequential", items, self.rng,
                                    "named" if named else "list")
        return self._chain

    def builder(self):
        if self.chain_mode:
            container = self.chain_container()
            return container.build
        children, py, batch = list(self.children), self.py + ["return x"], self.batch
        return lambda: Net([(n, node.build()) for n, node in children], py, batch)


def generate(seed, defect=None):
    """One random model from `seed`; with `defect` (one of DEFECTS), a model
    with one deliberate shape error, marked `# defect` in its text."""
    g = ModelGen(seed, defect)
    g.grow()
    if defect == "view":
        g.view_defect()
    name = g.rng.choice(["Net", "Model", "Gen", "M"]) + str(seed % 1000)
    build = g.builder()
    text = g.render(name)
    return Generated(seed, name, text, build, g.input_shape, defect)


def init_weights(model, seed):
    """Deterministic weights that keep activations near unit scale, and
    random BatchNorm statistics and LayerNorm affines."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                bound = math.sqrt(3.0 / m.weight[0].numel())
                m.weight.uniform_(-bound, bound)
                if m.bias is not None:
                    m.bias.uniform_(-0.2, 0.2)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                if m.affine:
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.3, 0.3)
            elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
    return model.eval()
