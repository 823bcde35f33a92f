#!/usr/bin/python3
# make_torch_seeds.py OUT_DIR: writes the seed corpus of the `torch` fuzz
# target (tests/fuzz/corpus/torch): small files torch.save really writes
# (state_dicts of a few layers, every dtype the reader takes, shared
# storages, non-contiguous and offset views, the DDP "module." prefix, an
# empty dict) and a few hostile ones (a pickle calling os.system, a
# compressed entry, a TorchScript archive, a truncated zip, a storage that
# fails its CRC-32, a bare pickle).
# Needs PyTorch: run it with /usr/bin/python3.
import collections
import io
import os
import pickle
import sys
import zipfile

import torch


def saved(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def rezip(image, replace):
    """The zip `image` with entries renamed/replaced by replace(name, data)
    -> (name, data, compress) or None to drop; stored unless compress."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(image)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            result = replace(info.filename, src.read(info))
            if result is None:
                continue
            name, data, compress = result
            method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            dst.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return out.getvalue()


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def seeds():
    torch.manual_seed(0)
    linear = torch.nn.Linear(3, 2)
    yield "linear", saved(linear.state_dict())
    small = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 2), torch.nn.BatchNorm2d(2))
    yield "conv-bn", saved(small.state_dict())  # num_batches_tracked is int64
    dtypes = [torch.float16, torch.bfloat16, torch.float64, torch.int32, torch.int16,
              torch.int8, torch.uint8, torch.bool]
    yield "dtypes", saved({f"t{i}": torch.ones(2, dtype=d) for i, d in enumerate(dtypes)})
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    yield "views", saved(collections.OrderedDict(
        [("transposed", base.t()), ("row", base[1]), ("column", base[:, 2]),
         ("strided", base[::2, ::3]), ("shared", base)]))
    yield "scalar-empty", saved({"scalar": torch.tensor(1.5), "empty": torch.zeros(0, 3)})
    yield "ddp-prefix", saved({"module." + k: v for k, v in linear.state_dict().items()})
    yield "empty-dict", saved({})
    yield "parameter", saved({"p": torch.nn.Parameter(torch.ones(2, 2))})
    yield "legacy-protocol", saved_legacy_protocol(linear)
    # Hostile files.
    good = saved(linear.state_dict())
    evil_pickle = pickle.dumps(Evil(), protocol=2)
    yield "hostile-os-system", rezip(good, lambda n, d: (n, evil_pickle if n.endswith("data.pkl") else d, False))
    yield "hostile-deflated", rezip(good, lambda n, d: (n, d, n.endswith("data.pkl")))
    yield "hostile-no-pickle", rezip(good, lambda n, d: None if n.endswith("data.pkl") else (n, d, False))
    yield "hostile-torchscript", rezip(good, lambda n, d: (n.replace("data.pkl", "constants.pkl"), d, False))
    yield "hostile-big-endian", rezip(good, lambda n, d: (n, b"big" if n.endswith("byteorder") else d, False))
    yield "hostile-short-storage", rezip(good, lambda n, d: (n, d[:-4] if "/data/" in n else d, False))
    yield "hostile-truncated", good[: len(good) // 2]
    weight = linear.weight.detach().numpy().tobytes()
    at = good.index(weight)  # a storage's bytes, changed under its CRC-32
    yield "hostile-storage-crc", good[:at] + bytes([good[at] ^ 1]) + good[at + 1:]
    yield "hostile-bare-pickle", [d for n, d in unzip(good) if n.endswith("data.pkl")][0]


def saved_legacy_protocol(module):
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer, pickle_protocol=4)
    return buffer.getvalue()


def unzip(image):
    with zipfile.ZipFile(io.BytesIO(image)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
