#!/usr/bin/env python3
"""Time from a fresh `raconteur serve` listening to a trade-off that steers, with the starter grid (issue 19).

Starts the server (the binary given, the default configuration: SmolLM2, concise/detailed, `[realign] threads = 1`)
on a free port with an empty adapters directory and store, keeps a light load on it while the starter job trains
(one chat request of at most 32 tokens, then a 2 s pause, as a user reading answers), and records from its log the
moments it listened, started the starter job and finished it. Then greedy answers (at most 128 tokens) to the 12
held-out evaluation prompts under {"concise": 1}, {"detailed": 1} and no trade-off: words per answer, and on how many
prompts the concise answer is shorter than the detailed one. Prints one JSON object; with --out, writes it too.

usage: starter_time_to_steer.py --bin .build/release/raconteur [--starter-steps N] [--out result.json]
"""
import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "Python"))
sys.path.insert(0, str(HERE))
from e2e_common import HELD_OUT, Load, latency_summary, words  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--starter-steps", type=int, default=None)
    parser.add_argument("--out")
    args = parser.parse_args()
    os.environ["RACONTEUR_BIN"] = str(Path(args.bin).resolve())
    from openai import OpenAI
    from raconteur_server import Server

    extra = []
    if args.starter_steps is not None:
        config = Path(tempfile.mkdtemp(prefix="starter-config-")) / "raconteur.toml"
        text = (ROOT / "configs" / "raconteur.toml").read_text()
        config.write_text(re.sub(r"(?m)^starter_steps = \d+", f"starter_steps = {args.starter_steps}", text))
        extra = ["--config", str(config)]
    # The default configuration's threads (0: every core); the helper's --threads 2 is the same on two cores.
    t0 = time.time()
    server = Server(*extra, starter=True)
    try:
        client = OpenAI(base_url=server.base_url, api_key="none", max_retries=0, timeout=600)
        model = client.models.list().data[0].id
        with Load(client, model, w_concise=1.0, max_tokens=32, interval=2.0) as load:
            job = None
            while True:
                status, listing = server.request("GET", "/v1/realign")
                job = listing["data"][0] if listing["data"] else None
                if job and job["state"] not in ("queued", "running"):
                    break
                if time.time() - t0 > 3600:
                    raise RuntimeError("the starter job did not finish within an hour")
                time.sleep(1)
        report = job.get("report") or {}
        fronts = {}
        for label, body in (("concise", {"concise": 1}), ("detailed", {"detailed": 1}), ("base", None)):
            answers = []
            for question in HELD_OUT:
                response = client.chat.completions.create(
                    model=model, messages=[{"role": "user", "content": question}], max_tokens=128, temperature=0,
                    extra_body={"tradeoff": body} if body else None)
                answers.append({"question": question, "text": response.choices[0].message.content,
                                "mixture": response.model_extra.get("mixture")})
            fronts[label] = answers
        concise_words = [words(a["text"]) for a in fronts["concise"]]
        detailed_words = [words(a["text"]) for a in fronts["detailed"]]
        base_words = [words(a["text"]) for a in fronts["base"]]
        result = {
            "job": {"id": job["id"], "state": job["state"], "seconds": report.get("seconds"),
                    "promoted": report.get("promoted"), "kept": report.get("kept"), "request": job["request"],
                    "held_out": [{k: run.get(k) for k in ("fileName", "heldOutAccuracyBefore", "heldOutAccuracyAfter",
                                                             "seconds", "steps")}
                                 for run in (report.get("training") or {}).get("runs", [])]},
            # The job's stored times are whole seconds; listening is when the log line was read.
            "listening_to_job_start_s": round(job["started"] - server.listening_at, 1),
            "listening_to_promotion_s": round(job["finished"] - server.listening_at, 1),
            "load_during_job": latency_summary(load.probes),
            "mean_words": {"concise": statistics.mean(concise_words), "detailed": statistics.mean(detailed_words),
                           "base": statistics.mean(base_words)},
            "concise_shorter_than_detailed": sum(c < d for c, d in zip(concise_words, detailed_words)),
            "prompts": len(HELD_OUT),
            "load_average": os.getloadavg(),
            "answers": fronts,
        }
        summary = {k: v for k, v in result.items() if k != "answers"}
        print(json.dumps(summary, indent=1))
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=1))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
