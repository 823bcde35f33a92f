#!/usr/bin/python3
"""export_torch.py: `seqc export torch` must give PyTorch modules that are
seqc's models.

For every model of the selected files (every .seq file under examples/
but examples/errors, or --file PATH, repeatable):
  1. seqc export torch FILE -o models.py (every model of the file), and
     `python -c 'import models'` with torch;
  2. each class constructs with no arguments, and print(model) equals
     `seqc print FILE --model M` byte for byte;
  3. state_dict() names, order and shapes equal `seqc summary --params`;
  4. with random weights (BatchNorm statistics randomised too) saved as
     safetensors, model(x) in eval() mode equals `seqc run FILE --model M
     --weights W --input X.npy --output Y.npy` within 1e-4 + 1e-4 * |y|,
     at batch 2 (or the model's fixed batch).
Exits 0 when all pass, 1 on any failure, 77 when torch is missing or when
seqc says the file uses an operation the exporter does not support yet (the
message is printed).
"""
import importlib.util
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import e2e_common as common  # noqa: E402

BATCH = 2


def example_files(root):
    """Every .seq file under examples/, but the ones with errors."""
    out = []
    for folder, dirs, names in os.walk(os.path.join(root, "examples")):
        dirs[:] = sorted(d for d in dirs if d != "errors")
        out += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".seq")]
    return out


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def input_shapes(args, path, model):
    """The shapes of the model's inputs at BATCH, from `seqc summary`."""
    cp = common.seqc(args, "summary", path, "--model", model, "--batch", str(BATCH))
    if cp.returncode != 0:
        raise RuntimeError(f"{common.show_cmd(cp)} failed:\n{cp.stderr}")
    shapes = []
    for line in cp.stdout.splitlines():
        m = re.match(r"Input '([^']+)': \[([0-9, ]*)\]", line)
        if m:
            shapes.append([int(d) for d in m.group(2).split(",") if d.strip()])
    return shapes


def randomize(torch, model, seed):
    """Random weights, and random BatchNorm statistics and affine parameters,
    so that folding is exercised (as the parity tests do)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(c, generator=g) * 0.2)


def check_model(args, report, torch, np, safetensors_io, path, module, name, workdir, seed):
    label = f"{os.path.basename(path)}:{name}"
    cls = getattr(module, name, None)
    if cls is None:
        report.fail(f"{label}: class", f"the exported file defines no class {name}")
        return
    model = cls().eval()

    printed = common.seqc(args, "print", path, "--model", name)
    if printed.returncode != 0:
        report.fail(f"{label}: seqc print", printed.stderr)
    elif str(model) + "\n" != printed.stdout:
        report.fail(f"{label}: print", common.unified_diff(printed.stdout, str(model) + "\n", "seqc print"))
    else:
        report.ok(f"{label}: print(model) equals seqc print")

    params = common.seqc(args, "summary", path, "--model", name, "--params")
    expected = [(p["name"], list(p["shape"])) for p in json.loads(params.stdout)["params"]]
    actual = [(k, list(v.shape)) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]
    if expected != actual:
        report.fail(f"{label}: state_dict", f"seqc: {expected}\ntorch: {actual}")
        return
    report.ok(f"{label}: state_dict() equals seqc's parameter table", f"{len(actual)} tensors")

    randomize(torch, model, seed)
    weights = os.path.join(workdir, f"{name}.safetensors")
    safetensors_io.save_state_dict(model, weights)
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(shape, generator=g) for shape in input_shapes(args, path, name)]
    argv = ["run", path, "--model", name, "--weights", weights]
    for i, x in enumerate(inputs):
        np.save(os.path.join(workdir, f"{name}_x{i}.npy"), x.numpy())
        argv += ["--input", os.path.join(workdir, f"{name}_x{i}.npy")]
    out = os.path.join(workdir, f"{name}_y.npy")
    run = common.seqc(args, *argv, "--output", out)
    if run.returncode != 0:
        report.fail(f"{label}: seqc run", run.stderr)
        return
    with torch.no_grad():
        expected_y = model(*[x.clone() for x in inputs]).numpy()
    ok, message = common.compare(expected_y, np.load(out))
    (report.ok if ok else report.fail)(f"{label}: forward equals seqc run", message)


def extract_files(argv):
    """Takes the --file options out of argv (e2e_common's parser has none)."""
    rest, files = [], []
    it = iter(argv)
    for a in it:
        if a == "--file":
            files.append(next(it))
        else:
            rest.append(a)
    return rest, files


def main():
    sys.argv, files = extract_files(sys.argv)
    args = common.parse_args(__doc__)
    args.file = files
    try:
        import numpy as np
        import torch
    except ImportError as e:
        print(f"skipped: {e} (run with /usr/bin/python3, which has python3-torch)")
        sys.exit(common.SKIP)
    torch.set_num_threads(1)
    import safetensors_io

    files = args.file or example_files(args.root)
    report = common.Report("export torch")
    skipped = []
    with common.tempdir(args, "seqc-export-") as workdir:
        for path in files:
            base = os.path.splitext(os.path.basename(path))[0]
            py = os.path.join(workdir, f"exported_{base}.py")
            cp = common.seqc(args, "export", "torch", path, "-o", py)
            if cp.returncode == 1 and "does not support" in cp.stderr and not os.path.exists(py):
                # An operation the exporter does not know yet: said, not hidden.
                print(f"  skip  {base}: {cp.stderr.strip()}", flush=True)
                skipped.append(base)
                continue
            if cp.returncode != 0:
                report.fail(f"{base}: seqc export torch", cp.stderr)
                continue
            try:
                module = load_module(py, f"exported_{base}")
            except Exception as e:  # the generated file must import
                report.fail(f"{base}: import", f"{type(e).__name__}: {e}")
                continue
            report.ok(f"{base}: exported and imported", f"{len(module.__all__)} classes")
            for seed, name in enumerate(common.model_names_in(path)):
                if args.model and name not in args.model:
                    continue
                try:
                    check_model(args, report, torch, np, safetensors_io, path, module, name, workdir, seed)
                except Exception as e:
                    report.fail(f"{base}:{name}", f"{type(e).__name__}: {e}")
    if skipped and not report.failures and report.passes == 0:
        print(f"export torch: skipped ({', '.join(skipped)}): an operation not supported by the exporter yet")
        sys.exit(common.SKIP)
    report.finish()


if __name__ == "__main__":
    main()
