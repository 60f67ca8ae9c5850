#!/usr/bin/env python3
"""Writes a small seed corpus for each fuzz target into fuzz/corpus/<target>/ (not committed):
valid files of every format, so that the fuzzer starts from inputs that get past the magic
numbers. Needs numpy for the .npy/.npz and NumPy-array pickles; without it those are skipped.
Usage: python3 fuzz/seeds.py   (from the repository root)"""
import gzip
import io
import json
import os
import pickle
import struct
import sys
import zipfile

ROOT = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None):
    header, blobs, at = ({"__metadata__": metadata} if metadata else {}), b"", 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [at, at + len(data)]}
        blobs += data
        at += len(data)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blobs


def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def main():
    try:
        import numpy as np
    except ImportError:
        np = None
        print("numpy missing: no .npy, .npz or NumPy pickle seeds", file=sys.stderr)

    if np is not None:
        arrays = {
            "f32": np.arange(6, dtype="<f4").reshape(2, 3),
            "f64be": np.array([[1.5, -2.0]], dtype=">f8"),
            "i64": np.array([0, 1, 2, 1], dtype="<i8"),
            "u8f": np.asfortranarray(np.arange(6, dtype="u1").reshape(2, 3)),
            "f16": np.ones((2, 2), dtype="<f2"),
            "bool": np.array([True, False]),
            "scalar": np.float32(3.0),
        }
        for name, a in arrays.items():
            b = io.BytesIO()
            np.save(b, a)
            put("npy", name, b.getvalue())
        for compress in (False, True):
            b = io.BytesIO()
            (np.savez_compressed if compress else np.savez)(
                b, features=arrays["f32"], labels=arrays["i64"])
            put("npz", "compressed" if compress else "stored", b.getvalue())
        batch = {b"batch_label": b"training batch 1 of 5",
                 b"labels": [3, 7],
                 b"data": np.arange(2 * 3072, dtype="u1").reshape(2, 3072) % 251,
                 b"filenames": [b"a.png", b"b.png"]}
        put("cifar", "pickle10", pickle.dumps(batch, protocol=2))
        put("pickle", "cifar10", pickle.dumps(batch, protocol=2))
        batch100 = {b"fine_labels": [3, 70], b"coarse_labels": [1, 19],
                    b"data": np.zeros((2, 3072), dtype="u1")}
        put("cifar", "pickle100", pickle.dumps(batch100, protocol=2))

    put("cifar", "bin10", bytes([3]) + bytes(range(256)) * 12)
    put("cifar", "bin100", bytes([1, 70]) + bytes(3072))
    put("cifar", "meta", pickle.dumps({"label_names": ["cat", "dog"]}, protocol=2))
    put("cifar", "names", b"cat\ndog\n")
    shared = [1, 2]
    for proto in range(0, 6):
        put("pickle", f"p{proto}", pickle.dumps(
            {"a": [1, 2.5, None, True], "b": (b"xy", "text"), "s": [shared, shared],
             "big": 1 << 70, "neg": -5}, protocol=proto))

    put("safetensors", "two", safetensors({
        "w": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
        "y": ("I64", [3], struct.pack("<3q", 0, 1, 2)),
    }))
    put("safetensors", "meta", safetensors(
        {"b": ("BF16", [2], b"\x80\x3f\x00\x40")}, metadata={"k": "v"}))

    put("idx", "labels", idx(0x08, [10], bytes(range(10))))
    put("idx", "images", idx(0x08, [2, 3, 3], bytes(range(18))))
    put("idx", "labels-gz", gzip.compress(idx(0x08, [5], bytes([1, 2, 3, 4, 5]))))
    put("idx", "i32", idx(0x0C, [3], struct.pack(">3i", 1, 2, 9)))
    put("idx", "f64-gz", gzip.compress(idx(0x0E, [2, 1], struct.pack(">2d", 0.5, -1))))

    put("hierarchy", "edges", b"root animal\nroot vehicle\nanimal cat\nanimal dog\n"
        b"vehicle car # comment\nvehicle truck\n")
    put("hierarchy", "json", json.dumps({"name": "root", "children": [
        {"name": "animal", "children": [{"name": "cat"}, {"name": "dog"}]},
        {"name": "car"}]}).encode())
    put("hierarchy", "json-classes", b'{"classes": ["b", "a"], "name": "r", '
        b'"children": [{"name": "a"}, {"name": "b"}]}')
    configs = os.path.join(ROOT, "..", "configs")
    for f in sorted(os.listdir(configs)):
        if f.endswith(".toml"):
            with open(os.path.join(configs, f), "rb") as fh:
                put("config", f, fh.read())


main()
