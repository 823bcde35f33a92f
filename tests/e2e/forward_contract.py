#!/usr/bin/python3
"""forward_contract.py: the forward contract of INTERFACE.md version 2 from
C. Builds small models with seqc (two named Net, with --prefix; one with
its weights compiled in; one whose sizes overflow int64 at a small batch),
links them into tests/e2e/forward/contract.c and runs it: foreign weights
refused naming both models, NULL arguments, the last error per thread,
<PREFIX>_MAX_BATCH, the ABI version. Needs no torch.
"""
import json
import os
import struct
import subprocess

import e2e_common as common

MODELS = {
    "net_a": "model Net(x: [N, 4]) = nn.Sequential(nn.Linear(4, 3))\n",
    "net_b": "model Net(x: [N, 4]) = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))\n",
    "other": "model Other(x: [N, 4]) = nn.Sequential(nn.Linear(4, 3))\n",
    "big": "model Big(x: [N, 4000, 1024, 1024]) = nn.Sequential(nn.ReLU())\n",  # 15.6 GiB a sample: within the tensor limit
}


def write_safetensors(path, tensors):
    """tensors: name -> (shape, list of floats), stored as F32."""
    header, data = {}, b""
    for name, (shape, values) in tensors.items():
        raw = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def main():
    args = common.parse_args(__doc__, need_build=True)
    report = common.Report("forward contract")
    with common.tempdir(args, "seqc-forward-") as d:
        weights = os.path.join(d, "net_a.safetensors")
        write_safetensors(weights, {
            "0.weight": ([3, 4], [0.1 * i - 0.5 for i in range(12)]),
            "0.bias": ([3], [0.25, -0.5, 1.0]),
        })
        builds = [(name, name, []) for name in MODELS]
        builds.append(("net_a_emb", "net_a", ["--weights", weights]))
        for prefix, source, extra in builds:
            seq = os.path.join(d, f"{source}.seq")
            with open(seq, "w") as f:
                f.write(MODELS[source])
            cp = common.seqc(args, "build", seq, "-o", os.path.join(d, f"{prefix}.o"),
                             "--prefix", prefix, *extra)
            if cp.returncode != 0:
                report.fail(f"seqc build --prefix {prefix}", common.show_cmd(cp) + '\n' + cp.stdout + cp.stderr)
                report.finish()
        exe = os.path.join(d, "contract")
        objects = [os.path.join(d, f"{prefix}.o") for prefix, _, _ in builds]
        cp = subprocess.run(
            [args.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1",
             os.path.join(common.HERE, "forward", "contract.c"), *objects,
             "-I", args.include, "-I", d, "-L", args.libdir, "-lseqrt",
             f"-Wl,-rpath,{args.libdir}", "-lpthread", "-o", exe],
            capture_output=True, text=True)
        if cp.returncode != 0:
            report.fail("cc contract.c with two models named Net", common.show_cmd(cp) + '\n' + cp.stdout + cp.stderr)
            report.finish()
        report.ok("two models named Net link into one program with --prefix")
        cp = subprocess.run([exe, weights], capture_output=True, text=True, timeout=120)
        if cp.returncode != 0:
            report.fail("contract checks", common.show_cmd(cp) + '\n' + cp.stdout + cp.stderr)
        else:
            report.ok("contract checks", cp.stdout.strip())
    report.finish()


if __name__ == "__main__":
    main()
