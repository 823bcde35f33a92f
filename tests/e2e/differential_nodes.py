"""differential_nodes.py: the pieces a generated model is made of, each
written twice: as .seq text and as a PyTorch module (for differential_gen.py).

Layer (a built-in layer), Container (Sequential / ModuleList / ModuleDict in
their several written forms), Use (an instance of a user module), Template
(a user `module` definition) and Net (an nn.Module whose forward is Python
text). Arguments are (name, value, default) triples in PyTorch's order; a
value may be a Sym, an integer written as an expression.
"""

import random
from collections import OrderedDict

import torch
from torch import nn
import torch.nn.functional as F

REQ = object()  # marks an argument without a default


# ---------------------------------------------------------------------------
# Values and calls, rendered as .seq text
# ---------------------------------------------------------------------------

class Sym:
    """An integer written as an expression: a module parameter (`c`) or a
    constant product (`8 * 5 * 5`). `value` is what PyTorch gets."""

    def __init__(self, text, value):
        self.text, self.value = text, value

    def __mul__(self, k):
        return Sym(f"{self.text} * {k}", self.value * k)


def value_of(v):
    if isinstance(v, Sym):
        return v.value
    if isinstance(v, tuple):
        return tuple(value_of(e) for e in v)
    return v


def render_value(v, rng):
    if isinstance(v, Sym):
        return v.text
    if isinstance(v, bool):
        return (str(v) if rng.random() < 0.2 else str(v).lower())
    if isinstance(v, str):
        return repr(v) if rng.random() < 0.5 else f'"{v}"'
    if isinstance(v, tuple):
        return "(" + ", ".join(render_value(e, rng) for e in v) + ")"
    return repr(v)


def render_call(name, args, rng, first=None, max_pos=None):
    """`name(a, b, key=c)`: a random number of leading arguments positional,
    the rest keywords; a keyword equal to its default is often left out."""
    limit = len(args) if max_pos is None else min(max_pos, len(args))
    npos = rng.randint(0, limit)
    parts = [first] if first else []
    for i, (key, value, default) in enumerate(args):
        if i < npos:
            parts.append(render_value(value, rng))
        elif (default is not REQ and type(value) is type(default)
              and value == default and rng.random() < 0.7):
            continue
        else:
            parts.append(f"{key}={render_value(value, rng)}")
    return f"{name}({', '.join(parts)})"


def indent(lines, n=4):
    return [" " * n + line for line in lines]


# ---------------------------------------------------------------------------
# Module nodes: each renders as .seq lines and builds its nn.Module
# ---------------------------------------------------------------------------

class Layer:
    """A built-in layer: `Conv2d(3, 8, kernel_size=3)`."""

    def __init__(self, kind, args, rng, max_pos=None):
        self.kind, self.args = kind, args
        prefix = "nn." if rng.random() < 0.1 else ""
        self.text = prefix + render_call(kind, args, rng, max_pos=max_pos)
        self.defect = False

    def lines(self):
        return [self.text]

    def build(self):
        kw = {k: value_of(v) for k, v, _ in self.args if k != "inplace"}
        return getattr(nn, self.kind)(**kw)


class Container:
    """Sequential / ModuleList / ModuleDict (or a MindSpore alias), in the
    list, named, OrderedDict or comprehension form."""

    ALIASES = {"Sequential": "SequentialCell", "ModuleList": "CellList"}

    def __init__(self, kind, items, rng, form="list"):
        self.kind, self.items, self.form = kind, items, form
        self.defect = False
        head = kind
        if kind in self.ALIASES and rng.random() < 0.1:
            head = self.ALIASES[kind]
        elif rng.random() < 0.1:
            head = "nn." + kind
        self.head = head

    def lines(self):
        if self.form == "repeat":
            child = self.items[0][1].lines()[0]
            return [f"{self.head}({child} for _ in range({len(self.items)}))"]
        if self.form == "ordereddict":
            out = [f"{self.head}(OrderedDict(["]
            for name, node in self.items:
                out += indent(item_lines(node, f"('{name}', ", "),"))
            return out + ["]))"]
        out = [f"{self.head}("]
        for name, node in self.items:
            prefix = f"{name} = " if self.form == "named" else ""
            out += indent(item_lines(node, prefix, ","))
        return out + [")"]

    def build(self):
        mods = [(name if self.form in ("named", "ordereddict") else str(i),
                 node.build()) for i, (name, node) in enumerate(self.items)]
        if self.kind == "Sequential":
            return nn.Sequential(OrderedDict(mods))
        if self.kind == "ModuleList":
            return nn.ModuleList([m for _, m in mods])
        return nn.ModuleDict(OrderedDict(mods))


