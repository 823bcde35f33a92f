"""Writes weights files for the lit tests of tests/lit/weights, at test time.

usage: torch_pth.py KIND OUT [ARG]
  ddp OUT       torch.save of Sequential(Linear(4, 3), ReLU(), Linear(3, 2))'s
                state_dict with every key prefixed 'module.' (as DDP saves it)
  plain OUT     the same state_dict, unprefixed
  system OUT M  a torch.save-like zip whose data.pkl is GLOBAL os.system,
                REDUCE ('touch M',): running it would create the file M
  reduce OUT    a data.pkl that calls torch.FloatStorage(4) (a REDUCE that is
                not a tensor rebuild)
"""
import collections
import sys
import zipfile


def state_dict(prefix):
    import torch
    import torch.nn as nn
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    return collections.OrderedDict((prefix + k, v) for k, v in m.state_dict().items())


def write_zip(out, pickle_bytes):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/version", "3\n")


kind, out = sys.argv[1], sys.argv[2]
if kind in ("ddp", "plain"):
    import torch
    torch.save(state_dict("module." if kind == "ddp" else ""), out)
elif kind == "system":
    command = f"touch {sys.argv[3]}".encode()
    write_zip(out, b"\x80\x02cos\nsystem\nX" + len(command).to_bytes(4, "little") + command + b"\x85R.")
elif kind == "reduce":
    write_zip(out, b"\x80\x02ctorch\nFloatStorage\nK\x04\x85R.")
else:
    sys.exit(f"unknown kind {kind}")
