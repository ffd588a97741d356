#!/usr/bin/env python3
"""Writes tiny random-weight GGUF models (llama, qwen3, gemma3, qwen2) and their reference logits.

    python3 Tests/Fixtures/write_tiny_model.py Tests/Fixtures/generated \\
        [--arch llama,qwen3,gemma3,qwen2] [--wtype f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1] [--seed 0]
        [--tokens 1,17,...] [--greedy 8]

For each architecture it writes, into the output directory (keep it out of git;
Tests/Fixtures/generated/ is ignored):
    tiny-{arch}-{wtype}.gguf          the model (gguf-py's GGUFWriter, GGUF v3, alignment 32)
    tiny-{arch}-{wtype}.logits.json   {"model", "arch", "wtype", "seed", "tokens", "logits"
                                       (float64, [len(tokens)][n_vocab], every position, causal,
                                       RoPE positions 0..T-1), "greedy_tokens" (argmax continuation
                                       of `tokens`, recomputed from scratch each step),
                                       "logits_emulated" (the same with llama.cpp-style rounding:
                                       activations rounded to Q8_0/Q8_K before quantised matmuls,
                                       F16 K/V/Q and attention weights; see reference_model.py),
                                       "config" (what reference_model.py read back),
                                       "sensitivity" (see below), "tensor_types" {name: ggml type}}
    tiny-{arch}-{wtype}.logits.npy    the same logits as a float64 array
and prints one summary line per model. Everything is deterministic for a given seed (numpy
PCG64); the logits come from reference_model.py reading the file back, so they are independent of
how this script built the weights.

The shapes (chosen to catch the usual mistakes; all three share vocab 64, n_embd 32, n_ff 48,
4 query heads, 2 kv heads = GQA group 2):
    llama   2 layers, head_dim 8 (= n_embd / n_head, no key_length key), RoPE base 10000,
            eps 1e-5, TIED output (no output.weight), gpt2 byte-level BPE vocab (SmolLM2-like).
    qwen3   2 layers, head_dim 16 (attention.key_length = value_length = 16 != n_embd / n_head,
            so Wq is [64, 32] and Wo is [32, 64] in numpy (out, in) terms), q/k RMSNorm, RoPE
            base 1e6, eps 1e-6, UNTIED output.weight, gpt2 BPE vocab with pre = qwen2.
    qwen2   2 layers, head_dim 8, biases on q, k and v (N(0, 0.8^2), F32 like every 1-D tensor),
            RoPE NEOX, base 1e6, eps 1e-6, UNTIED output.weight, gpt2 BPE vocab with pre = qwen2
            (the Qwen2.5 layout; "sensitivity" also records dropping the biases).
    gemma3  3 layers, head_dim 16 (key_length 16), sliding_window 4 and an EXPLICIT
            `gemma3.attention.sliding_window_pattern` = 3 (uint32): layer il is local iff
            il % 3 < 2, so layers 0, 1 are sliding-window (RoPE base 10000, the default, as
            `rope.freq_base_swa` is not written, like the real files) and layer 2 is global
            (RoPE base `rope.freq_base` = 1e6); eps 1e-6, tied output, SentencePiece ("llama")
            vocab with <pad>/<eos>/<bos>/<unk> = 0/1/2/3, add_bos_token true. The default token
            sequence has 12 tokens, so the window of 4 masks keys on layers 0 and 1.
            (--gemma3-layers 6 --gemma3-pattern 0 instead writes no pattern key, as the real
            270M does, and relies on llama.cpp's default period 6: layer 5 global.)
Weights: N(0, 1/fan_in) projections, norm weights 1 + N(0, 0.1^2) (gemma3 files store 1 + w
already; nothing special is needed), embeddings N(0, 0.25^2) for the tied llama and gemma3 (small
enough that the layers, not the input token's own embedding, decide the tied logits) and
N(0, 0.5^2) for qwen3, whose separate output.weight is N(0, 4/n_embd). Logits then have a standard
deviation of about 1-1.5, and every convention matters: the JSON's "sensitivity" records, per
convention, the max |change of log-softmax| over all positions when the reference violates it
(RoPE mode flipped, attention scale x0.8, and for gemma3 no sliding window, one RoPE base for all
layers, no embedding scaling) - each is far above any sensible comparison tolerance (>= 0.6 nat).

With --wtype other than f32 every 2-D weight whose row length is a multiple of the block size is
stored in that type (gguf.quants.quantize); the others (ffn_down, row length 48,
for the 32-element block types) and all 1-D norms stay F32, as llama.cpp's quantizer does. The
reference logits are computed from the dequantised stored weights, so they are exact for the
stored file; an engine that quantises activations (as llama.cpp does) will differ slightly.

What to expect when comparing an engine (float32 arithmetic) with "logits" (max |d log-softmax|
measured between "logits" and "logits_emulated" for the default seed): F32 files with F32
activations and KV: float32 round-off only (expect well under 1e-3); an F16 KV cache alone: ~3e-3;
Q8_0 weights with activations rounded to Q8_0: up to ~0.1 (0.07 for gemma3) - compare such an
engine with "logits_emulated" instead, or with a tolerance of that size.

`generate(out_dir, ...)` does what the command line does, for a fixtures driver such as
make_fixtures.py.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import reference_model as rm  # noqa: E402  (also sets OPENBLAS_NUM_THREADS=1 before numpy)
import numpy as np  # noqa: E402
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as QT, GGUFWriter, TokenType  # noqa: E402

WTYPES = {
    "f32": (QT.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (QT.F16, gguf.LlamaFileType.MOSTLY_F16),
    "bf16": (QT.BF16, gguf.LlamaFileType.MOSTLY_BF16),
    "q8_0": (QT.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0),
    "q4_0": (QT.Q4_0, gguf.LlamaFileType.MOSTLY_Q4_0),
    "q4_1": (QT.Q4_1, gguf.LlamaFileType.MOSTLY_Q4_1),
    "q5_0": (QT.Q5_0, gguf.LlamaFileType.MOSTLY_Q5_0),
    "q5_1": (QT.Q5_1, gguf.LlamaFileType.MOSTLY_Q5_1),
}

DEFAULT_TOKENS = [1, 17, 33, 5, 60, 42, 8, 23, 51, 12, 30, 7]

ARCH_SPECS = {
    "llama": dict(n_vocab=64, n_embd=32, n_layer=2, n_head=4, n_head_kv=2, head_dim=8,
                  write_key_length=False, n_ff=48, rope_base=10000.0, eps=1e-5, ctx=256,
                  tied=True, qk_norm=False, post_norms=False, embed_std=0.25, out_std=0.0),
    "qwen3": dict(n_vocab=64, n_embd=32, n_layer=2, n_head=4, n_head_kv=2, head_dim=16,
                  write_key_length=True, n_ff=48, rope_base=1000000.0, eps=1e-6, ctx=256,
                  tied=False, qk_norm=True, post_norms=False, embed_std=0.5, out_std=2.0),
    "qwen2": dict(n_vocab=64, n_embd=32, n_layer=2, n_head=4, n_head_kv=2, head_dim=8,
                  write_key_length=False, n_ff=48, rope_base=1000000.0, eps=1e-6, ctx=256,
                  tied=False, qk_norm=False, post_norms=False, embed_std=0.5, out_std=2.0,
                  qkv_bias=True),
    "gemma3": dict(n_vocab=64, n_embd=32, n_layer=3, n_head=4, n_head_kv=2, head_dim=16,
                   write_key_length=True, n_ff=48, rope_base=1000000.0, eps=1e-6, ctx=256,
                   tied=True, qk_norm=True, post_norms=True, embed_std=0.25, out_std=0.0,
                   sliding_window=4, swa_pattern=3),
}


# ----------------------------------------------------------------------------------------------
# Vocabularies
# ----------------------------------------------------------------------------------------------

def gpt2_vocab(n_vocab: int, specials: list[str]) -> tuple[list[str], list[int], list[str]]:
    """Byte-level BPE vocabulary: specials, then single byte-level symbols (GPT-2's byte->unicode
    map: printable ASCII is itself, ' ' is 'Ġ', '\\n' is 'Ċ'), then merged tokens with their merges."""
    singles = ["Ġ", "Ċ"] + list("etaoinshrdlucmfwypvbgk") + list(".,!?'") + list("0123456789") \
        + list("TAISW")
    merges_spec = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("Ġ", "a"),
                   ("o", "n"), ("r", "e"), ("Ġ", "s"), ("a", "t"), ("e", "n"), ("Ġ", "o"),
                   ("Ġ", "w"), ("o", "r"), ("i", "s"), ("e", "d"), ("Ġ", "c"), ("Ġ", "i"),
                   ("Ġ", "b"), ("a", "n")]
    tokens = list(specials) + singles
    merges = []
    for a, b in merges_spec:
        if len(tokens) >= n_vocab:
            break
        tokens.append(a + b)
        merges.append(f"{a} {b}")
    if len(tokens) < n_vocab:
        raise ValueError("vocabulary spec too small")
    tokens = tokens[:n_vocab]
    types = [int(TokenType.CONTROL)] * len(specials) + [int(TokenType.NORMAL)] * (n_vocab - len(specials))
    return tokens, types, merges


def spm_vocab(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    """SentencePiece-style vocabulary as Gemma's: <pad> <eos> <bos> <unk>, turn markers, a few
    byte-fallback tokens, then pieces with '▁' for a leading space; scores decrease with rank."""
    specials = [("<pad>", TokenType.CONTROL), ("<eos>", TokenType.CONTROL), ("<bos>", TokenType.CONTROL),
                ("<unk>", TokenType.UNKNOWN), ("<start_of_turn>", TokenType.USER_DEFINED),
                ("<end_of_turn>", TokenType.USER_DEFINED)]
    bytes_ = [(f"<0x{b:02X}>", TokenType.BYTE) for b in (0x0A, 0x20, 0x21, 0x3F)]
    pieces = ["▁"] + list("etaoinshrdlucmfwypvbgk") + list(".,!?") + list("0123456789") \
        + ["▁t", "he", "▁the", "in", "er", "▁a", "on", "re", "▁s", "at", "en", "▁o", "▁w", "or", "is",
           "an", "▁and"]
    toks = [(t, ty) for t, ty in specials + bytes_] + [(p, TokenType.NORMAL) for p in pieces]
    toks = toks[:n_vocab]
    if len(toks) < n_vocab:
        raise ValueError("vocabulary spec too small")
    tokens = [t for t, _ in toks]
    types = [int(ty) for _, ty in toks]
    scores = [0.0 if ty != TokenType.NORMAL else -float(i) for i, (_, ty) in enumerate(toks)]
    return tokens, scores, types


CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
GEMMA_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{% set role = 'model' if message['role'] == "
                  "'assistant' else message['role'] %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim "
                  "+ '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")


# ----------------------------------------------------------------------------------------------
# Model writing
# ----------------------------------------------------------------------------------------------

def make_weights(arch: str, s: dict, rng: np.random.Generator) -> dict:
    """numpy arrays in gguf-py orientation: a ggml [in, out] weight is numpy (out, in)."""
    E, F, hd = s["n_embd"], s["n_ff"], s["head_dim"]
    qd, kvd = s["n_head"] * hd, s["n_head_kv"] * hd

    def lin(out_dim, in_dim):
        return rng.normal(0.0, 1.0 / np.sqrt(in_dim), size=(out_dim, in_dim))

    def norm(n):
        return 1.0 + rng.normal(0.0, 0.1, size=n)

    w = {"token_embd.weight": rng.normal(0.0, s["embed_std"], size=(s["n_vocab"], E))}
    for il in range(s["n_layer"]):
        p = f"blk.{il}."
        w[p + "attn_norm.weight"] = norm(E)
        w[p + "attn_q.weight"] = lin(qd, E)
        w[p + "attn_k.weight"] = lin(kvd, E)
        w[p + "attn_v.weight"] = lin(kvd, E)
        if s.get("qkv_bias"):
            w[p + "attn_q.bias"] = rng.normal(0.0, 0.8, size=qd)
            w[p + "attn_k.bias"] = rng.normal(0.0, 0.8, size=kvd)
            w[p + "attn_v.bias"] = rng.normal(0.0, 0.8, size=kvd)
        if s["qk_norm"]:
            w[p + "attn_q_norm.weight"] = norm(hd)
            w[p + "attn_k_norm.weight"] = norm(hd)
        w[p + "attn_output.weight"] = lin(E, qd)
        if s["post_norms"]:
            w[p + "post_attention_norm.weight"] = norm(E)
        w[p + "ffn_norm.weight"] = norm(E)
        w[p + "ffn_gate.weight"] = lin(F, E)
        w[p + "ffn_up.weight"] = lin(F, E)
        w[p + "ffn_down.weight"] = lin(E, F)
        if s["post_norms"]:
            w[p + "post_ffw_norm.weight"] = norm(E)
    w["output_norm.weight"] = norm(E)
    if not s["tied"]:
        w["output.weight"] = rng.normal(0.0, s["out_std"] / np.sqrt(E), size=(s["n_vocab"], E))
    return w


def store(a: np.ndarray, qtype: QT) -> tuple[np.ndarray, QT]:
    """(array to write, type) for one tensor: 1-D and non-divisible tensors stay F32."""
    a32 = a.astype(np.float32)
    if a.ndim < 2 or qtype == QT.F32:
        return a32, QT.F32
    block = gguf.GGML_QUANT_SIZES[qtype][0]
    if a.shape[-1] % block:
        return a32, QT.F32
    return gguf.quants.quantize(a32, qtype), qtype


def write_model(path: str, arch: str, wtype: str = "f32", seed: int = 0, spec_overrides: dict | None = None) -> dict:
    s = dict(ARCH_SPECS[arch])
    s.update(spec_overrides or {})
    qtype, ftype = WTYPES[wtype]
    # a distinct, reproducible stream per architecture
    rng = np.random.default_rng([seed, list(ARCH_SPECS).index(arch)])
    weights = make_weights(arch, s, rng)

    w = GGUFWriter(path, arch)
    w.add_type("model")
    w.add_name(f"Raconteur tiny {arch}")
    w.add_description(f"random weights, seed {seed}, written by Tests/Fixtures/write_tiny_model.py")
    w.add_context_length(s["ctx"])
    w.add_embedding_length(s["n_embd"])
    w.add_block_count(s["n_layer"])
    w.add_feed_forward_length(s["n_ff"])
    w.add_head_count(s["n_head"])
    w.add_head_count_kv(s["n_head_kv"])
    if s["write_key_length"]:
        w.add_key_length(s["head_dim"])
        w.add_value_length(s["head_dim"])
    w.add_layer_norm_rms_eps(s["eps"])
    w.add_rope_freq_base(s["rope_base"])
    if arch == "llama":
        w.add_vocab_size(s["n_vocab"])
        w.add_rope_dimension_count(s["head_dim"])
    if arch == "gemma3":
        w.add_sliding_window(s["sliding_window"])
        if s.get("swa_pattern"):
            w.add_sliding_window_pattern(int(s["swa_pattern"]))
    w.add_file_type(int(ftype))
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    if arch in ("llama", "qwen3", "qwen2"):
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
        tokens, types, merges = gpt2_vocab(s["n_vocab"], specials)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("smollm" if arch == "llama" else "qwen2")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        if arch == "llama":
            w.add_bos_token_id(1)
            w.add_eos_token_id(2)
            w.add_unk_token_id(0)
            w.add_pad_token_id(2)
        else:
            w.add_bos_token_id(0)
            w.add_eos_token_id(2)
            w.add_pad_token_id(0)
        w.add_add_bos_token(False)
        w.add_chat_template(CHATML)
    else:
        tokens, scores, types = spm_vocab(s["n_vocab"])
        w.add_tokenizer_model("llama")
        w.add_tokenizer_pre("default")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(2)
        w.add_eos_token_id(1)
        w.add_unk_token_id(3)
        w.add_pad_token_id(0)
        w.add_add_bos_token(True)
        w.add_add_eos_token(False)
        w.add_add_space_prefix(False)
        w.add_chat_template(GEMMA_TEMPLATE)

    types_out = {}
    for name, a in weights.items():
        data, t = store(a, qtype)
        types_out[name] = t.name
        w.add_tensor(name, data, raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return types_out


def sensitivity(m: rm.ReferenceModel, tokens: list[int], logits: np.ndarray) -> dict:
    """Max |change in log-softmax| over all positions when one convention is violated."""
    c = m.config
    saved = dict(c.__dict__)
    lp = rm.log_softmax(logits)
    cases = {"rope_mode_flipped": {"rope_neox": not c.rope_neox},
             "attn_scale_x0.8": {"attn_scale": c.attn_scale * 0.8}}
    if c.arch == "gemma3":
        cases["no_sliding_window"] = {"is_swa": [False] * c.n_layer}
        cases["global_rope_base_everywhere"] = {"rope_base_layer": [c.rope_base] * c.n_layer}
        cases["no_embedding_scale"] = {"embed_scale": 1.0}
    if c.qk_norm:
        cases["no_qk_norm"] = {"qk_norm": False}
    if any(n.endswith("attn_q.bias") for n in m.tensors):
        cases["no_qkv_bias"] = {"qkv_bias": False}
    out = {}
    for label, ov in cases.items():
        c.__dict__.update(ov)
        try:
            out[label] = float(np.abs(rm.log_softmax(m.forward(tokens)) - lp).max())
        finally:
            c.__dict__.clear()
            c.__dict__.update(saved)
    return out


def reference_outputs(path: str, tokens: list[int], n_greedy: int) -> dict:
    m = rm.load(path)
    logits = m.forward(tokens)
    sens = sensitivity(m, tokens, logits)
    m.emulate = True
    emulated = m.forward(tokens)
    m.emulate = False
    greedy, seq = [], list(tokens)
    for _ in range(n_greedy):
        nxt = int(np.argmax(m.forward(seq, positions=[len(seq) - 1])[0]))
        greedy.append(nxt)
        seq.append(nxt)
    cfg = {k: v for k, v in m.config.__dict__.items()}
    return {"logits": logits, "logits_emulated": emulated, "greedy_tokens": greedy, "config": cfg,
            "sensitivity": sens}


def generate(out_dir: str, archs=("llama", "qwen3", "gemma3", "qwen2"), wtype: str = "f32", seed: int = 0,
             tokens: list[int] | None = None, n_greedy: int = 8, spec_overrides: dict | None = None,
             verbose: bool = True) -> list[str]:
    """Write every tiny model and its reference outputs into out_dir; returns the GGUF paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for arch in archs:
        base = os.path.join(out_dir, f"tiny-{arch}-{wtype}")
        over = (spec_overrides or {}).get(arch, {})
        types_out = write_model(base + ".gguf", arch, wtype, seed, over)
        toks = list(tokens) if tokens is not None else list(DEFAULT_TOKENS)
        if tokens is None and arch == "gemma3":
            toks[0] = 2  # <bos>, as Gemma adds it
        ref = reference_outputs(base + ".gguf", toks, n_greedy)
        np.save(base + ".logits.npy", ref["logits"])
        with open(base + ".logits.json", "w") as f:
            json.dump({"model": os.path.basename(base + ".gguf"), "arch": arch, "wtype": wtype,
                       "seed": seed, "tokens": toks, "logits": ref["logits"].tolist(),
                       "logits_emulated": ref["logits_emulated"].tolist(),
                       "greedy_tokens": ref["greedy_tokens"], "config": ref["config"],
                       "sensitivity": ref["sensitivity"], "tensor_types": types_out}, f)
        if verbose:
            lg = ref["logits"]
            lp = rm.log_softmax(lg[-1])
            print(f"{arch:6s} {wtype}: {base}.gguf ({os.path.getsize(base + '.gguf')} bytes), "
                  f"{len(toks)} tokens, last-position top-1 {int(np.argmax(lg[-1]))} "
                  f"(logprob {lp.max():.4f}), logits std {lg.std():.3f}, greedy {ref['greedy_tokens']}")
            print("       sensitivity (max |d logprob|): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in ref["sensitivity"].items()))
            if wtype != "f32":
                kept = sorted(n for n, t in types_out.items() if t == "F32" and "norm" not in n)
                print(f"       2-D weights kept in F32 (row length not a multiple of the block): {kept}")
        paths.append(base + ".gguf")
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir", help="output directory (e.g. Tests/Fixtures/generated)")
    ap.add_argument("--arch", default="llama,qwen3,gemma3,qwen2")
    ap.add_argument("--wtype", default="f32", choices=sorted(WTYPES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokens", help="comma-separated token ids (default: a fixed 12-token list)")
    ap.add_argument("--greedy", type=int, default=8, help="greedy continuation length to record")
    ap.add_argument("--gemma3-layers", type=int, help="override gemma3 layer count (default 3)")
    ap.add_argument("--gemma3-pattern", type=int,
                    help="gemma3 sliding_window_pattern to write (default 3; 0 = omit the key)")
    args = ap.parse_args(argv)
    archs = [a for a in args.arch.split(",") if a]
    for a in archs:
        if a not in ARCH_SPECS:
            raise SystemExit(f"unknown arch {a}")
    over = {"gemma3": {}}
    if args.gemma3_layers:
        over["gemma3"]["n_layer"] = args.gemma3_layers
    if args.gemma3_pattern is not None:
        over["gemma3"]["swa_pattern"] = args.gemma3_pattern
    toks = [int(t) for t in args.tokens.split(",")] if args.tokens else None
    generate(args.out_dir, archs, args.wtype, args.seed, toks, args.greedy, over)
    return 0


if __name__ == "__main__":
    sys.exit(main())
