#!/usr/bin/env python3
"""Independent numpy (float64) reference forward pass for GGUF llama / qwen2 / qwen3 / gemma3 models.

README
------
This file is Raconteur's numerical yardstick for the Swift engine's Model target. It knows nothing
about the Swift code: it indexes a GGUF file (header, metadata, tensor directory) with the small
GGUFIndex parser below - gguf-py's GGUFReader gives the same result (`--gguf-reader`, checked by the
tests) but needs ~55 s for Gemma's 262k-token vocabulary - dequantises every tensor with gguf-py
(`gguf==0.19.0`, `gguf.quants.dequantize`) and runs the transformer in float64 (the two vocabulary-sized matrices,
`token_embd` and `output`, are *stored* as the float32 values gguf-py dequantises to - exactly the
values llama.cpp dequantises to - and are widened to float64 chunk by chunk when used). It is used
  * by the Swift tests, through `write_tiny_model.py`, which writes small random-weight GGUF files
    and the logits this module computes for them;
  * by hand, to debug the engine on the real models:

        python3 Tests/Fixtures/reference_model.py models/SmolLM2-135M-Instruct.Q4_1.gguf \\
            --tokens 504,3575,282 [--last-only | --positions=0,-1] [--out logits.npy|logits.json]
        python3 Tests/Fixtures/reference_model.py MODEL.gguf \\
            --verify Tests/Fixtures/reference/greedy_smollm2.json --cases 0,1

    Without --out it prints the top-5 next tokens (id, logprob) at each output position.
    --verify feeds prompt_tokens + greedy_tokens[:-1] (teacher forcing) and compares the
    log-softmax at each generated position with steps[i]; --emulate-llamacpp adds llama.cpp's
    rounding (a debugging aid, see below); --config prints what was read from the metadata.
    --out .npy writes a float64 array [n_positions, n_vocab] of raw logits; --out .json writes
    {"model", "arch", "tokens", "positions", "logits"}.
  * as a module:

        import reference_model as rm
        m = rm.load("model.gguf")                  # rm.ReferenceModel
        logits = m.forward([1, 2, 3])              # float64 [3, n_vocab], causal, positions 0..2
        logits = m.forward(toks, positions=[-1])   # only the last row of the output head
        rm.log_softmax(logits)

Conventions (what the engine must do to agree; each was checked against llama.cpp as noted)
-------------------------------------------------------------------------------------------------
Shapes. gguf-py returns a ggml tensor with ne = [in, out] as a numpy array (out, in), so a
projection is `x @ W.T`. Config comes from `{arch}.*` metadata: embedding_length, block_count,
attention.head_count, attention.head_count_kv, attention.key_length / value_length (each defaults to
n_embd / n_head, as in llama.cpp), feed_forward_length, attention.layer_norm_rms_epsilon, rope.freq_base
(default 10000), rope.dimension_count (default key_length), context_length,
attention.sliding_window; n_vocab is the row count of token_embd.

Common to all three:
  * RMSNorm(x) = x / sqrt(mean(x^2) + eps) * w  (eps from metadata; no "+1": gemma's converter
    already stored 1 + w, e.g. gemma3 blk.0.attn_q_norm has mean 1.97).
  * RoPE angle for pair i (0 <= i < n_rot/2) at position p: p * base^(-2i / n_rot); dims >= n_rot
    are not rotated. No RoPE scaling is implemented (none of the target models uses it; a
    `{arch}.rope.scaling.type` other than "none" raises).
    - NORM mode rotates adjacent pairs (x[2i], x[2i+1]);
    - NEOX mode rotates halves (x[i], x[i + n_rot/2]).
  * GQA: query head h reads kv head h // (n_head / n_head_kv).
  * Causal softmax attention in float64; output head = `output.weight` if present, else the tied
    `token_embd.weight`.

llama (LLM_ARCH_LLAMA, e.g. SmolLM2):
  x = embed(tok) (no scaling); h = x + Wo attn(RMSNorm(x) w_attn_norm);
  x = h + W_down(silu(W_gate n) * W_up n), n = RMSNorm(h) w_ffn_norm; output_norm; head.
  RoPE: NORM (adjacent pairs) on the GGUF weights (the HF->GGUF converter permuted q/k rows).
  VERIFIED: with NEOX instead the SmolLM2 agreement collapses (see measurements).
  Scale 1/sqrt(head_dim) (or `llama.attention.scale` if the file has it).

qwen2 (LLM_ARCH_QWEN2, Qwen2.5): llama's block plus biases on q, k and v (blk.N.attn_{q,k,v}.bias,
  added after the projection, before RoPE; llama.cpp's build_qkv adds them for every family when the
  file has them, and so does this module); RoPE NEOX (llama_model_rope_type: QWEN2 -> NEOX); base from
  rope.freq_base (1e6 for Qwen2.5); output.weight when present (Qwen2.5-0.5B's Coder file has one).

qwen3 (LLM_ARCH_QWEN3): llama plus per-head RMSNorm of q and k (attn_q_norm / attn_k_norm,
  [head_dim], same eps) applied after the projection and BEFORE RoPE; RoPE NEOX; head_dim =
  attention.key_length (may differ from n_embd / n_head; Wq is [n_head*head_dim, n_embd] and Wo
  is [n_embd, n_head*head_dim]); scale 1/sqrt(head_dim). Taken from llama.cpp's
  src/models/qwen3.cpp and llama_model_rope_type (QWEN3 -> NEOX); NOT verified against llama.cpp
  output (no qwen3 reference exists); the code path differs from gemma3's verified one only in
  the block structure (no post-norms, silu, no embedding scale).

gemma3 (LLM_ARCH_GEMMA3):
  * x = embed(tok) * sqrt(n_embd) (VERIFIED: required for agreement).
  * per layer: n = RMSNorm(x) attn_norm; q, k, v = Wq n, Wk n, Wv n; q = RMSNorm_head(q) q_norm,
    k = RMSNorm_head(k) k_norm; RoPE NEOX on q, k (VERIFIED: NORM loses agreement);
    q *= 1/sqrt(key_length) (llama.cpp f_attention_scale; only the 62-layer 27B uses
    1/sqrt(n_embd/n_head); VERIFIED: that alternative, 1/sqrt(160) here, is worse); softmax(q k^T) v
    (no attention softcapping); Wo;
    h = x + RMSNorm(attn_out) post_attention_norm;
    x = h + RMSNorm(W_down(gelu_tanh(W_gate m) * W_up m)) post_ffw_norm, m = RMSNorm(h) ffn_norm.
  * final output_norm; tied head; NO final logit softcapping, whatever the metadata says (llama.cpp's
    iSWA gemma3 graph has none; VERIFIED: softcap 30 makes the agreement much worse).
  * layer types: sliding (local) unless il % P == P - 1, P = `gemma3.attention.sliding_window_pattern`
    if present (scalar period; a per-layer bool array is taken literally, true = sliding) else 6.
    So with P = 6, layers 5, 11, 17 are global (full attention) in the 18-layer 270M.
  * RoPE base: global layers `gemma3.rope.freq_base` (1e6 in the 270M), local layers
    `gemma3.rope.freq_base_swa` if present else 10000 (llama.cpp's rope_freq_base_train_swa).
    VERIFIED: the 270M reference needs local base 10000 / global 1e6 on exactly the layers above
    (1e6 everywhere, 1e4 everywhere, or base 1e6 on layers 0, 6, 12 instead all lose agreement;
    see the ablations below).
  * sliding mask: query at position p sees key at position p' iff p' <= p and p - p' < W
    (W = attention.sliding_window, 512 for the 270M; llama.cpp LLAMA_SWA_TYPE_STANDARD masks when
    p - p' >= W). NOT exercised by the references (all prompts are far shorter than 512 tokens);
    taken from llama.cpp's is_masked_swa, which also matches HF's sliding-window mask.
  * a gemma3 file without attention.sliding_window raises (llama.cpp would then build a different,
    non-iSWA graph with final logit softcapping; Raconteur has no such model).

Measured agreement with llama.cpp (Tests/Fixtures/reference, teacher-forced: feed prompt_tokens +
greedy_tokens, log-softmax at each generated position, compare with steps[i].logprob and top-1)
-------------------------------------------------------------------------------------------------
All 8 cases x 32 steps of each model, float64 reference (this file, emulate=False):

  model     case 0: max|d| mean|d| top-1   case 1: max|d| mean|d| top-1   all 256 steps: max|d|  mean|d|  steps>0.1  top-1 (ref gap>0.2)
  SmolLM2   0.137  0.036  30/32            0.230  0.028  30/32            0.253   0.037    9.0 %      244/256 (230/232)
  Gemma3    0.226  0.047  29/32            0.170  0.014  32/32            0.272   0.032    9.4 %      245/256 (233/234)

Every top-1 disagreement is at a step where llama.cpp's own top-2 gap is small: all < 0.4 nat
(SmolLM2 misses with gap > 0.2: 0.361, 0.384; Gemma3: 0.237). The remaining difference is
llama.cpp's arithmetic, not a convention: re-running with emulate=True (activations rounded to
Q8_0/Q8_1/Q8_K before each quantised matmul, F16 K/V/Q and attention weights, GELU through an
F16 table) moves this reference's own logprobs by as much (float64 vs emulated, 256 steps:
SmolLM2 max 0.306, mean 0.037; Gemma3 max 0.285, mean 0.028 nat) as it differs from llama.cpp,
and agrees with llama.cpp no better
on average (SmolLM2 emulated: max 0.363, mean 0.041, top-1 247/256; Gemma3 emulated: max 0.403,
mean 0.030, top-1 249/256, 234/234 where gap > 0.2). So the reference README's "within 0.1 nat" holds at
~91 % of steps, not all; Tests/Python/test_reference_model.py asserts mean < 0.06, max < 0.35,
>= 80 % of steps within 0.1 and top-1 agreement wherever the reference gap exceeds 0.5 nat.

Ablations (cases 0-1, 64 steps; every one is far outside the bounds above):
  SmolLM2  RoPE NEOX instead of NORM               max 4.67  mean 1.32  top-1 33/64
  Gemma3   RoPE NORM instead of NEOX               max 8.19  mean 1.44  top-1 40/64
  Gemma3   no sqrt(n_embd) embedding scale         max 24.1  mean 12.6  top-1  4/64
  Gemma3   final logit softcap 30 (Gemma 2 style)  max 1.22  mean 0.42
  Gemma3   q scale 1/sqrt(n_embd/n_head) (27B)     max 0.81  mean 0.12
  Gemma3   RoPE base 1e6 on every layer            max 4.10  mean 0.23
  Gemma3   RoPE base 1e4 on every layer            max 1.62  mean 0.078
  Gemma3   base 1e6 on layers 0, 6, 12 (not 5, 11, 17) max 1.77  mean 0.086
(The prompts are shorter than the 512-token window, so the layer pattern shows only through the
RoPE bases. On case 0 alone the last two ablations stay below the max bound - 0.31 / 0.41 - but
the test's combined criteria (mean, share within 0.1, max, top-1) reject every ablation above on
case 0 and on case 1 separately; the test checks both cases.)

Run time on the shared 2-core machine: loading SmolLM2 ~10 s, Gemma3 ~20 s (gguf-py dequantisation;
the metadata index takes 0.3 s / 1.3 s); a 40-token forward pass ~2-5 s (SmolLM2) / ~6-10 s
(Gemma3, plus ~3 s for the 262k-row head); peak memory ~2.5 GB for Gemma3.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Sequence

# One BLAS thread: these are small matrices and the machines are shared; BLAS threads fighting for
# two busy cores made the forward pass 3x slower. Only effective if numpy is not yet imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

try:
    import gguf
    from gguf import GGUFReader
except ImportError as e:  # pragma: no cover
    raise SystemExit("reference_model.py needs the `gguf` package (pip install gguf==0.19.0)") from e


SUPPORTED_ARCHS = ("llama", "qwen3", "gemma3", "qwen2")
BIG_TENSORS = ("token_embd.weight", "output.weight")  # kept as float32, widened in chunks
VOCAB_CHUNK = 16384


# ----------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------

@dataclass
class Config:
    arch: str
    n_vocab: int
    n_embd: int
    n_layer: int
    n_head: int
    n_head_kv: int
    head_dim_k: int
    head_dim_v: int
    n_ff: int
    eps: float
    n_rot: int
    rope_base: float
    rope_neox: bool
    context_length: int
    attn_scale: float
    embed_scale: float = 1.0
    qk_norm: bool = False
    post_norms: bool = False          # gemma3: post_attention_norm, post_ffw_norm
    qkv_bias: bool = True             # add blk.N.attn_{q,k,v}.bias when the file has them (off: ablation)
    activation: str = "silu"          # "silu" or "gelu_tanh"
    sliding_window: int = 0           # 0: none
    is_swa: list = field(default_factory=list)          # per layer
    rope_base_layer: list = field(default_factory=list)  # per layer
    final_softcap: float = 0.0        # 0: none (never set from metadata; for ablations)

    def describe(self) -> str:
        lines = [f"{k} = {v}" for k, v in self.__dict__.items() if k not in ("is_swa", "rope_base_layer")]
        if self.sliding_window:
            g = [i for i, s in enumerate(self.is_swa) if not s]
            lines.append(f"global (full-attention) layers = {g}")
            lines.append(f"rope base per layer = {sorted(set(self.rope_base_layer))} "
                         f"(local {self.rope_base_layer[self.is_swa.index(True)] if True in self.is_swa else '-'})")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# GGUF access
# ----------------------------------------------------------------------------------------------
# gguf-py's GGUFReader parses every metadata array element into its own numpy object, which takes
# ~55 s for Gemma's 262k-entry vocabulary on a busy 2-core machine. So by default the file is
# indexed by the small parser below (header, metadata, tensor directory; the data is np.memmap'ed)
# and only the dequantisation comes from gguf-py. `load(path, use_gguf_reader=True)` uses
# GGUFReader for everything instead; Tests/Python checks that both give identical configs and
# tensors.

_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_NP_SCALAR = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "<u1",
              10: "<u8", 11: "<i8", 12: "<f8"}
_STRING, _ARRAY, _BOOL = 8, 9, 7


@dataclass
class TensorEntry:
    name: str
    type_name: str       # ggml type, e.g. "Q4_K"
    qtype: int           # gguf.GGMLQuantizationType value
    ne: list             # ggml dims, fastest first ([in, out] for a weight)
    raw: np.ndarray      # uint8 [rows, bytes per row] (rows = product of ne[1:])


class GGUFIndex:
    """Metadata dict and tensor directory of a GGUF v2/v3 file (little-endian)."""

    def __init__(self, path: str):
        import mmap
        import struct
        self.path = path
        self._struct = struct
        with open(path, "rb") as f:
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self._off = 0
        if self._mm[:4] != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        self._off = 4
        self.version = self._num("I")
        if self.version < 2:
            raise ValueError(f"{path}: GGUF version {self.version} not supported")
        n_tensors, n_kv = self._num("Q"), self._num("Q")
        self.metadata = {}
        for _ in range(n_kv):
            key = self._str()
            vtype = self._num("I")
            self.metadata[key] = self._value(vtype)
        infos = []
        for _ in range(n_tensors):
            name = self._str()
            nd = self._num("I")
            ne = [self._num("Q") for _ in range(nd)]
            qtype = self._num("I")
            offset = self._num("Q")
            infos.append((name, ne, qtype, offset))
        align = int(self.metadata.get("general.alignment", 32))
        start = (self._off + align - 1) // align * align
        buf = np.memmap(path, dtype=np.uint8, mode="r")
        self.tensors = []
        for name, ne, qtype, offset in infos:
            qt = gguf.GGMLQuantizationType(qtype)
            block, tsize = gguf.GGML_QUANT_SIZES[qt]
            if ne[0] % block:
                raise ValueError(f"{name}: row length {ne[0]} not a multiple of the {qt.name} block")
            row_bytes = ne[0] // block * tsize
            rows = int(np.prod(ne[1:])) if len(ne) > 1 else 1
            a = start + offset
            raw = buf[a:a + rows * row_bytes].reshape(rows, row_bytes)
            self.tensors.append(TensorEntry(name, qt.name, qtype, ne, raw))

    def _num(self, code: str):
        v = self._struct.unpack_from("<" + code, self._mm, self._off)[0]
        self._off += self._struct.calcsize(code)
        return v

    def _str(self) -> str:
        n = self._num("Q")
        s = self._mm[self._off:self._off + n].decode("utf-8", errors="replace")
        self._off += n
        return s

    def _value(self, vtype: int):
        if vtype == _STRING:
            return self._str()
        if vtype == _ARRAY:
            etype, count = self._num("I"), self._num("Q")
            if etype == _STRING:
                return [self._str() for _ in range(count)]
            if etype == _ARRAY:
                return [self._value(_ARRAY) for _ in range(count)]
            dt = np.dtype(_NP_SCALAR[etype])
            arr = np.frombuffer(self._mm, dtype=dt, count=count, offset=self._off)
            self._off += count * dt.itemsize
            return [bool(x) for x in arr] if etype == _BOOL else arr.tolist()
        v = self._num(_SCALAR[vtype])
        return float(v) if vtype in (6, 12) else v


def _index_with_gguf_reader(path: str):
    """(metadata, [TensorEntry]) through gguf-py's GGUFReader (slow on big vocabularies)."""
    reader = GGUFReader(path)
    meta = {}
    for key, f in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        meta[key] = f.contents()
    entries = []
    for t in reader.tensors:
        ne = [int(n) for n in t.shape]
        rows = int(np.prod(ne[1:])) if len(ne) > 1 else 1
        raw = np.asarray(t.data).view(np.uint8).reshape(rows, -1)
        entries.append(TensorEntry(t.name, t.tensor_type.name, int(t.tensor_type), ne, raw))
    return meta, entries


