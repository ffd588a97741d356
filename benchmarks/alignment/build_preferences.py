#!/usr/bin/env python3
"""Builds PREFS.jsonl for the concise-vs-detailed RACO experiment from SmolLM2's own completions.

For every training prompt (prompts.TRAIN), `raconteur serve` (started here on a free loopback port) samples, through
the openai client's legacy completions endpoint (temperature 0.9, top-p 0.95, a seed per request, at most
MAX_TOKENS tokens):
- n = 2 answers to the rendered ChatML prompt itself ("plain"), and
- n = 2 answers to the same question followed by "Answer in one short sentence." ("brief").
SmolLM2 nearly always runs to MAX_TOKENS on plain prompts (10 of 192 plain answers stopped by themselves in a first
run), so pairs of plain answers hardly differ in length; the brief answers are the model's own short answers.
Rows, all with the plain prompt as `prompt` (the text the adapters will see at inference):
(plain_0, brief_0), (plain_1, brief_1) and (plain_0, plain_1); which answer is `chosen` alternates.
Labels come from the deterministic judges of clients/python/judges.py (+1 = chosen preferred); pairs that both judges
call ties are dropped. A brief answer is off-policy for the plain prompt, as preference data from another prompt
or model usually is; DPO does not need on-policy samples.

usage: build_preferences.py --raconteur BIN --model GGUF --out PREFS.jsonl [--max-tokens 80]

`generate` below (one `raconteur generate` process per completion) is what run_experiment.py uses to evaluate
adapters on unseen prompts.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
sys.path.insert(0, HERE)
from judges import label_pair  # noqa: E402
from prompts import TRAIN, chatml  # noqa: E402


def generate(binary, model, prompt, *, seed, temperature, max_tokens, adapters=(), threads=2):
    """The completion text of `raconteur generate` (its last line, the timing, is dropped)."""
    command = [binary, "generate", "--model", model, "--threads", str(threads), "--prompt", prompt,
               "--max-tokens", str(max_tokens), "--temperature", str(temperature), "--seed", str(seed)]
    if temperature > 0:
        command += ["--top-p", "0.95"]
    for adapter in adapters:
        command += ["--adapter", adapter]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    text, _, _ = out.rpartition("\nprompt: ")
    return text.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(binary, model, threads, log_path):
    """`raconteur serve` on a free loopback port for the duration of the block; yields an openai client."""
    from openai import OpenAI
    port = free_port()
    log = open(log_path, "w")
    process = subprocess.Popen([binary, "serve", "--model", model, "--port", str(port), "--threads", str(threads),
                                "--max-batch", "8", "--no-starter"], stdout=log, stderr=subprocess.STDOUT)
    try:
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", timeout=600)
        for _ in range(300):
            try:
                client.models.list()
                break
            except Exception:
                if process.poll() is not None:
                    raise RuntimeError(f"raconteur serve exited; see {log_path}")
                time.sleep(0.2)
        yield client
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raconteur", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-tokens", type=int, default=80)
    parser.add_argument("--temperature", type=float, default=0.9)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    start = time.time()
    rows, ties, stopped, brief_stops = [], 0, 0, 0
    with served(args.raconteur, args.model, args.threads, args.out + ".serve.log") as client:
        model = client.models.list().data[0].id
        def sample(prompt, seed):
            response = client.completions.create(model=model, prompt=prompt, n=2, seed=seed,
                                                 temperature=args.temperature, top_p=0.95, max_tokens=args.max_tokens)
            choices = sorted(response.choices, key=lambda c: c.index)
            return [c.text.strip() for c in choices], sum(1 for c in choices if c.finish_reason == "stop")

        for p, question in enumerate(TRAIN):
            prompt = chatml(question)
            plain, plain_stopped = sample(prompt, 1000 + p)
            brief, brief_stopped = sample(chatml(question + " Answer in one short sentence."), 2000 + p)
            stopped += plain_stopped
            brief_stops += brief_stopped
            for k, (a, b) in enumerate([(plain[0], brief[0]), (brief[1], plain[1]), (plain[0], plain[1])]):
                if (p + k) % 2:
                    a, b = b, a
                labels = label_pair(a, b)
                if not any(labels.values()) or a == b:
                    ties += 1
                    continue
                rows.append({"prompt": prompt, "chosen": a, "rejected": b, "labels": labels})
            print(f"[{p + 1}/{len(TRAIN)}] {question!r}: {len(rows)} rows so far ({time.time() - start:.0f} s)",
                  flush=True)
    with open(args.out, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    conflict = sum(1 for r in rows if r["labels"]["concise"] * r["labels"]["detailed"] < 0)
    print(f"wrote {len(rows)} rows to {args.out} ({ties} all-tie pairs dropped; {conflict} rows where the judges "
          f"disagree; plain answers that ended before max_tokens: {stopped} of {2 * len(TRAIN)}, brief ones: "
          f"{brief_stops} of {2 * len(TRAIN)}) "
          f"in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
