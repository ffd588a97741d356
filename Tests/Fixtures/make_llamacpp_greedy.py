#!/usr/bin/env python3
"""Writes a llama.cpp greedy reference (Tests/Fixtures/reference/greedy_*.json) for a model with llama-server.

    python3 Tests/Fixtures/make_llamacpp_greedy.py models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \\
        Tests/Fixtures/reference/greedy_qwen2.json [--server ~/.cache/raconteur/llama-server/bin/llama-server]

Starts llama-server (CPU, 2 threads, one slot, context 2048, flash attention on: the arithmetic Raconteur's
attention follows) on a free loopback port, and for each prompt:
  * tokenizes it with the server's /tokenize (add_special: BOS where the model asks for it; parse_special:
    `<|im_start|>` and the like are single tokens), and sends those ids as the prompt, so `prompt_tokens` are
    exactly what the model saw;
  * asks /completion for 32 tokens with temperature 0 (greedy), ignore_eos (EOS banned, so every continuation has
    32 tokens and the chosen token is not always the unconstrained top-1), cache_prompt false, n_probs 5 and
    post_sampling_probs false (log-probabilities of the raw logits' softmax).
The JSON has the shape of the other references (see Tests/Fixtures/reference/README.md): per prompt `prompt`,
`prompt_tokens`, `greedy_tokens`, `greedy_text` and `steps[i]` = {id, logprob, top: five [id, logprob]}.
"""
import argparse
import json
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request

# Plain text, code (the model is a coder) and chat turns in the model's ChatML template.
PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "Once upon a time, in a small village,",
    "Water boils at a temperature of",
    "# Sort a list of numbers in Python\nnumbers = [5, 3, 8, 1]\n",
    "SELECT name, COUNT(*) FROM orders",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nWrite a C function that returns the larger of two ints.<|im_end|>\n<|im_start|>assistant\n",
]


def post(url, body, timeout=600):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--server", default=os.path.expanduser("~/.cache/raconteur/llama-server/bin/llama-server"))
    ap.add_argument("--tokens", type=int, default=32)
    a = ap.parse_args()
    port = free_port()
    args = [a.server, "-m", a.model, "-t", "2", "-np", "1", "-c", "2048", "-fa", "on", "--host", "127.0.0.1",
            "--port", str(port), "--no-webui"]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except Exception:
                if server.poll() is not None:
                    raise SystemExit(f"llama-server exited: {server.stderr.read()[-2000:]}")
                time.sleep(0.5)
        cases = []
        for prompt in PROMPTS:
            tokens = post(base + "/tokenize", {"content": prompt, "add_special": True, "parse_special": True})["tokens"]
            out = post(base + "/completion", {"prompt": tokens, "n_predict": a.tokens, "temperature": 0,
                                              "ignore_eos": True, "cache_prompt": False, "n_probs": 5,
                                              "post_sampling_probs": False, "return_tokens": True})
            probs = out["completion_probabilities"]
            steps = [{"id": p["id"], "logprob": p["logprob"],
                      "top": [[t["id"], t["logprob"]] for t in p["top_logprobs"]]} for p in probs]
            greedy = [p["id"] for p in probs]
            assert len(greedy) == a.tokens, (prompt, len(greedy))
            assert all(math.isfinite(s["logprob"]) for s in steps)
            cases.append({"prompt": prompt, "prompt_tokens": tokens, "greedy_tokens": greedy,
                          "greedy_text": out["content"], "steps": steps})
            print(f"{prompt!r}: {len(tokens)} prompt tokens -> {out['content']!r}", flush=True)
        version = subprocess.run([a.server, "--version"], capture_output=True, text=True).stderr.strip().splitlines()
        doc = {"model": os.path.basename(a.model),
               "engine": "llama.cpp (llama-server), CPU, 2 threads, one slot, flash attention on",
               "llama_cpp_version": version[0] if version else "",
               "note": "tokenization with BOS where the model asks for it and special tokens parsed; greedy "
                       f"continuation of {a.tokens} tokens with EOS banned; top-5 logprobs per step",
               "cases": cases}
        with open(a.out, "w") as f:
            json.dump(doc, f)
            f.write("\n")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
