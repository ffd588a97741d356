#!/usr/bin/env python3
"""Dequantisation fixtures: raw GGUF block bytes and the float32 values gguf-py decodes them to.

Two sets, each a directory holding `index.json` and, per case, `<name>.blocks` (the raw block
bytes) and `<name>.f32` (the expected little-endian float32 values):

* model cases, derived from the model files in models/ (the first rows of a few tensors of every
  type each model holds): `generate(out_dir)` writes them to `out_dir/dequant/`. make_fixtures.py
  calls it with Tests/Fixtures/generated (git-ignored), so they are rebuilt on every machine.
* synthetic cases, random blocks from a fixed seed for every format Kernels decodes, including
  those no model here uses. They are committed in Tests/Fixtures/dequant/ so that the tests do not
  depend on the gguf version installed; `python3 Tests/Fixtures/gen_dequant.py --synthetic`
  rewrites them.

Expected values come from `gguf.quants.dequantize`, except for Q8_1 and Q8_K, which gguf-py cannot
decode (it also lists Q8_1 at its old 40-byte size; ggml's block_q8_1 is 36 bytes, two fp16 and 32
int8): those are decoded here with numpy from ggml's layout (x = d * q).

index.json: {"cases": [{"name", "type", "type_id", "count", "blocks", "values", "source"}]}
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SYNTHETIC_DIR = os.path.join(HERE, "dequant")

# ggml's block sizes, as Raconteur's QuantType lists them (values per block, bytes per block).
BLOCK = {
    T.F32: (1, 4), T.F16: (1, 2), T.BF16: (1, 2),
    T.Q4_0: (32, 18), T.Q4_1: (32, 20), T.Q5_0: (32, 22), T.Q5_1: (32, 24),
    T.Q8_0: (32, 34), T.Q8_1: (32, 36),
    T.Q4_K: (256, 144), T.Q5_K: (256, 176), T.Q6_K: (256, 210), T.Q8_K: (256, 292),
}

# Byte offsets of the fp16 scale fields in each block (d, and m / dmin / s where present).
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0], T.Q8_1: [0, 2],
    T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}

MODELS = {
    "smollm2": ("models/SmolLM2-135M-Instruct.Q4_1.gguf",
                ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight",
                 "blk.0.attn_norm.weight"]),
    "gemma3": ("models/gemma-3-270m-q4_k_m.gguf",
               ["token_embd.weight", "blk.0.attn_v.weight", "blk.0.attn_q.weight",
                "blk.0.ffn_gate.weight", "blk.0.attn_output.weight", "blk.2.ffn_down.weight",
                "blk.0.ffn_down.weight", "blk.1.ffn_down.weight", "output_norm.weight",
                "blk.0.attn_q_norm.weight"]),
}
MODEL_ROWS = 2          # rows taken from each 2-D tensor
MODEL_F32_VALUES = 1024  # values taken from each 1-D (norm) tensor

SYNTHETIC_SEED = 20250601
SYNTHETIC_BLOCK_COUNTS = [1, 3, 7]


def reference_dequantize(raw: np.ndarray, qtype: T) -> np.ndarray:
    """Expected float32 values for raw block bytes (uint8, whole blocks)."""
    raw = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1)
    if qtype in (T.Q8_1, T.Q8_K):
        values, size = BLOCK[qtype]
        blocks = raw.reshape(-1, size)
        if qtype == T.Q8_1:
            d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
            qs = blocks[:, 4:4 + values].copy().view(np.int8).astype(np.float32)
        else:
            d = blocks[:, 0:4].copy().view(np.float32)
            qs = blocks[:, 4:4 + values].copy().view(np.int8).astype(np.float32)
        return (d * qs).reshape(-1).astype(np.float32)
    return np.asarray(gguf.quants.dequantize(raw, qtype), dtype=np.float32).reshape(-1)


def write_case(out_dir, cases, name, qtype, raw, source):
    raw = np.ascontiguousarray(raw, dtype=np.uint8).reshape(-1)
    values, size = BLOCK[qtype]
    assert raw.size % size == 0, (name, raw.size, size)
    expected = reference_dequantize(raw, qtype)
    count = raw.size // size * values
    assert expected.size == count, (name, expected.size, count)
    blocks_file, values_file = name + ".blocks", name + ".f32"
    raw.tofile(os.path.join(out_dir, blocks_file))
    expected.astype("<f4").tofile(os.path.join(out_dir, values_file))
    cases.append({"name": name, "type": qtype.name, "type_id": int(qtype), "count": int(count),
                  "blocks": blocks_file, "values": values_file, "source": source})


def write_index(out_dir, cases):
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")


def tensor_prefix(tensor) -> np.ndarray:
    """The raw bytes of the first MODEL_ROWS rows (or MODEL_F32_VALUES values of a 1-D tensor)."""
    data = tensor.data
    if data.ndim == 1:
        return data[:MODEL_F32_VALUES].view(np.uint8)
    return data[:MODEL_ROWS].view(np.uint8)


def generate_model_cases(out_dir):
    cases = []
    for short, (path, preferred) in MODELS.items():
        full = os.path.join(ROOT, path)
        if not os.path.exists(full):
            raise FileNotFoundError(f"{full} is missing: fetch the models first (python3 models/fetch.py)")
        reader = gguf.GGUFReader(full)
        by_name = {t.name: t for t in reader.tensors}
        chosen = [by_name[n] for n in preferred]
        # Every tensor type in the file is covered, even if the preferred list misses one.
        covered = {t.tensor_type for t in chosen}
        for t in reader.tensors:
            if t.tensor_type not in covered:
                chosen.append(t)
                covered.add(t.tensor_type)
        for t in chosen:
            if t.tensor_type not in BLOCK:
                raise ValueError(f"{path}: {t.name} has type {t.tensor_type.name}, which Kernels does not decode")
            name = f"{short}.{t.name.removesuffix('.weight')}"
            write_case(out_dir, cases, name, t.tensor_type, tensor_prefix(t), f"{path}:{t.name}")
    write_index(out_dir, cases)


def synthetic_blocks(rng, qtype, n_blocks) -> np.ndarray:
    """Random bytes for n_blocks blocks, with every scale field a finite value in ±0.05."""
    values, size = BLOCK[qtype]
    if qtype == T.F32:
        return rng.standard_normal(n_blocks).astype("<f4").view(np.uint8)
    if qtype == T.F16:
        bits = rng.integers(0, 1 << 16, n_blocks, dtype=np.uint16)
        bits[(bits & 0x7C00) == 0x7C00] &= 0xBFFF   # no inf / NaN: exponent 31 becomes 15
        return bits.astype("<u2").view(np.uint8)
    if qtype == T.BF16:
        bits = rng.integers(0, 1 << 16, n_blocks, dtype=np.uint16)
        bits[(bits & 0x7F80) == 0x7F80] &= 0xBFFF   # no inf / NaN
        return bits.astype("<u2").view(np.uint8)
    raw = rng.integers(0, 256, (n_blocks, size), dtype=np.uint8)
    for offset in HALF_FIELDS.get(qtype, []):
        scales = rng.uniform(-0.05, 0.05, n_blocks).astype("<f2")
        raw[:, offset:offset + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    if qtype == T.Q8_K:
        raw[:, 0:4] = rng.uniform(-0.05, 0.05, n_blocks).astype("<f4").view(np.uint8).reshape(n_blocks, 4)
    return raw


# Hand-picked 16-bit patterns: signed zeros, subnormals, normals at the edges, infinities, a quiet NaN.
F16_SPECIALS = [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x3555, 0x7BFF, 0xFBFF,
                0x7C00, 0xFC00, 0x7E00]
BF16_SPECIALS = [0x0000, 0x8000, 0x0001, 0x007F, 0x0080, 0x3F80, 0xBF80, 0x3EAB, 0x7F7F, 0xFF7F,
                 0x7F80, 0xFF80, 0x7FC0]


def generate_synthetic(out_dir=SYNTHETIC_DIR):
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):
        if name.endswith((".blocks", ".f32")) or name == "index.json":
            os.remove(os.path.join(out_dir, name))
    cases = []
    for qtype in BLOCK:
        rng = np.random.default_rng(SYNTHETIC_SEED + int(qtype))
        values, _ = BLOCK[qtype]
        # Plain float formats: "blocks" are single values, so use longer runs too.
        counts = SYNTHETIC_BLOCK_COUNTS + ([64] if values == 1 else [])
        for n in counts:
            write_case(out_dir, cases, f"{qtype.name}_{n}blocks", qtype, synthetic_blocks(rng, qtype, n),
                       f"random, seed {SYNTHETIC_SEED}+{int(qtype)}")
    for qtype, patterns in ((T.F16, F16_SPECIALS), (T.BF16, BF16_SPECIALS)):
        raw = np.array(patterns, dtype="<u2").view(np.uint8)
        write_case(out_dir, cases, f"{qtype.name}_specials", qtype, raw, "zeros, subnormals, extremes, inf, NaN")
    write_index(out_dir, cases)


def generate(out_dir):
    """Called by make_fixtures.py: writes the model-derived cases to out_dir/dequant/."""
    target = os.path.join(out_dir, "dequant")
    os.makedirs(target, exist_ok=True)
    generate_model_cases(target)


if __name__ == "__main__":
    if "--synthetic" in sys.argv[1:]:
        generate_synthetic()
        print(f"wrote synthetic dequantisation fixtures to {SYNTHETIC_DIR}")
    else:
        generate(os.path.join(HERE, "generated"))
        print(f"wrote model dequantisation fixtures to {os.path.join(HERE, 'generated', 'dequant')}")
