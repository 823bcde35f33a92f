#!/usr/bin/python3
"""params_parity.py: `seqc summary FILE --model M --params` prints
  {"model": "M", "params": [{"name": "layer1.0.weight", "shape": [64, 3, 3, 3]}, ...]}
listing every state_dict() entry but `*.num_batches_tracked`, in
state_dict() order. Names, shapes and order must equal PyTorch's.
"""
import json
import os

import e2e_common as common


def expected_params(model):
    return [(name, list(t.shape)) for name, t in model.state_dict().items()
            if not name.endswith("num_batches_tracked")]


def main():
    tm = common.import_torch_models()
    args = common.parse_args(__doc__)
    report = common.Report("params parity")
    for key in common.selected(args, tm):
        what = f"{key[0]} {key[1]}"
        path = os.path.join(args.root, key[0])
        cp = common.seqc(args, "summary", path, "--model", key[1], "--params", timeout=60)
        if cp.returncode != 0:
            report.fail(what, f"$ {common.show_cmd(cp)}\nexit {cp.returncode}\n{cp.stderr}")
            continue
        try:
            doc = json.loads(cp.stdout)
            got = [(p["name"], list(p["shape"])) for p in doc["params"]]
            model_name = doc["model"]
        except (ValueError, KeyError, TypeError) as e:
            report.fail(what, f"stdout is not the expected JSON ({e}):\n{cp.stdout[:2000]}")
            continue
        want = expected_params(tm.build(key))
        if model_name != key[1]:
            report.fail(what, f'"model" is {model_name!r}, expected {key[1]!r}')
        elif got != want:
            fmt = lambda ps: "".join(f"{n} {s}\n" for n, s in ps)
            report.fail(what, common.unified_diff(fmt(want), fmt(got), "state_dict"))
        else:
            report.ok(what, f"{len(want)} tensors")
    report.finish()


if __name__ == "__main__":
    main()
