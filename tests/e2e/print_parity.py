#!/usr/bin/python3
"""print_parity.py: `seqc print FILE --model M` must write exactly what
`print(model)` writes in PyTorch 1.13 for the same structure, and
`--style mindspore` must write MindSpore's form for the seed 000 models.
"""
import os

import e2e_common as common

# ---------------------------------------------------------------------------
# The MindSpore style, for seed 000's models.
#
# Seed 000 shows MindSpore printing
#   SequentialCell<
#     (0): Conv2d<input_channels=1, output_channels=20, kernel_size=(5, 5), stride=(1, 1), pad_mode=same, padding=0, dilation=(1, 1), group=1, has_bias=False, weight_init=normal, bias_init=zeros, format=NCHW>
#     (1): ReLU<>
#     ...
#     >
# Those values are MindSpore's *defaults* for its own Conv2d(1, 20, 5), which
# is not the layer the .seq file describes: in a .seq file (and in PyTorch)
# Conv2d(1, 20, 5) has a bias and no padding. Printing `pad_mode=same` and
# `has_bias=False` would describe a different network, so the MindSpore style
# prints MindSpore's field names with the values of *this* layer:
#   - pad_mode=pad and padding=<the padding> when the padding is a number or
#     a tuple (MindSpore's 'pad' mode takes explicit padding, 0 included, and
#     is what PyTorch's numeric padding means); pad_mode=same / pad_mode=valid
#     when the .seq layer says padding='same' / 'valid';
#   - has_bias=True when the layer has a bias (the default), False otherwise;
#   - weight_init=normal, bias_init=zeros, format=NCHW as MindSpore prints
#     them: they describe initialisers and layout, which a .seq layer does not
#     choose (its weights come from a file), so MindSpore's text stays.
# The class name is the model's name, as in the PyTorch style (MindSpore's
# Cell.__repr__ prints type(self).__name__, so a `class Seed000Cell(
# nn.SequentialCell)` prints "Seed000Cell<"). Cell.__repr__ indents every
# line of a child by two spaces and closes with "  >" on its own line.
# ---------------------------------------------------------------------------
MS_CONV = ("Conv2d<input_channels={i}, output_channels={o}, kernel_size=(5, 5), "
           "stride=(1, 1), pad_mode=pad, padding=0, dilation=(1, 1), group=1, "
           "has_bias=True, weight_init=normal, bias_init=zeros, format=NCHW>")


def mindspore_seed000(name, keys):
    layers = [MS_CONV.format(i=1, o=20), "ReLU<>", MS_CONV.format(i=20, o=64), "ReLU<>"]
    lines = [f"{name}<"] + [f"  ({k}): {v}" for k, v in zip(keys, layers)] + ["  >"]
    return "\n".join(lines) + "\n"


POSITIONAL = ["0", "1", "2", "3"]
NAMED = ["conv1", "relu1", "conv2", "relu2"]
MINDSPORE = {
    ("examples/seed000_sequential.seq", "Seed000"): mindspore_seed000("Seed000", POSITIONAL),
    ("examples/seed000_sequential.seq", "Seed000Named"): mindspore_seed000("Seed000Named", NAMED),
    ("examples/seed000_sequential.seq", "Seed000Dict"): mindspore_seed000("Seed000Dict", NAMED),
    ("examples/seed000_sequential.seq", "Seed000Cell"): mindspore_seed000("Seed000Cell", POSITIONAL),
    ("examples/seed000_sequential.seq", "Seed000CellDict"): mindspore_seed000("Seed000CellDict", NAMED),
}


def check(args, report, key, expected, extra=(), label="pytorch"):
    path = os.path.join(args.root, key[0])
    cp = common.seqc(args, "print", path, "--model", key[1], *extra, timeout=60)
    what = f"{key[0]} {key[1]} ({label})"
    if cp.returncode != 0:
        report.fail(what, f"$ {common.show_cmd(cp)}\nexit {cp.returncode}\n{cp.stderr}")
    elif cp.stdout != expected:
        report.fail(what, common.unified_diff(expected, cp.stdout, label)
                    or f"differs only in invisible characters:\n{expected!r}\n{cp.stdout!r}")
    elif cp.stderr.strip():
        report.fail(what, f"printed to stderr:\n{cp.stderr}")
    else:
        report.ok(what)


def main():
    tm = common.import_torch_models()
    args = common.parse_args(__doc__)
    report = common.Report("print parity")
    for key in common.selected(args, tm):
        # The structure alone decides the text; the seed only fixes weights.
        expected = str(tm.build(key)) + "\n"
        check(args, report, key, expected)
        if key in MINDSPORE:
            check(args, report, key, MINDSPORE[key], ("--style", "mindspore"), "mindspore")
            # --style pytorch is the default and may be named.
            check(args, report, key, expected, ("--style", "pytorch"), "--style pytorch")
    report.finish()


if __name__ == "__main__":
    main()
