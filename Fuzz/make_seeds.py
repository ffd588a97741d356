#!/usr/bin/env python3
"""Writes the committed seed corpus of the GGUF fuzz target (Fuzz/Corpus/gguf/*.bin; docs/FUZZING.md).

    python3 Fuzz/make_seeds.py

Small files (a few KB at most) that reach each stage of loading: a bare header, every metadata value type and
nested arrays, a tiny model of each architecture with a tokenizer and chat template (write_tiny_model.py's
writer with the smallest shapes it allows), and a LoRA adapter for the tiny llama shapes the target checks adapters
against. The extension is .bin because *.gguf is ignored by git. Deterministic: rerunning changes nothing.
"""
import os
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Tests", "Fixtures"))

import numpy as np  # noqa: E402
import gguf  # noqa: E402
from gguf import GGUFWriter  # noqa: E402

import write_tiny_model as tiny  # noqa: E402

OUT = os.path.join(HERE, "Corpus", "gguf")


def gguf_string(s: bytes) -> bytes:
    return struct.pack("<Q", len(s)) + s


def raw_header(kvs: list[bytes], tensors: list[bytes] = (), version: int = 3) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(tensors)


def kv(key: str, type_id: int, payload: bytes) -> bytes:
    return gguf_string(key.encode()) + struct.pack("<I", type_id) + payload


def write(name: str, data: bytes) -> None:
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def written_by(writer_fn) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "seed.gguf")
        writer_fn(path)
        with open(path, "rb") as f:
            return f.read()


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    # Headers by hand: empty (v2 and v3), and one value of every type with nested arrays and an alignment.
    write("empty-v3.bin", raw_header([]))
    write("empty-v2.bin", raw_header([], version=2))
    kvs = [
        kv("u8", 0, struct.pack("<B", 7)), kv("i8", 1, struct.pack("<b", -7)),
        kv("u16", 2, struct.pack("<H", 700)), kv("i16", 3, struct.pack("<h", -700)),
        kv("u32", 4, struct.pack("<I", 70000)), kv("i32", 5, struct.pack("<i", -70000)),
        kv("f32", 6, struct.pack("<f", 0.5)), kv("bool", 7, b"\x01"),
        kv("str", 8, gguf_string("héllo".encode())),
        kv("arr.i32", 9, struct.pack("<IQ", 5, 3) + struct.pack("<3i", 1, -2, 3)),
        kv("arr.str", 9, struct.pack("<IQ", 8, 2) + gguf_string(b"a") + gguf_string(b"bc")),
        kv("arr.arr", 9, struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 6, 2) + struct.pack("<2f", 1.0, 2.0)),
        kv("u64", 10, struct.pack("<Q", 1 << 40)), kv("i64", 11, struct.pack("<q", -(1 << 40))),
        kv("f64", 12, struct.pack("<d", 0.25)),
        kv("general.alignment", 4, struct.pack("<I", 16)),
    ]
    # One F32 tensor [4, 2] and one Q8_0 tensor [32] (one block), placed at aligned offsets.
    tensors = [
        gguf_string(b"t.f32") + struct.pack("<I", 2) + struct.pack("<2Q", 4, 2) + struct.pack("<IQ", 0, 0),
        gguf_string(b"t.q8") + struct.pack("<I", 1) + struct.pack("<Q", 32) + struct.pack("<IQ", 8, 32),
    ]
    head = raw_header(kvs, tensors)
    head += b"\0" * (-len(head) % 16)
    data = struct.pack("<8f", *range(8)) + struct.pack("<e", 0.5) + bytes(range(32))
    write("all-types.bin", head + data)

    # Tiny models: the smallest shapes the writer allows (its vocabularies need 64 tokens).
    small = dict(n_embd=8, n_ff=8, n_layer=1, n_head=2, n_head_kv=1, head_dim=4, ctx=16)
    for arch in ("llama", "qwen2", "qwen3", "gemma3"):
        over = dict(small)
        if arch in ("qwen3", "gemma3"):
            over["head_dim"] = 4
        if arch == "gemma3":
            over.update(n_layer=1, sliding_window=4, swa_pattern=1)
        write(f"tiny-{arch}.bin", written_by(lambda p: tiny.write_model(p, arch, "f32", 0, over)))

    # A LoRA adapter for llama width 32, 2 blocks (FuzzGGUF's adapter base), rank 1, on attn_q of block 0.
    def adapter(path: str) -> None:
        w = GGUFWriter(path, "llama")
        w.add_type("adapter")
        w.add_string("adapter.type", "lora")
        w.add_float32("adapter.lora.alpha", 2.0)
        w.add_array("raconteur.objectives", ["concise", "detailed"])
        w.add_array("raconteur.weights", [0.5, 0.5])
        w.add_uint32("raconteur.version", 3)
        rng = np.random.default_rng(0)
        w.add_tensor("blk.0.attn_q.weight.lora_a", rng.standard_normal((1, 32)).astype(np.float32))
        w.add_tensor("blk.0.attn_q.weight.lora_b", rng.standard_normal((32, 1)).astype(np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    write("adapter-llama.bin", written_by(adapter))
    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
