#!/usr/bin/env python3
"""Proves Raconteur's adapter files are llama.cpp LoRA adapters: writes a random adapter with
`raconteur adapter-init`, greedy-generates with it in llama.cpp (llama-cpp-python's `lora_path`), and
scores that continuation teacher-forced in Raconteur with the same adapter: the per-token log-probs must
agree (the protocol of Tests/Fixtures/reference/README.md), and the adapter must change llama.cpp's output at all.

usage (with the llama-cpp-python venv of benchmarks/setup_llamacpp.sh):
    ~/.cache/raconteur/llama-venv/bin/python benchmarks/lora_compat.py [--model M] [--bin .build/release/raconteur]
Exit status 0 when every prompt agrees.
"""
import argparse, os, subprocess, sys, tempfile

PROMPTS = ["The capital of France is", "Once upon a time, in a small village,",
           "<|im_start|>user\nName three fruits.<|im_end|>\n<|im_start|>assistant\n", "def fibonacci(n):"]


def raconteur_score(binary, model, prompt, continuation, adapter):
    """Teacher-forced log-probs of `continuation` after `prompt` in Raconteur: [(token, logprob)]."""
    out = subprocess.run([binary, "score", "--model", model, "--prompt", prompt, "--continuation", continuation,
                          "--adapter", adapter, "--threads", "2"], check=True, capture_output=True, text=True).stdout
    rows = [l.split() for l in out.splitlines() if l and not l.startswith("total:")]
    return [(int(r[0]), float(r[-1])) for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--bin", default=".build/release/raconteur")
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--random-b", default="0.05")
    a = ap.parse_args()
    from llama_cpp import Llama

    adapter = os.path.join(tempfile.mkdtemp(), "random-lora.gguf")
    subprocess.run([a.bin, "adapter-init", "--model", a.model, "--out", adapter, "--rank", str(a.rank),
                    "--random-b", a.random_b, "--seed", "7"], check=True)
    base = Llama(model_path=a.model, n_threads=2, n_ctx=512, verbose=False)
    lora = Llama(model_path=a.model, n_threads=2, n_ctx=512, verbose=False, lora_path=adapter, logits_all=True)
    worst, agree, changed = 0.0, 0, 0
    for p in PROMPTS:
        # llama.cpp's greedy continuation with the adapter, with its per-step top-2 log-probs.
        out = lora.create_completion(p, max_tokens=a.tokens, temperature=0, logprobs=2)["choices"][0]
        plain = base.create_completion(p, max_tokens=a.tokens, temperature=0)["choices"][0]["text"]
        changed += out["text"] != plain
        steps = out["logprobs"]
        theirs = [steps["token_logprobs"][i] for i in range(len(steps["tokens"]))]
        gaps = [sorted(t.values(), reverse=True) for t in steps["top_logprobs"]]
        gaps = [g[0] - g[1] if len(g) > 1 else 9.9 for g in gaps]
        ours = raconteur_score(a.bin, a.model, p, out["text"], adapter)
        n = min(len(ours), len(theirs))
        deltas = [abs(ours[i][1] - theirs[i]) for i in range(n)]
        worst = max([worst] + deltas)
        # Same protocol as Tests/Fixtures/reference: the greedy choice must agree wherever llama.cpp's top-2 gap > 0.2.
        decisive_ok = all(ours[i][1] >= theirs[i] - 0.2 or gaps[i] < 0.2 for i in range(n))
        agree += decisive_ok
        print(f"{p!r}: {n} tokens, max |Δ logprob| {max(deltas):.3f}, mean {sum(deltas)/n:.3f}; "
              f"{'ok' if decisive_ok else 'MISMATCH'}\n  llama.cpp+lora: {out['text']!r}\n  llama.cpp base: {plain!r}")
    print(f"{agree}/{len(PROMPTS)} prompts agree; worst |Δ logprob| {worst:.3f}; "
          f"the adapter changed {changed}/{len(PROMPTS)} of llama.cpp's continuations")
    sys.exit(0 if agree == len(PROMPTS) and changed > 0 and worst < 0.5 else 1)


if __name__ == "__main__":
    main()
