#!/usr/bin/env python3
"""Prompt and generation speed, Raconteur against llama.cpp's `llama-bench`, side by side in one run (issue 20).

Both sides measure the same way: warm (one untimed warm-up run per test), random tokens, a fresh context per
run, `-r` timed runs, tok/s as mean ± sample standard deviation. llama.cpp's side is its own C++ tool
(`llama-bench`, from `benchmarks/setup_llamacpp.sh --server-only`); Raconteur's is `raconteur-bench
bench-generate`, which takes the same -p/-n/-d/-r options. The two alternate per model and per round, so a slow
phase of this shared machine falls on both.

    python3 benchmarks/speed_vs_llamabench.py --bench .build/release/raconteur-bench --rounds 2 \
        --json benchmarks/results/speed_vs_llamabench_DATE.json

Prints one Markdown table (model, test, depth, llama-bench, Raconteur, ratio) with the date, load and commit.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LLAMA_BENCH = Path.home() / ".cache" / "raconteur" / "llama-server" / "bin" / "llama-bench"
MODELS = {
    "smollm2": ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": ROOT / "models" / "gemma-3-270m-q4_k_m.gguf",
    "qwen2.5": ROOT / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}
# Issue 20's targets: prompt ≥ 1.2× at 128/512/2048 (≥ 1.0× on Qwen2.5), generation ≥ 1.3× at short context,
# ≥ 1.2× at depth 2048.
TESTS = [("pp128", 0), ("pp512", 0), ("pp2048", 0), ("tg64", 0), ("tg64", 2048)]


def options(test, depth):
    kind, count = test[:2], int(test[2:])
    prompt, generate = (count, 0) if kind == "pp" else (0, count)
    return ["-p", str(prompt), "-n", str(generate), "-d", str(depth)]


def run_llama_bench(model, test, depth, threads, repetitions):
    command = [str(LLAMA_BENCH), "-m", str(model), "-t", str(threads), "-r", str(repetitions), "-o", "json",
               *options(test, depth)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rows = [row for row in json.loads(output) if row["n_prompt"] + row["n_gen"] > 0]
    return rows[0]["samples_ts"]


def run_raconteur(bench, model, test, depth, threads, repetitions):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [str(bench), "bench-generate", "--model", str(model), "--threads", str(threads),
                   "-r", str(repetitions), "--json", out.name, *options(test, depth)]
        subprocess.run(command, check=True, capture_output=True, text=True)
        rows = json.loads(Path(out.name).read_text())
    return rows[0]["samples_ts"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default=str(ROOT / ".build" / "release" / "raconteur-bench"))
    parser.add_argument("--models", default="smollm2,gemma3,qwen2.5")
    parser.add_argument("--tests", default=",".join(f"{t}@{d}" for t, d in TESTS),
                        help="test@depth, comma-separated (pp = prompt, tg = generation)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of both tools")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not LLAMA_BENCH.exists():
        sys.exit(f"{LLAMA_BENCH} is missing: run benchmarks/setup_llamacpp.sh --server-only")
    tests = [(part.split("@")[0], int(part.split("@")[1]) if "@" in part else 0) for part in args.tests.split(",")]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()[0]
    results = []
    for name in args.models.split(","):
        model = MODELS[name]
        if not model.exists():
            sys.exit(f"{model} is missing: `raconteur pull` it or run scripts/setup.sh")
        for test, depth in tests:
            samples = {"llama-bench": [], "raconteur": []}
            for round_index in range(args.rounds):
                sides = [("llama-bench", lambda: run_llama_bench(model, test, depth, args.threads, args.repetitions)),
                         ("raconteur", lambda: run_raconteur(args.bench, model, test, depth, args.threads,
                                                             args.repetitions))]
                if round_index % 2:
                    sides.reverse()
                for side, measure in sides:
                    samples[side] += measure()
            llama, ours = statistics.mean(samples["llama-bench"]), statistics.mean(samples["raconteur"])
            row = {"model": name, "test": test, "depth": depth, "llama_bench_ts": samples["llama-bench"],
                   "raconteur_ts": samples["raconteur"], "llama_bench_mean": llama, "raconteur_mean": ours,
                   "ratio": ours / llama}
            results.append(row)
            print(f"{name} {test} d{depth}: llama-bench {llama:.1f} ± {statistics.stdev(samples['llama-bench']):.1f}, "
                  f"raconteur {ours:.1f} ± {statistics.stdev(samples['raconteur']):.1f} tok/s: {ours / llama:.2f}×",
                  flush=True)
    load_after = os.getloadavg()[0]
    print(f"\n{started}, commit {commit}, {args.threads} threads, load {load_before:.1f} → {load_after:.1f}\n")
    print("| model | test | depth | llama-bench tok/s | Raconteur tok/s | ratio |")
    print("|---|---|---|---|---|---|")
    for row in results:
        print(f"| {row['model']} | {row['test']} | {row['depth']} | "
              f"{row['llama_bench_mean']:.1f} ± {statistics.stdev(row['llama_bench_ts']):.1f} | "
              f"{row['raconteur_mean']:.1f} ± {statistics.stdev(row['raconteur_ts']):.1f} | {row['ratio']:.2f}× |")
    if args.json:
        Path(args.json).write_text(json.dumps({"date": started, "commit": commit, "threads": args.threads,
                                               "load": [load_before, load_after], "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
