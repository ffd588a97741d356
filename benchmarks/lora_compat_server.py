#!/usr/bin/env python3
"""Proves an adapter Raconteur wrote (adapter-init or a RACO `align`) is a llama.cpp LoRA adapter, with llama.cpp's own
`llama-server --lora FILE` (no llama-cpp-python needed, unlike lora_compat.py): llama-server greedy-generates 24 tokens
per prompt with the adapter and reports its log-probabilities; Raconteur scores the same text teacher-forced with the
adapter (`raconteur score --adapter`), and without it to show the adapter's effect.

usage:
    python3 benchmarks/lora_compat_server.py LLAMA_SERVER MODEL ADAPTER RACONTEUR
    e.g. python3 benchmarks/lora_compat_server.py ~/.cache/raconteur/llama-server/build/bin/llama-server \
             models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf /tmp/align/concise1.00-detailed0.00.gguf .build/debug/raconteur

2026-12-07, Qwen2.5-Coder-0.5B, the adapter of a 4-step RACO align (rank 8, 24 preference rows of
benchmarks/alignment/results/prefs_smollm2_concise_detailed.jsonl): same token ids on all 3 prompts, |Δ logprob| against
llama.cpp max 0.105 (means 0.013, 0.019, 0.007), while the adapter moves Raconteur's own log-probs by up to 1.55 nat.
"""
import json, socket, subprocess, sys, time, urllib.request
server_bin, model, adapter, rac = sys.argv[1:5]
PROMPTS = ["<|im_start|>user\nWhat is photosynthesis?<|im_end|>\n<|im_start|>assistant\n",
           "<|im_start|>user\nName three fruits.<|im_end|>\n<|im_start|>assistant\n", "def fibonacci(n):"]
def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r: return json.loads(r.read())
with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
p = subprocess.Popen([server_bin, "-m", model, "--lora", adapter, "-t", "2", "-np", "1", "-c", "1024", "-fa", "on",
                      "--no-webui", "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
for _ in range(600):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            if r.status == 200: break
    except Exception:
        if p.poll() is not None: raise SystemExit(p.stderr.read()[-3000:])
        time.sleep(0.5)
try:
    outs = [post(f"http://127.0.0.1:{port}/completion", {"prompt": q, "n_predict": 24, "temperature": 0, "cache_prompt": False,
                                                          "n_probs": 2, "ignore_eos": True}) for q in PROMPTS]
finally:
    p.terminate(); p.wait()
def score(prompt, text, extra):
    out = subprocess.run([rac, "score", "--model", model, "--prompt", prompt, "--continuation", text, "--threads", "2"] + extra,
                         capture_output=True, text=True, check=True).stdout
    return [(int(r[0]), float(r[-1])) for r in (x.split() for x in out.splitlines() if x and not x.startswith("total:"))]
worst, effect = 0.0, 0.0
for prompt, o in zip(PROMPTS, outs):
    steps = o["completion_probabilities"]
    ours, base = score(prompt, o["content"], ["--adapter", adapter]), score(prompt, o["content"], [])
    n = min(len(ours), len(steps))
    same = [t for t, _ in ours[:n]] == [s["id"] for s in steps[:n]]
    d = [abs(ours[i][1] - steps[i]["logprob"]) for i in range(n)]
    e = [abs(ours[i][1] - base[i][1]) for i in range(n)]
    worst, effect = max([worst] + d), max([effect] + e)
    print(f"{prompt!r}: {n} tokens, same ids {same}; |Δ logprob| Raconteur+adapter vs llama.cpp --lora: max {max(d):.4f} mean {sum(d)/n:.4f}; "
          f"adapter's effect in Raconteur: max {max(e):.4f} mean {sum(e)/n:.4f}\n  llama.cpp --lora: {o['content']!r}")
print(f"worst |Δ| vs llama.cpp {worst:.4f}; largest adapter effect {effect:.4f}")
