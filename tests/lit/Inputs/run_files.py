"""Files for the `seqc run` tests, without numpy or torch.

usage: run_files.py write DIR   DIR/m.seq (Linear(4, 2)), DIR/w.safetensors
                                (weight all ones, bias [0.5, -0.5]) and
                                DIR/x.npy ([[1, 2, 3, 4]]): y = [[10.5, 9.5]]
       run_files.py show FILE   prints a float32 .npy's values, one a line
       run_files.py mtime FILE  prints the file's modification time (ns)
       run_files.py ones FILE D0 D1 ...
                                a float32 .npy of that shape, all ones
"""
import json
import os
import struct
import sys


def npy(path, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        "".join(f"{d}, " for d in shape))
    header += " " * (63 - len(header) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(struct.pack(f"<{len(values)}f", *values))


def safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (shape, values) in tensors.items():
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "write":
        with open(os.path.join(path, "m.seq"), "w") as f:
            f.write("model M(x: [N, 4]) = Sequential(Linear(4, 2))\n")
        safetensors(os.path.join(path, "w.safetensors"),
                    {"0.weight": ([2, 4], [1.0] * 8), "0.bias": ([2], [0.5, -0.5])})
        npy(os.path.join(path, "x.npy"), [1, 4], [1.0, 2.0, 3.0, 4.0])
    elif cmd == "show":
        with open(path, "rb") as f:
            data = f.read()
        start = 10 + struct.unpack("<H", data[8:10])[0]
        for v in struct.unpack(f"<{(len(data) - start) // 4}f", data[start:]):
            print(v)
    elif cmd == "mtime":
        print(os.stat(path).st_mtime_ns)
    elif cmd == "ones":
        shape = [int(d) for d in sys.argv[3:]]
        count = 1
        for d in shape:
            count *= d
        npy(path, shape, [1.0] * count)


if __name__ == "__main__":
    main()