def item_lines(node, prefix, suffix):
    """A node's lines with `prefix` before the first and `suffix` after the
    last; a defect is marked by a comment on its (one) line."""
    lines = node.lines()
    lines = [prefix + lines[0]] + lines[1:]
    lines[-1] += suffix
    if node.defect:
        lines[-1] += "  # defect"
    return lines


class Use:
    """An instance of a user module: `Res(8)`, `Down(8, 16, stride=2)`."""

    def __init__(self, template, values, rng):
        self.template, self.values = template, values
        args = [(p, values[p], d) for p, _, d in template.params]
        self.text = render_call(template.name, args, rng)
        self.defect = False

    def lines(self):
        return [self.text]

    def build(self):
        return self.template.instantiate(self.values)


class Net(nn.Module):
    """A module whose forward is Python text over its children (`self.x`)."""

    def __init__(self, children, py_lines, batch="N"):
        super().__init__()
        for name, module in children:
            self.add_module(name, module)
        body = [f"{batch} = x.shape[0]"] + py_lines
        src = "def forward(self, x):\n" + "".join(f"    {l}\n" for l in body)
        scope = {"torch": torch, "F": F}
        exec(src, scope)  # noqa: S102 - generated by this file
        self._fwd = scope["forward"]

    def forward(self, x):
        return self._fwd(self, x)


class Template:
    """A user `module`: parameters, and a maker that, from Syms for them,
    returns its body (children, .seq lines, Python lines) or, for the
    `= MODULE_EXPR` form, one Container. Random choices come from a fixed
    seed, so the text never depends on the values."""

    def __init__(self, name, params, seed, maker, expr_form=False):
        self.name, self.params, self.seed = name, params, seed
        self.maker, self.expr_form = maker, expr_form

    def _make(self, values):
        syms = {p: Sym(p, values.get(p, d)) for p, _, d in self.params}
        return self.maker(random.Random(self.seed), syms)

    def instantiate(self, values):
        made = self._make(values)
        if self.expr_form:
            return made.build()
        children, _, py = made
        return Net([(n, node.build()) for n, node in children], py)

    def definition(self):
        dummy = {p: 4 if d is REQ else d for p, _, d in self.params}
        made = self._make(dummy)
        sig = ", ".join(f"{p}: {t}" + ("" if d is REQ else f" = {d!r}")
                        for p, t, d in self.params)
        if self.expr_form:
            lines = made.lines()
            return [f"module {self.name}({sig}) = {lines[0]}"] + lines[1:]
        children, seq, _ = made
        out = [f"module {self.name}({sig}) {{"]
        out += indent(child_lines(children))
        out += ["    forward(x) {"] + indent(seq, 8) + ["    }", "}"]
        return out


def child_lines(children):
    out = []
    for name, node in children:
        out += item_lines(node, f"{name} = ", "")
    return out


# A stage of a model's growth (differential_gen.py): the children it adds
# and its forward statements, as .seq text and as Python over torch.
class Stage:
    def __init__(self, children, seq, py, chainable=False):
        self.children, self.seq, self.py = children, seq, py
        self.chainable = chainable  # one child, applied as `x = child(x)`


def apply_child(name, node):
    return Stage([(name, node)], [f"x = {name}(x)"],
                 [f"x = self.{name}(x)"], chainable=True)
