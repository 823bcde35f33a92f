"""Write hand-made .npy files, valid and broken, for npy-hardened.test.

usage: npy.py DIR
"""
import os
import struct
import sys

out = sys.argv[1]


def write(name, header, data, major=1, length=None):
    h = header.encode()
    prefix = 10 if major == 1 else 12
    h += b" " * ((64 - (prefix + len(h) + 1) % 64) % 64) + b"\n"
    size = len(h) if length is None else length
    packed = struct.pack("<H", size) if major == 1 else struct.pack("<I", size)
    with open(os.path.join(out, name), "wb") as f:
        f.write(b"\x93NUMPY" + bytes([major, 0]) + packed + h + data)


def header(descr="'<f4'", fortran="False", shape="(2, 6)", extra=""):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, %s}" % (descr, fortran, shape, extra)


# The weights of a model without parameters.
with open(os.path.join(out, "empty.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", 8) + b"{}      ")

f32 = struct.pack("<12f", *range(12))
write("good.npy", header(descr="'<f8'"), struct.pack("<12d", *range(12)))
write("descr-huge.npy", header(descr="'<f99999999999'"), f32)
write("negative.npy", header(shape="(-1, 6)"), f32)
write("int-descr.npy", header(descr="'<i4'"), f32)
write("no-shape.npy", "{'descr': '<f4', 'fortran_order': False, }", f32)
write("extra-key.npy", header(extra="'batch': 2, "), f32)
write("dup-key.npy", header(extra="'shape': (12,), "), f32)
write("bad-fortran.npy", header(fortran="1"), f32)
write("huge-dim.npy", header(shape="(99999999999999999999, 6)"), f32)
write("short-data.npy", header(), f32[:-4])
write("long-data.npy", header(), f32 + b"\0\0\0\0")
write("version9.npy", header(), f32, major=9)
write("header-past-end.npy", header(), f32, length=60000)
write("not-a-dict.npy", "[1, 2]", f32)
write("big-endian.npy", header(descr="'>f4'"), f32)
