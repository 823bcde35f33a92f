#!/usr/bin/python3
"""examples_check.py: the examples themselves.

- every model of every examples/*.seq has a PyTorch twin in torch_models.py
  (and every twin names a model that exists), so the parity tests cover
  every example;
- `seqc check` accepts every examples/*.seq with no diagnostics at all;
- `seqc check` rejects every examples/errors/*.seq with exit 1 and at least
  one error located in that file (the exact diagnostics are golden tests
  elsewhere).
"""
import glob
import os
import re

import e2e_common as common


def main():
    tm = common.import_torch_models()
    args = common.parse_args(__doc__)
    report = common.Report("examples")

    files = common.example_files(args.root)
    twins = {}
    for path, model in tm.MODELS:
        twins.setdefault(path, []).append(model)
    for path in files:
        rel = os.path.relpath(path, args.root)
        declared = common.model_names_in(path)
        have = twins.pop(rel, [])
        if declared != have:
            report.fail(f"{rel}: PyTorch twins",
                        f"models in the file: {declared}\nbuilders in torch_models.py: {have}")
        else:
            report.ok(f"{rel}: PyTorch twins", ", ".join(declared))
    for path, models in twins.items():
        report.fail(f"{path}: PyTorch twins", f"builders {models} for a file that does not exist")

    for path in files:
        rel = os.path.relpath(path, args.root)
        cp = common.seqc(args, "check", path, timeout=60)
        if cp.returncode != 0 or cp.stderr.strip():
            report.fail(f"seqc check {rel}", f"exit {cp.returncode}\n{cp.stderr}")
        else:
            report.ok(f"seqc check {rel}")

    for path in sorted(glob.glob(os.path.join(args.root, "examples", "errors", "*.seq"))):
        rel = os.path.relpath(path, args.root)
        cp = common.seqc(args, "check", path, timeout=60)
        located = re.search(re.escape(os.path.basename(path)) + r":\d+:\d+: error:", cp.stderr)
        if cp.returncode != 1 or not located or "internal compiler error" in cp.stderr:
            report.fail(f"seqc check {rel} (must fail)", f"exit {cp.returncode}\n{cp.stderr}")
        else:
            n = len(re.findall(r": error:", cp.stderr))
            report.ok(f"seqc check {rel} (must fail)", f"{n} error(s)")
    report.finish()


if __name__ == "__main__":
    main()
