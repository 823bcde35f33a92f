"""safetensors_io.py: a small safetensors writer and reader for the tests.

The format: an 8-byte little-endian u64 N, then N bytes of JSON header
{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
optionally "__metadata__": {str: str}}, padded with spaces to a multiple of 8,
then the raw little-endian data. Offsets count from the start of the data;
the tensors are contiguous, in header order.

There is no safetensors Python package on the test machines, so this is it.
`encode` also takes raw entries, so that tests can write broken files.
"""
import json
import struct

import numpy as np

# safetensors dtype name -> numpy dtype (BF16 has none: see to_bf16_bytes)
DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}
NUMPY_TO_DTYPE = {np.dtype(v).newbyteorder("<").str: k for k, v in DTYPES.items()}


def to_bf16_bytes(array):
    """float32 -> bfloat16 bytes, rounded to nearest even, as torch does."""
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)
    return (rounded >> 16).astype("<u2").tobytes()


def from_bf16_bytes(data, shape):
    u16 = np.frombuffer(data, dtype="<u2").astype(np.uint32)
    return (u16 << 16).view(np.float32).reshape(shape)


def _as_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().contiguous().numpy()
    return np.ascontiguousarray(value)


def encode_raw(entries, metadata=None, header_override=None):
    """entries: [(name, dtype_name, shape, data_bytes)] -> file bytes.
    The offsets are made from the data lengths, so a wrong shape or a short
    data block is written as given. header_override(dict) may edit the header
    dict before it is serialised."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, dtype, shape, data in entries:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if header_override is not None:
        header_override(header)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def encode(tensors, dtype_of=None, metadata=None):
    """tensors: {name: np.ndarray or torch.Tensor}, in order. Arrays keep
    their own dtype (torch's int64 num_batches_tracked becomes I64), unless
    dtype_of(name) names one of F32, F16, BF16, F64 to convert to."""
    entries = []
    for name, value in tensors.items():
        array = _as_numpy(value)
        want = dtype_of(name) if dtype_of else None
        if want == "BF16":
            entries.append((name, "BF16", array.shape, to_bf16_bytes(array)))
            continue
        if want is not None:
            array = array.astype(DTYPES[want])
        little = array.dtype.newbyteorder("<")
        entries.append((name, NUMPY_TO_DTYPE[little.str], array.shape,
                        array.astype(little).tobytes()))
    return encode_raw(entries, metadata)


def save(tensors, path, dtype_of=None, metadata=None):
    with open(path, "wb") as f:
        f.write(encode(tensors, dtype_of, metadata))


def save_state_dict(model, path, dtype_of=None):
    """What `safetensors.torch.save_file(model.state_dict(), path)` writes
    (num_batches_tracked included, as I64)."""
    save(model.state_dict(), path, dtype_of)


def load(path):
    """Reads a file back: {name: np.ndarray}, header order kept. Strict: it
    raises ValueError on anything malformed."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("file shorter than its header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ValueError(f"header length {n} exceeds the file")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        if not 0 <= b <= e <= len(data):
            raise ValueError(f"{name}: offsets {b}..{e} outside the data")
        raw = data[b:e]
        if info["dtype"] == "BF16":
            out[name] = from_bf16_bytes(raw, shape)
            continue
        dt = np.dtype(DTYPES[info["dtype"]]).newbyteorder("<")
        if len(raw) != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ValueError(f"{name}: {len(raw)} bytes for shape {list(shape)}")
        out[name] = np.frombuffer(raw, dtype=dt).reshape(shape)
    return out


if __name__ == "__main__":
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "t.safetensors")
        a = np.arange(6, dtype=np.float32).reshape(2, 3)
        save({"a": a, "n": np.array(7, dtype=np.int64), "h": a}, p,
             dtype_of=lambda k: "BF16" if k == "h" else None)
        back = load(p)
        assert (back["a"] == a).all() and back["n"] == 7 and (back["h"] == a).all()
        with open(p, "rb") as f:
            blob = f.read()
        assert (8 + struct.unpack("<Q", blob[:8])[0]) % 8 == 0
        print("ok")
