#!/usr/bin/env python3
"""The concise-vs-detailed RACO experiment on SmolLM2-135M (issue 6's "must show").

1. Preference data from the model's own completions, labelled by the judges of clients/python/judges.py
   (build_preferences.py; skipped when the file exists).
2. `raconteur align --method raco` over the weight grid (1,0); (0.5,0.5); (0,1) → adapters + report.json.
3. Held-out preference accuracy per objective before/after, from report.json.
4. Greedy generations on unseen prompts (prompts.EVAL) under the base model and the w=(1,0) and w=(0,1)
   adapters (`raconteur generate --adapter FILE`), scored by the judges.
Prints a table and writes benchmarks/alignment/results/<name>.json.

usage: run_experiment.py --raconteur BIN [--model GGUF] [--work DIR] [--steps 32] [--lr 3e-4] [--beta 0.2] ...
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
sys.path.insert(0, HERE)
from build_preferences import generate  # noqa: E402
from judges import JUDGES, concise, detailed  # noqa: E402
from prompts import EVAL, chatml  # noqa: E402

OBJECTIVES = ["concise", "detailed"]
GRID = [(1.0, 0.0), (0.5, 0.5), (0.0, 1.0)]


def file_name(weights):
    return "-".join(f"{o}{w:.2f}" for o, w in zip(OBJECTIVES, weights)) + ".gguf"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raconteur", required=True, help="raconteur executable")
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--work", default=os.path.join(ROOT, "runs", "alignment"), help="data and adapters go here")
    parser.add_argument("--data", help="preference JSONL (default: WORK/prefs.jsonl, built when missing)")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--beta", type=float, default=0.2)
    parser.add_argument("--c", type=float, default=0.4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--held-out", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-max-tokens", type=int, default=96)
    parser.add_argument("--name", default="smollm2_concise_detailed")
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    started = time.time()
    timings = {}
    data = args.data or os.path.join(args.work, "prefs.jsonl")
    if not os.path.exists(data):
        t = time.time()
        subprocess.run([sys.executable, os.path.join(HERE, "build_preferences.py"), "--raconteur", args.raconteur,
                        "--model", args.model, "--out", data, "--threads", str(args.threads)], check=True)
        timings["build_preferences_s"] = round(time.time() - t, 1)
    with open(data) as f:
        rows = [json.loads(line) for line in f if line.strip()]

    out = os.path.join(args.work, "adapters")
    align = [args.raconteur, "align", "--model", args.model, "--data", data, "--objectives", ",".join(OBJECTIVES),
             "--weights", ";".join(",".join(str(w) for w in ws) for ws in GRID), "--method", "raco", "--out", out,
             "--steps", str(args.steps), "--warmup", str(args.warmup), "--batch", str(args.batch), "--lr", str(args.lr), "--beta", str(args.beta),
             "--c", str(args.c), "--rank", str(args.rank), "--held-out", str(args.held_out), "--seed", str(args.seed),
             "--threads", str(args.threads)]
    print("$ " + " ".join(align), flush=True)
    t = time.time()
    load_before = loadavg()
    subprocess.run(align, check=True)
    timings["align_s"] = round(time.time() - t, 1)
    load_after = loadavg()
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)

    # Generations on unseen prompts, greedy, scored by the judges.
    t = time.time()
    variants = {"base": None, "w=(1,0)": file_name(GRID[0]), "w=(0,1)": file_name(GRID[2])}
    generations = {}
    for label, adapter in variants.items():
        texts = []
        for question in EVAL:
            texts.append(generate(args.raconteur, args.model, chatml(question), seed=0, temperature=0,
                                  max_tokens=args.eval_max_tokens, threads=args.threads,
                                  adapters=[os.path.join(out, adapter)] if adapter else []))
        generations[label] = texts
        print(f"generated {len(texts)} answers under {label}", flush=True)
    timings["evaluation_s"] = round(time.time() - t, 1)

    def summary(texts):
        return {
            "mean_words": statistics.mean(len(x.split()) for x in texts),
            "mean_concise_score": statistics.mean(concise(x) for x in texts),
            "mean_detailed_score": statistics.mean(detailed(x) for x in texts),
        }

    scores = {label: summary(texts) for label, texts in generations.items()}
    shorter = sum(1 for a, b in zip(generations["w=(1,0)"], generations["w=(0,1)"]) if len(a.split()) < len(b.split()))
    richer = sum(1 for a, b in zip(generations["w=(1,0)"], generations["w=(0,1)"]) if detailed(a) < detailed(b))

    print()
    print(f"data: {len(rows)} preference rows ({report['trainRows']} train, {report['heldOutRows']} held out); "
          f"method raco, {args.steps} steps x batch {args.batch}, lr {args.lr}, beta {args.beta}, c {args.c}, "
          f"rank {args.rank}")
    print(f"{'weights':<12}{'held-out acc concise':>24}{'held-out acc detailed':>24}{'held-out margin':>17}{'tok/s':>8}")
    for run in report["runs"]:
        w = "(" + ",".join(f"{x:g}" for x in run["weights"]) + ")"
        cells = [f"{run['heldOutAccuracyBefore'].get(o, float('nan')):.2f} -> {run['heldOutAccuracyAfter'].get(o, float('nan')):.2f}"
                 for o in OBJECTIVES]
        print(f"{w:<12}{cells[0]:>24}{cells[1]:>24}{run['heldOutMeanMargin']:>+17.2f}{run['tokensPerSecond']:>8.0f}")
    print()
    print(f"{'generations':<12}{'mean words':>12}{'concise score':>15}{'detailed score':>16}   ({len(EVAL)} unseen prompts, greedy)")
    for label, s in scores.items():
        print(f"{label:<12}{s['mean_words']:>12.1f}{s['mean_concise_score']:>15.1f}{s['mean_detailed_score']:>16.1f}")
    print(f"w=(1,0) shorter than w=(0,1) on {shorter}/{len(EVAL)} prompts; fewer distinct content words on {richer}/{len(EVAL)}")

    timings["total_s"] = round(time.time() - started, 1)
    result = {
        "command": " ".join(align),
        "machine": {"platform": platform.platform(), "cores": os.cpu_count(),
                    "load_before_align": load_before, "load_after_align": load_after},
        "data": {"rows": len(rows), "path": os.path.relpath(data, ROOT)},
        "report": report,
        "generation_scores": scores,
        "w10_shorter_than_w01": shorter,
        "w10_fewer_content_words_than_w01": richer,
        "eval_prompts": EVAL,
        "generations": generations,
        "timings": timings,
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", args.name + ".json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {path} ({timings['total_s']:.0f} s in all)")


if __name__ == "__main__":
    main()