def read_config(meta: dict, n_vocab: int) -> Config:
    arch = meta.get("general.architecture")
    if arch not in SUPPORTED_ARCHS:
        raise ValueError(f"unsupported architecture {arch!r} (supported: {SUPPORTED_ARCHS})")

    def k(name, default=None, required=False):
        v = meta.get(f"{arch}.{name}", default)
        if v is None and required:
            raise ValueError(f"missing metadata {arch}.{name}")
        return v

    n_embd = int(k("embedding_length", required=True))
    n_layer = int(k("block_count", required=True))
    n_head = k("attention.head_count", required=True)
    n_head_kv = k("attention.head_count_kv", n_head)
    if isinstance(n_head, list) or isinstance(n_head_kv, list):
        raise ValueError("per-layer head counts are not supported")
    n_head, n_head_kv = int(n_head), int(n_head_kv)
    head_dim_k = int(k("attention.key_length", n_embd // n_head))
    head_dim_v = int(k("attention.value_length", n_embd // n_head))
    n_ff = k("feed_forward_length", required=True)
    if isinstance(n_ff, list):
        raise ValueError("per-layer feed_forward_length is not supported")
    eps = float(k("attention.layer_norm_rms_epsilon", required=True))
    n_rot = int(k("rope.dimension_count", head_dim_k))
    rope_base = float(k("rope.freq_base", 10000.0))
    scaling = k("rope.scaling.type", "none")
    if scaling not in (None, "none"):
        raise ValueError(f"rope scaling {scaling!r} is not implemented")
    factor = k("rope.scaling.factor", None)
    if factor not in (None, 0.0, 1.0):
        raise ValueError(f"rope scaling factor {factor} is not implemented")
    ctx = int(k("context_length", 0) or 0)

    cfg = Config(arch=arch, n_vocab=n_vocab, n_embd=n_embd, n_layer=n_layer, n_head=n_head,
                 n_head_kv=n_head_kv, head_dim_k=head_dim_k, head_dim_v=head_dim_v, n_ff=int(n_ff),
                 eps=eps, n_rot=n_rot, rope_base=rope_base, rope_neox=(arch != "llama"),
                 context_length=ctx, attn_scale=1.0 / math.sqrt(head_dim_k))
    if n_rot > head_dim_k or n_rot % 2:
        raise ValueError(f"bad rope.dimension_count {n_rot} for head_dim {head_dim_k}")
    if n_head % n_head_kv:
        raise ValueError("head_count must be a multiple of head_count_kv")

    if arch == "llama":
        s = k("attention.scale", None)
        if s:
            cfg.attn_scale = float(s)
    if arch in ("qwen3", "gemma3"):
        cfg.qk_norm = True
    if arch == "gemma3":
        cfg.embed_scale = math.sqrt(n_embd)
        cfg.post_norms = True
        cfg.activation = "gelu_tanh"
        if n_layer == 62:  # llama.cpp: the 27B model scales queries by 1/sqrt(n_embd/n_head)
            cfg.attn_scale = 1.0 / math.sqrt(n_embd / n_head)
        cfg.sliding_window = int(k("attention.sliding_window", 0) or 0)
        if not cfg.sliding_window:
            # llama.cpp then builds its non-iSWA gemma3 graph (no sliding window, but a final
            # logit softcapping); not needed for Raconteur's models, so not implemented.
            raise ValueError("gemma3 without attention.sliding_window is not implemented")
        pattern = k("attention.sliding_window_pattern", 6)
        if isinstance(pattern, list):
            if len(pattern) != n_layer:
                raise ValueError("sliding_window_pattern array has the wrong length")
            is_swa = [bool(b) for b in pattern]
        else:
            p = int(pattern)
            is_swa = [p == 0 or (il % p < p - 1) for il in range(n_layer)]
        base_swa = float(k("rope.freq_base_swa", 10000.0))
        cfg.is_swa = is_swa
        cfg.rope_base_layer = [base_swa if s else rope_base for s in is_swa]
    if not cfg.is_swa:
        cfg.is_swa = [False] * n_layer
        cfg.rope_base_layer = [rope_base] * n_layer
    return cfg


# ----------------------------------------------------------------------------------------------
# Math
# ----------------------------------------------------------------------------------------------

def rms_norm(x: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    """RMS-normalise over the last axis and multiply by w (broadcast over the last axis)."""
    ms = np.mean(x * x, axis=-1, keepdims=True)
    return x / np.sqrt(ms + eps) * w


def silu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(0.5 * x))   # = x * sigmoid(x), without overflow


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def rope(x: np.ndarray, pos: np.ndarray, base: float, n_rot: int, neox: bool) -> np.ndarray:
    """x: [T, H, D]; rotates the first n_rot dims of every head by position pos[t]."""
    half = n_rot // 2
    inv = base ** (-np.arange(half, dtype=np.float64) * 2.0 / n_rot)   # [half]
    ang = pos.astype(np.float64)[:, None] * inv[None, :]               # [T, half]
    cos = np.cos(ang)[:, None, :]
    sin = np.sin(ang)[:, None, :]
    out = x.copy()
    if neox:
        a = x[..., :half]
        b = x[..., half:n_rot]
        out[..., :half] = a * cos - b * sin
        out[..., half:n_rot] = a * sin + b * cos
    else:
        a = x[..., 0:n_rot:2]
        b = x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = a * cos - b * sin
        out[..., 1:n_rot:2] = a * sin + b * cos
    return out


# ----------------------------------------------------------------------------------------------
# Optional emulation of llama.cpp's CPU arithmetic (debugging aid, off by default)
# ----------------------------------------------------------------------------------------------
# llama.cpp does not multiply a quantised weight by the float activation: it first quantises the
# activation row to the weight type's "vec_dot_type" (Q8_0 / Q8_1 in blocks of 32, Q8_K in blocks
# of 256, F16 for F16 weights), its KV cache holds F16 and its GELU is an F16 table. With emulate=True this module rounds
# the same way, which shows how much of the disagreement with the references is llama.cpp's own
# rounding rather than a wrong convention. The plain (emulate=False) float64 result is the
# reference the engine is tested against.

def _blocks(x: np.ndarray, bs: int) -> np.ndarray:
    if x.shape[-1] % bs:
        raise ValueError(f"row length {x.shape[-1]} not a multiple of {bs}")
    return x.reshape(*x.shape[:-1], x.shape[-1] // bs, bs)


def quant_q8_0(x: np.ndarray) -> np.ndarray:
    """Round rows to Q8_0 (blocks of 32, scale amax/127 stored as F16) and back."""
    b = _blocks(x.astype(np.float32), 32)
    amax = np.abs(b).max(axis=-1, keepdims=True)
    d = amax / np.float32(127)
    inv = np.where(d > 0, np.float32(1) / np.where(d > 0, d, 1), 0).astype(np.float32)
    q = np.rint(b * inv)
    d16 = d.astype(np.float16).astype(np.float64)
    return (q * d16).reshape(x.shape)


def quant_q8_k(x: np.ndarray) -> np.ndarray:
    """Round rows to Q8_K (blocks of 256, F32 scale from the signed max) and back."""
    b = _blocks(x.astype(np.float32), 256)
    idx = np.abs(b).argmax(axis=-1)[..., None]
    mx = np.take_along_axis(b, idx, axis=-1)
    safe = np.where(mx == 0, 1, mx).astype(np.float32)
    iscale = np.where(mx == 0, 0, np.float32(-127) / safe).astype(np.float32)
    q = np.minimum(np.rint(iscale * b), 127)
    d = np.where(iscale == 0, 0, np.float32(1) / np.where(iscale == 0, 1, iscale)).astype(np.float32)
    return (q * d.astype(np.float64)).reshape(x.shape)


def round_f16(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).astype(np.float64)


_VEC_DOT = {
    "Q4_0": quant_q8_0, "Q5_0": quant_q8_0, "Q8_0": quant_q8_0,
    "Q4_1": quant_q8_0, "Q5_1": quant_q8_0,   # Q8_1 has the same values as Q8_0 (plus a sum)
    "Q2_K": quant_q8_k, "Q3_K": quant_q8_k, "Q4_K": quant_q8_k, "Q5_K": quant_q8_k, "Q6_K": quant_q8_k,
    "F16": round_f16,
}


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------

def dequantize(entry: TensorEntry) -> np.ndarray:
    """float32 values of one tensor in numpy (reversed ggml) shape: ne [in, out] -> (out, in)."""
    a = gguf.quants.dequantize(entry.raw, gguf.GGMLQuantizationType(entry.qtype))
    return np.asarray(a, dtype=np.float32).reshape(tuple(reversed(entry.ne)))


class ReferenceModel:
    def __init__(self, path: str, overrides: dict | None = None, emulate: bool = False,
                 use_gguf_reader: bool = False):
        self.path = path
        self.emulate = emulate
        if use_gguf_reader:
            self.metadata, entries = _index_with_gguf_reader(path)
        else:
            index = GGUFIndex(path)
            self.metadata, entries = index.metadata, index.tensors
        self.types = {e.name: e.type_name for e in entries}
        self.tensors = {}
        for e in entries:
            a = dequantize(e)
            # the vocabulary-sized matrices stay float32 (exactly the dequantised values) and are
            # widened in chunks; everything else is float64
            self.tensors[e.name] = a if e.name in BIG_TENSORS else a.astype(np.float64)
        emb = self.tensors["token_embd.weight"]
        self.config = read_config(self.metadata, n_vocab=emb.shape[0])
        for key, value in (overrides or {}).items():  # for ablations / debugging only
            setattr(self.config, key, value)

    def w(self, name: str) -> np.ndarray:
        if name not in self.tensors:
            raise KeyError(f"tensor {name} missing from {self.path}")
        return self.tensors[name]

    def head_weight(self) -> np.ndarray:
        return self.tensors.get("output.weight", self.tensors["token_embd.weight"])

    def mm(self, x: np.ndarray, name: str) -> np.ndarray:
        """x @ W.T for the projection `name` (x: [..., in])."""
        if self.emulate and self.types[name] in _VEC_DOT:
            x = _VEC_DOT[self.types[name]](x)
        return x @ self.w(name).T

    def mm_bias(self, x: np.ndarray, base: str) -> np.ndarray:
        """x @ W.T + b for `base`.weight and, when the file has it, `base`.bias (llama.cpp's build_qkv reads the
        q/k/v biases of every family when present; qwen2's files have them)."""
        y = self.mm(x, base + ".weight")
        if self.config.qkv_bias and base + ".bias" in self.tensors:
            y = y + self.tensors[base + ".bias"]
        return y

    # -- blocks ---------------------------------------------------------------------------------
    def attention(self, il: int, n: np.ndarray, pos: np.ndarray) -> np.ndarray:
        c = self.config
        T = n.shape[0]
        p = f"blk.{il}."
        q = self.mm_bias(n, p + "attn_q").reshape(T, c.n_head, c.head_dim_k)
        k = self.mm_bias(n, p + "attn_k").reshape(T, c.n_head_kv, c.head_dim_k)
        v = self.mm_bias(n, p + "attn_v").reshape(T, c.n_head_kv, c.head_dim_v)
        if c.qk_norm:
            q = rms_norm(q, self.w(p + "attn_q_norm.weight"), c.eps)
            k = rms_norm(k, self.w(p + "attn_k_norm.weight"), c.eps)
        base = c.rope_base_layer[il]
        q = rope(q, pos, base, c.n_rot, c.rope_neox)
        k = rope(k, pos, base, c.n_rot, c.rope_neox)
        if self.emulate:  # F16 KV cache; F16 query for the F16 dot product
            q, k, v = round_f16(q), round_f16(k), round_f16(v)

        # mask [T, T]: causal, plus the sliding window on local layers
        d = pos[:, None] - pos[None, :]
        allowed = d >= 0
        if c.is_swa[il] and c.sliding_window:
            allowed &= d < c.sliding_window
        group = c.n_head // c.n_head_kv
        kk = np.repeat(k, group, axis=1)   # head h -> kv head h // group
        vv = np.repeat(v, group, axis=1)
        scores = np.einsum("thd,shd->hts", q, kk) * c.attn_scale
        scores = np.where(allowed[None], scores, -np.inf)
        scores -= scores.max(axis=-1, keepdims=True)
        pr = np.exp(scores)
        pr /= pr.sum(axis=-1, keepdims=True)
        if self.emulate:
            pr = round_f16(pr)
        o = np.einsum("hts,shd->thd", pr, vv).reshape(T, c.n_head * c.head_dim_v)
        return self.mm(o, p + "attn_output.weight")

    def ffn(self, il: int, n: np.ndarray) -> np.ndarray:
        p = f"blk.{il}."
        g = self.mm(n, p + "ffn_gate.weight")
        u = self.mm(n, p + "ffn_up.weight")
        if self.config.activation == "gelu_tanh":
            if self.emulate:  # ggml's GELU: an F16 table indexed by F16(x), for |x| < 10
                act = np.where(np.abs(g) < 10, round_f16(gelu_tanh(round_f16(g))), np.where(g > 0, g, 0.0))
            else:
                act = gelu_tanh(g)
        else:
            act = silu(g)
        return self.mm(act * u, p + "ffn_down.weight")

    def hidden(self, tokens: Sequence[int], pos: np.ndarray | None = None) -> np.ndarray:
        """Final-normed hidden states [T, n_embd] (float64)."""
        c = self.config
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.ndim != 1 or len(tokens) == 0:
            raise ValueError("tokens must be a non-empty 1-D sequence")
        if tokens.min() < 0 or tokens.max() >= c.n_vocab:
            raise ValueError(f"token id out of range [0, {c.n_vocab})")
        pos = np.arange(len(tokens)) if pos is None else np.asarray(pos)
        x = self.tensors["token_embd.weight"][tokens].astype(np.float64) * c.embed_scale
        for il in range(c.n_layer):
            p = f"blk.{il}."
            a = self.attention(il, rms_norm(x, self.w(p + "attn_norm.weight"), c.eps), pos)
            if c.post_norms:
                a = rms_norm(a, self.w(p + "post_attention_norm.weight"), c.eps)
            h = x + a
            f = self.ffn(il, rms_norm(h, self.w(p + "ffn_norm.weight"), c.eps))
            if c.post_norms:
                f = rms_norm(f, self.w(p + "post_ffw_norm.weight"), c.eps)
            x = h + f
        return rms_norm(x, self.w("output_norm.weight"), c.eps)

    def forward(self, tokens: Sequence[int], positions: Sequence[int] | None = None) -> np.ndarray:
        """Raw logits (float64) [len(positions), n_vocab] for the causal sequence `tokens`
        (RoPE positions 0..T-1). `positions` selects output rows (negative indices allowed);
        default: every position."""
        hs = self.hidden(tokens)
        if positions is not None:
            hs = hs[np.asarray(positions, dtype=np.int64)]
        W = self.head_weight()
        if self.emulate:
            name = "output.weight" if "output.weight" in self.tensors else "token_embd.weight"
            if self.types[name] in _VEC_DOT:
                hs = _VEC_DOT[self.types[name]](hs)
        out = np.empty((hs.shape[0], W.shape[0]), dtype=np.float64)
        for s in range(0, W.shape[0], VOCAB_CHUNK):
            out[:, s:s + VOCAB_CHUNK] = hs @ W[s:s + VOCAB_CHUNK].astype(np.float64).T
        if self.config.final_softcap:
            cap = self.config.final_softcap
            out = np.tanh(out / cap) * cap
        return out


def load(path: str, emulate: bool = False, use_gguf_reader: bool = False, **overrides) -> ReferenceModel:
    """Load a GGUF model. `overrides` replace Config fields (ablations); emulate=True rounds like
    llama.cpp's CPU backend (see quant_q8_0) - a debugging aid, not the reference;
    use_gguf_reader=True indexes the file with gguf-py's GGUFReader instead of GGUFIndex."""
    return ReferenceModel(path, overrides, emulate=emulate, use_gguf_reader=use_gguf_reader)


# ----------------------------------------------------------------------------------------------
# Comparison with llama.cpp reference JSONs (Tests/Fixtures/reference/greedy_*.json)
# ----------------------------------------------------------------------------------------------

def compare_case(model: ReferenceModel, case: dict, gap: float = 0.2) -> dict:
    """Teacher-forced comparison with one reference case. Returns per-step details and
    max |delta logprob|, top-1 agreement counts (all steps, and steps whose reference top-2
    gap exceeds `gap`)."""
    prompt = list(case["prompt_tokens"])
    gen = list(case["greedy_tokens"])
    steps = case["steps"]
    seq = prompt + gen[:-1]
    first = len(prompt) - 1
    positions = list(range(first, first + len(steps)))
    lp = log_softmax(model.forward(seq, positions=positions))
    deltas, top1_all, top1_gap, n_gap, rows = [], 0, 0, 0, []
    for i, st in enumerate(steps):
        mine = float(lp[i, st["id"]])
        d = mine - float(st["logprob"])
        deltas.append(abs(d))
        ref_top = st["top"]
        am = int(np.argmax(lp[i]))
        agree = am == ref_top[0][0]
        top1_all += agree
        g = ref_top[0][1] - ref_top[1][1] if len(ref_top) > 1 else float("inf")
        if g > gap:
            n_gap += 1
            top1_gap += agree
        rows.append({"step": i, "id": st["id"], "ref": st["logprob"], "mine": mine, "delta": d,
                     "argmax": am, "ref_top1": ref_top[0][0], "ref_gap": g})
    return {"max_abs_delta": max(deltas), "mean_abs_delta": float(np.mean(deltas)),
            "n_steps": len(steps), "top1_agree": top1_all, "n_gap_steps": n_gap,
            "top1_agree_gap": top1_gap, "steps": rows}


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------

def _ints(s: str) -> list:
    return [int(t) for t in s.replace(" ", "").split(",") if t]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="GGUF file (llama, qwen3 or gemma3)")
    ap.add_argument("--tokens", help="comma-separated token ids")
    ap.add_argument("--last-only", action="store_true", help="output only the last position")
    ap.add_argument("--positions", help="comma-separated output positions, negative from the end; write --positions=-1,0 (default: all)")
    ap.add_argument("--out", help="write logits to .npy (float64 [P, vocab]) or .json")
    ap.add_argument("--verify", help="a llama.cpp reference JSON (cases[].prompt_tokens, greedy_tokens, steps)")
    ap.add_argument("--cases", default="0,1", help="case indices for --verify (default 0,1; 'all')")
    ap.add_argument("--config", action="store_true", help="print the config read from metadata")
    ap.add_argument("--gguf-reader", action="store_true",
                    help="index the file with gguf-py's GGUFReader (slow for big vocabularies)")
    ap.add_argument("--emulate-llamacpp", action="store_true",
                    help="round activations / KV like llama.cpp's CPU backend (debugging aid)")
    args = ap.parse_args(argv)

    m = load(args.model, emulate=args.emulate_llamacpp, use_gguf_reader=args.gguf_reader)
    if args.config:
        print(m.config.describe())
    if args.verify:
        ref = json.load(open(args.verify))
        idx = range(len(ref["cases"])) if args.cases == "all" else _ints(args.cases)
        worst = 0.0
        for i in idx:
            r = compare_case(m, ref["cases"][i])
            worst = max(worst, r["max_abs_delta"])
            print(f"case {i}: max|dlogprob| {r['max_abs_delta']:.4f} mean {r['mean_abs_delta']:.4f} "
                  f"top1 {r['top1_agree']}/{r['n_steps']} (gap>0.2: {r['top1_agree_gap']}/{r['n_gap_steps']})")
        print(f"worst max|dlogprob| {worst:.4f}")
    if args.tokens is None:
        return 0
    toks = _ints(args.tokens)
    if args.last_only:
        positions = [len(toks) - 1]
    elif args.positions:
        positions = [p if p >= 0 else len(toks) + p for p in _ints(args.positions)]
    else:
        positions = list(range(len(toks)))
    logits = m.forward(toks, positions=positions)
    if args.out:
        if args.out.endswith(".npy"):
            np.save(args.out, logits)
        elif args.out.endswith(".json"):
            with open(args.out, "w") as f:
                json.dump({"model": os.path.basename(args.model), "arch": m.config.arch,
                           "tokens": toks, "positions": positions, "logits": logits.tolist()}, f)
        else:
            raise SystemExit("--out must end in .npy or .json")
    else:
        lp = log_softmax(logits)
        for row, p in enumerate(positions):
            top = np.argsort(-lp[row])[:5]
            print(f"pos {p}: " + " ".join(f"{int(t)}:{lp[row, t]:.4f}" for t in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
