"""nclab.load_tensors: every dtype of a .safetensors file written here by hand (an
independent writer, from the format's definition), and the errors of bad files."""

import json
import os
import struct

import numpy as np
import pytest

import nclab


def write(path, tensors, header_extra=None):
    """A .safetensors file: an 8-byte little-endian header length, the JSON header
    {name: {dtype, shape, data_offsets}}, then the tensors' little-endian bytes."""
    header, blobs, offset = dict(header_extra or {}), [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_every_dtype_comes_back_with_its_shape_and_values(tmp_path):
    rng = np.random.default_rng(5)
    f32 = rng.normal(size=(3, 4)).astype("<f4")
    f64 = rng.normal(size=(2, 2, 2)).astype("<f8")
    i64 = np.array([0, -7, 2**40], dtype="<i8")
    u8 = np.arange(6, dtype=np.uint8).reshape(2, 3)
    f16 = np.array([1.5, -0.25, 65504.0], dtype="<f2")
    # bfloat16 is the top 16 bits of a float32: 1.0, -2.5 and 3.140625 are exact in it.
    bf16_values = np.array([1.0, -2.5, 3.140625], dtype="<f4")
    bf16_bits = (bf16_values.view("<u4") >> 16).astype("<u2")
    booleans = np.array([True, False, True])
    path = tmp_path / "t.safetensors"
    write(path, {
        "a.f32": ("F32", f32.shape, f32.tobytes()),
        "b.f64": ("F64", f64.shape, f64.tobytes()),
        "c.i64": ("I64", i64.shape, i64.tobytes()),
        "d.u8": ("U8", u8.shape, u8.tobytes()),
        "e.f16": ("F16", f16.shape, f16.tobytes()),
        "f.bf16": ("BF16", (3,), bf16_bits.tobytes()),
        "g.bool": ("BOOL", (3,), booleans.astype(np.uint8).tobytes()),
        "h.scalar": ("F32", (), np.float32(7.0).tobytes()),
    }, header_extra={"__metadata__": {"format": "pt"}})
    t = nclab.load_tensors(path)
    assert sorted(t) == ["a.f32", "b.f64", "c.i64", "d.u8", "e.f16", "f.bf16", "g.bool", "h.scalar"]
    for name, want in [("a.f32", f32), ("b.f64", f64), ("c.i64", i64), ("d.u8", u8), ("e.f16", f16),
                       ("f.bf16", bf16_values), ("g.bool", booleans)]:
        assert t[name].dtype == want.dtype.newbyteorder("="), name
        np.testing.assert_array_equal(t[name], want)
    assert t["h.scalar"].shape == () and t["h.scalar"] == 7.0


def test_the_arrays_feed_measure_and_evaluate(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 5)).astype("<f4")
    y = np.repeat(np.arange(4), 10).astype("<i8")
    logits = rng.normal(size=(40, 4)).astype("<f4")
    path = tmp_path / "final.safetensors"
    write(path, {"train.features": ("F32", x.shape, x.tobytes()),
                 "train.labels": ("I64", y.shape, y.tobytes()),
                 "test.logits": ("F32", logits.shape, logits.tobytes())})
    t = nclab.load_tensors(str(path))
    assert nclab.measure(t["train.features"], t["train.labels"])["nc1"] == nclab.measure(x, y)["nc1"]
    top1 = nclab.evaluate(t["test.logits"], t["train.labels"], "flat:4", k=(1,))["top1_error"]
    assert top1 == np.mean(logits.argmax(1) != y)


def test_bad_files_raise_errors_that_name_them(tmp_path):
    with pytest.raises(OSError, match="missing.safetensors"):
        nclab.load_tensors(tmp_path / "missing.safetensors")
    short = tmp_path / "short.safetensors"
    x = np.zeros(4, dtype="<f4")
    write(short, {"x": ("F32", (5,), x.tobytes())})  # 5 floats declared, 4 stored
    with pytest.raises(ValueError, match="short.safetensors"):
        nclab.load_tensors(short)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\xff" * 20)
    with pytest.raises(ValueError, match="garbage.safetensors"):
        nclab.load_tensors(garbage)
    # A name twice: json.loads would keep the second entry; the reader refuses the file.
    twice = tmp_path / "twice.safetensors"
    entry = '{"dtype":"U8","shape":[1],"data_offsets":[%d,%d]}'
    text = ('{"w":%s,"w":%s}' % (entry % (0, 1), entry % (1, 2))).encode()
    twice.write_bytes(struct.pack("<Q", len(text)) + text + b"\x01\x02")
    assert json.loads(text)["w"]["data_offsets"] == [1, 2]
    with pytest.raises(ValueError, match=r'twice.safetensors.*the name "w" appears twice'):
        nclab.load_tensors(twice)


def test_hostile_shapes_and_paths_raise_instead_of_crashing(tmp_path):
    # An empty tensor whose other dimensions NumPy could not address (its strides would
    # overflow): refused by the reader, whatever the order of the dimensions.
    for shape in ([0, 2**62], [2**62, 0], [0, 2**63]):
        path = tmp_path / "huge.safetensors"
        write(path, {"x": ("F32", shape, b"")})
        with pytest.raises(ValueError, match="huge.safetensors"):
            nclab.load_tensors(path)
    # More dimensions than NumPy allows; 32 is still fine.
    path = tmp_path / "deep.safetensors"
    write(path, {"x": ("U8", [1] * 33, b"\x07")})
    with pytest.raises(ValueError, match=r"deep.safetensors: tensor \"x\": 33 dimensions"):
        nclab.load_tensors(path)
    write(path, {"x": ("U8", [1] * 32, b"\x07")})
    assert nclab.load_tensors(path)["x"].shape == (1,) * 32
    # A directory and a named pipe (which would block a plain open for ever) are refused.
    with pytest.raises(OSError, match="a directory"):
        nclab.load_tensors(tmp_path)
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="pipe.safetensors.*not a regular file"):
        nclab.load_tensors(fifo)
