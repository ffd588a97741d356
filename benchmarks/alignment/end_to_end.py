#!/usr/bin/env python3
"""Online realignment end to end (issue 7's proof), in one command.

Per method (--methods raco,dpo-lw,cagrad; default raco):
1. Start `raconteur serve` from nothing: a fresh adapters directory and feedback store (--objectives
   concise,detailed). Greedy answers to the held-out prompts under the base model, and serving latency at idle
   (requests one at a time, a pause between them, the same shape as during the job).
2. Feedback. The first method's server gets it from the simulated user (clients/python/simulated_user.py: n = 2
   answers per prompt plus brevity-hint contrast pairs, labelled by the judges, posted through the public API);
   the export (GET /v1/feedback/export) is kept and every later method's fresh server gets exactly those pairs,
   posted by text — the same data for every method. --feedback FILE reuses an earlier export for all methods.
3. POST /v1/realign over the 5-point grid w = (1,0), (0.75,0.25), (0.5,0.5), (0.25,0.75), (0,1) with the same
   budget per method; while it trains a client keeps sending requests (one at a time, --load-interval s apart)
   and every one of them is timed: latency during the job vs. at idle.
4. After the job succeeds: the adapters listed, then greedy answers to the held-out prompts under tradeoff
   concise = 1, 0.75, 0.5, 0.25, 0, scored by both judges: the front (mean concise and mean detailed score per
   weight) and whether it moves monotonically.
Then: hypervolume of each method's front after min-max normalising both judges over every observed point (base
model included); reference point = the worst observed value of each judge minus 10 % of its range. Writes
benchmarks/alignment/results/e2e_<name>.json and the section "## Online realignment (end to end)" at the end of
docs/ALIGNMENT.md (--no-doc: don't).

usage: end_to_end.py [--bin RACONTEUR] [--methods raco,dpo-lw,cagrad] [--prompts 40] [--rounds 1]
                     [--max-tokens 48] [--steps N] [--learning-rate LR] [--beta B] [--c C] [--batch-size 4]
                     [--eval-prompts 12] [--eval-max-tokens 64] [--feedback FILE] [--name NAME]
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "Tests" / "Python"))
from e2e_common import (GRID, HELD_OUT, Load, OBJECTIVES, distinct_sentence_fraction, generate_front,  # noqa: E402
                        latency_summary,
                        monotonic, normalised_hypervolumes, probe, run_job)
from simulated_user import FeedbackAPI, PROMPTS, simulate  # noqa: E402

SECTION = "## Online realignment (end to end)"
WEIGHTS = [w[0] for w in GRID]   # w_concise of each grid point, 1 → 0


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def log(message: str):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def start_server(work: Path, method: str):
    from raconteur_server import Server
    directory = work / method
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "adapters").mkdir(parents=True)
    return Server("--objectives", ",".join(OBJECTIVES), adapters=directory / "adapters",
                  store=directory / "store.sqlite")


def idle_latency(client, model, count: int, interval: float, max_tokens: int) -> list:
    probes = []
    for i in range(count):
        probes.append(probe(client, model, HELD_OUT[i % len(HELD_OUT)], w_concise=0.5, max_tokens=max_tokens))
        time.sleep(interval)
    return probes


def run_method(method: str, args, work: Path, feedback_rows: list[dict] | None) -> tuple[dict, list[dict]]:
    """One fresh server, feedback, one realign job under load, the front. Returns (result, feedback rows)."""
    from openai import OpenAI
    result = {"method": method, "load_before": loadavg()}
    server = start_server(work, method)
    try:
        client = OpenAI(base_url=server.base_url, api_key="none", max_retries=0, timeout=600)
        api = FeedbackAPI(server.base_url)
        model = client.models.list().data[0].id
        status, adapters = api.request("GET", "/adapters")
        result["adapters_at_start"] = [a.get("id") for a in adapters.get("data", [])] if status == 200 else adapters
        log(f"{method}: server on {server.root}, adapters at start: {result['adapters_at_start']}")

        eval_prompts = HELD_OUT[:args.eval_prompts]
        t = time.time()
        result["base"] = generate_front(client, model, [None], eval_prompts, max_tokens=args.eval_max_tokens)["base"]
        result["base_eval_s"] = round(time.time() - t, 1)
        log(f"{method}: base model: concise {result['base']['mean_concise']:.1f}, "
            f"detailed {result['base']['mean_detailed']:.1f}, words {result['base']['mean_words']:.1f}")
        result["latency_idle"] = idle_latency(client, model, args.idle_requests, args.load_interval,
                                              args.load_max_tokens)

        # Feedback: simulated once, replayed by text afterwards.
        t = time.time()
        if feedback_rows is None:
            summary = simulate(server.base_url, prompts=PROMPTS[:args.prompts], rounds=args.rounds,
                               max_tokens=args.max_tokens, seed=args.seed, log=log)
            result["simulated_user"] = summary.as_dict()
            log(f"{method}: simulated user: {summary.text()}")
            feedback_rows = api.export()
        else:
            refused = {}
            for row in feedback_rows:
                s, body = api.post_feedback({k: row[k] for k in ("prompt", "chosen", "rejected", "labels")})
                if s != 201:
                    key = f"{s} {(body.get('error') or {}).get('code')}"
                    refused[key] = refused.get(key, 0) + 1
            result["replayed"] = {"rows": len(feedback_rows), "refused": refused}
            log(f"{method}: replayed {len(feedback_rows)} pairs by text, refused {refused or 0}")
        result["feedback_s"] = round(time.time() - t, 1)
        status, listing = api.request("GET", "/feedback?limit=1")
        result["feedback_total"] = listing.get("total")

        body = {"method": method, "weights": GRID, "steps": args.steps, "min_pairs": 16,
                "learning_rate": args.learning_rate, "beta": args.beta, "c": args.c, "rank": args.rank,
                "batch_size": args.batch_size, "held_out": args.held_out, "seed": args.seed}
        result["realign_request"] = body
        log(f"{method}: POST /v1/realign {json.dumps(body)} (load {loadavg()})")
        t = time.time()
        with Load(client, model, w_concise=0.5, max_tokens=args.load_max_tokens, interval=args.load_interval) as load:
            status, created, job = run_job(api, body, poll=5, timeout=args.job_timeout, log=log)
        result["job_wall_s"] = round(time.time() - t, 1)
        result["realign_status"] = status
        result["job"] = {k: job.get(k) for k in ("id", "state", "created", "started", "finished", "error",
                                                 "pairs_used", "report")} if isinstance(job, dict) else job
        result["load_after_job"] = loadavg()
        result["latency_during"] = load.probes
        log(f"{method}: job {job.get('state')} in {result['job_wall_s']} s; {job.get('error') or ''}")
        if status != 202 or job.get("state") != "succeeded":
            result["server_log_tail"] = "".join(server.log[-60:])
            return result, feedback_rows

        status, adapters = api.request("GET", "/adapters")
        result["adapters_after"] = [{k: a.get(k) for k in ("id", "version", "objectives", "weights")}
                                    for a in adapters.get("data", [])] if status == 200 else adapters
        t = time.time()
        front = generate_front(client, model, WEIGHTS, eval_prompts, max_tokens=args.eval_max_tokens)
        result["eval_s"] = round(time.time() - t, 1)
        result["front"] = front
        result["monotonic"] = monotonic(front, WEIGHTS)
        # Issue 7's check: the answers under concise = 1, 0.5, 0 move monotonically between the objectives.
        result["monotonic_1_05_0"] = monotonic(front, [1.0, 0.5, 0.0])
        for w in WEIGHTS:
            p = front[f"{w:g}"]
            log(f"{method}: w_concise {w:<4}: concise {p['mean_concise']:7.2f}  detailed {p['mean_detailed']:6.2f}  "
                f"words {p['mean_words']:6.2f}  adapters {[(a['id'], a['scale']) for a in p['mixture'].get('adapters', [])]}")
        log(f"{method}: monotonic {result['monotonic']}; over 1, 0.5, 0: {result['monotonic_1_05_0']}")
        return result, feedback_rows
    finally:
        server.stop()


def serialisable(result: dict) -> dict:
    out = dict(result)
    for key in ("latency_idle", "latency_during"):
        if key in out:
            probes = out[key]
            out[key] = {"summary": latency_summary(probes),
                        "probes": [{"t": round(p.started, 2), "s": round(p.seconds, 3), "ok": p.ok, "error": p.error,
                                    "adapters": p.adapters} for p in probes]}
    return out


def markdown(run: dict) -> str:
    args, results, hv = run["args"], run["results"], run["hypervolume"]
    lines = [SECTION, "",
             "Issue 7's proof, produced by one command (numbers below from "
             f"`{run['command']}`, {run['date']}, {run['machine']}):", "",
             "    python benchmarks/alignment/end_to_end.py --bin .build/release/raconteur --methods raco,dpo-lw,cagrad", "",
             "Per method a fresh `raconteur serve` (SmolLM2-135M-Instruct Q4_1, `--threads 2`, empty adapters directory "
             "and store) gets the same feedback, trains one realign job over the 5-point grid with the same budget while "
             "a client keeps sending requests, hot-swaps the promoted adapters in, and answers the held-out prompts "
             "(greedy) under `tradeoff` concise = 1, 0.75, 0.5, 0.25, 0. Scores are the judges of "
             "`clients/python/judges.py` (concise = −words; detailed = distinct content words), averaged over "
             f"{args['eval_prompts']} held-out prompts, answers capped at {args['eval_max_tokens']} tokens.", ""]
    first = results[0]
    su = first.get("simulated_user") or {}
    lines += [f"**Feedback.** `clients/python/simulated_user.py` on {args['prompts']} prompts × {args['rounds']} round(s), "
              f"answers of at most {args['max_tokens']} tokens at temperature 1: {first.get('feedback_total')} pairs stored "
              f"({su.get('posted_by_id')} n = 2 pairs by completion id, {su.get('posted_by_text')} plain-vs-brief contrast "
              f"pairs by text; {su.get('skipped_tie', 0)} ties and {su.get('skipped_identical', 0)} identical pairs skipped). "
              f"Labels (+1 / −1 / 0): " + "; ".join(f"{name} {c.get('+1')} / {c.get('-1')} / {c.get('0')}"
                                              for name, c in (su.get('labels') or {}).items()) +
              f". Mean words: plain answers {su.get('mean_words_plain')}, brevity-hint "
              f"answers {su.get('mean_words_brief')}. " +
              ("The pairs were collected once by the simulated user (in an earlier run of this script, against a raco "
               "server; exported to `" + run.get("feedback_file", "") + "`) and posted by text into every method's "
               "fresh server, so all methods train on identical data." if args.get("feedback") else
               "The other methods' servers got the exported pairs posted by text."), "",
              f"**Budget (every method).** {args['steps']} steps per weight vector, batch {args['batch_size']}, "
              f"learning rate {args['learning_rate']}, β {args['beta']}, c {args['c']}, rank {args['rank']}, held-out "
              f"fraction {args['held_out']}, seed {args['seed']}; training on 1 thread (the `[realign]` default) "
              "while serving keeps both cores.", ""]
    header = "| method | " + " | ".join(f"w_concise = {w:g}" for w in WEIGHTS) + " | base model |"
    lines += ["**Fronts**: mean concise score / mean detailed score (mean words) per trade-off.", "", header,
              "|---" * (len(WEIGHTS) + 2) + "|"]
    for r in results:
        base = r.get("base")
        base_cell = f"{base['mean_concise']:.1f} / {base['mean_detailed']:.1f} ({base['mean_words']:.1f})" if base else "–"
        if "front" not in r:
            lines.append(f"| {r['method']} | " + " | ".join("–" for _ in WEIGHTS) + f" | {base_cell} |")
            continue
        cells = [f"{r['front'][f'{w:g}']['mean_concise']:.1f} / {r['front'][f'{w:g}']['mean_detailed']:.1f} "
                 f"({r['front'][f'{w:g}']['mean_words']:.1f})" for w in WEIGHTS]
        lines.append(f"| {r['method']} | " + " | ".join(cells) + f" | {base_cell} |")
    lines += ["", "**Coherence** (not judged): mean fraction of distinct sentences per answer (1.00 = no sentence "
              "repeated; 0.12 = one sentence eight times).", "",
              "| method | " + " | ".join(f"w_concise = {w:g}" for w in WEIGHTS) + " | base model |",
              "|---" * (len(WEIGHTS) + 2) + "|"]
    for r in results:
        def coherence(point):
            texts = list((point or {}).get("texts", {}).values())
            return f"{sum(map(distinct_sentence_fraction, texts)) / len(texts):.2f}" if texts else "–"
        cells = [coherence((r.get("front") or {}).get(f"{w:g}")) for w in WEIGHTS]
        lines.append(f"| {r['method']} | " + " | ".join(cells) + f" | {coherence(r.get('base'))} |")
    lines += ["", "**Held-out preference accuracy** after training (concise / detailed, from the job report; every run "
              "starts at 0.50 / 0.50): the fraction of held-out pairs whose log-ratio margin has the label's sign.", "",
              "| method | " + " | ".join(f"w = ({w:g}, {1 - w:g})" for w in WEIGHTS) + " |",
              "|---" * (len(WEIGHTS) + 1) + "|"]
    for r in results:
        runs = (((r.get("job") or {}).get("report") or {}).get("training") or {}).get("runs") or []
        by_weight = {round(run["weights"][0], 4): run.get("heldOutAccuracyAfter") or {} for run in runs if run.get("weights")}
        cells = []
        for w in WEIGHTS:
            acc = by_weight.get(round(w, 4))
            cells.append(f"{acc.get('concise', float('nan')):.2f} / {acc.get('detailed', float('nan')):.2f}" if acc else "–")
        lines.append(f"| {r['method']} | " + " | ".join(cells) + " |")
    ref = hv.get("reference_raw") if hv else None
    lines += ["", "**Summary.** Hypervolume of each front (the 5 trade-off points) after min-max normalising both "
              "judges over every observed point of every method and the base model; reference point = worst observed "
              "value minus 10 % of the range" + (f", i.e. concise {ref[0]:.1f}, detailed {ref[1]:.1f} in raw scores; "
                                                 f"the largest possible value is {hv['max_possible']:.2f}" if ref else "") +
              ". Monotone: concise score never falls and detailed never rises as w_concise grows, over the three "
              "trade-offs concise = 0, 0.5, 1 (the issue's check) and over all five points (wrong steps of 4).", "",
              "| method | hypervolume | monotone over 0, 0.5, 1 (concise, detailed) | over 5 points | job | promoted / kept | serving latency idle → during job (median, p90, max; s) | requests during job (failed) |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        m = r.get("monotonic") or {}
        m3 = r.get("monotonic_1_05_0") or (monotonic(r["front"], [1.0, 0.5, 0.0]) if r.get("front") else {})
        job = r.get("job") or {}
        report = job.get("report") or {}
        idle = r["latency_idle"]["summary"] if isinstance(r.get("latency_idle"), dict) else {}
        during = r["latency_during"]["summary"] if isinstance(r.get("latency_during"), dict) else {}
        hv_value = (hv or {}).get("per_method", {}).get(r["method"])
        lines.append(
            f"| {r['method']} | {hv_value:.3f} | " if hv_value is not None else f"| {r['method']} | – | ")
        lines[-1] += (f"{'yes' if m3.get('concise_nondecreasing') else 'no'}, "
                      f"{'yes' if m3.get('detailed_nonincreasing') else 'no'} | "
                      f"{'yes' if m.get('concise_nondecreasing') else 'no'} ({m.get('wrong_steps_concise', '–')}), "
                      f"{'yes' if m.get('detailed_nonincreasing') else 'no'} ({m.get('wrong_steps_detailed', '–')}) | "
                      f"{job.get('state')}, {report.get('seconds', 0):.0f} s | "
                      f"{len(report.get('promoted', []))} / {len(report.get('kept', []))} | "
                      f"{idle.get('median_s')}, {idle.get('p90_s')}, {idle.get('max_s')} → "
                      f"{during.get('median_s')}, {during.get('p90_s')}, {during.get('max_s')} | "
                      f"{during.get('requests')} ({during.get('failed')}) |")
    lines += ["", f"Raw results: `benchmarks/alignment/results/e2e_{run['name']}.json` (every answer, every timed "
              "request, the job reports with held-out accuracies). Load average before/after each job: " +
              "; ".join(f"{r['method']} {r.get('load_before')} / {r.get('load_after_job')}" for r in results) + ".", ""]
    if run.get("notes"):
        lines += [run["notes"], ""]
    lines += HOW_TO
    return "\n".join(lines)


HOW_TO = [
    "**How the pieces fit.** `clients/python/simulated_user.py` is the user: per prompt one chat request with n = 2 "
    "(temperature 1, top-p 0.95, seed per prompt; choice i samples with seed + i), the two answers labelled by the "
    "judges and posted by completion id; then the same question with \"Answer in one short sentence.\" appended, "
    "and each plain answer paired with the brief answer of the same seed, posted by text under the plain prompt. The "
    "contrast pairs are there because SmolLM2 nearly always runs to `max_tokens`, so n = 2 pairs alone differ little "
    "in length and give a weak, noisy length signal. It runs on its own against any server: "
    "`python clients/python/simulated_user.py --base-url http://127.0.0.1:8080/v1 --rounds 1 --max-tokens 48 --seed 0`.",
    "",
    "**Choosing the budget.** With the `[realign]` defaults (learning rate 5e-4, β 0.2, 40 steps) a job over 5 grid "
    "points takes far longer than the 10–20 minutes aimed at here (training runs on one thread; a step of 4 pairs is "
    "~700 tokens). Earlier runs on the same feedback, all with answers judged at a cap of 64 tokens: 8 steps at 2e-3 "
    "moved too little (words 42.9, 52.1, 47.8, 53.4, 52.9 for w_concise = 1 … 0; base 53.2); 6 steps at 5e-3 moved "
    "more but out of order (43.8, 51.0, 35.5, 54.9, 54.7); 2 steps at 1e-2 ordered the held-out accuracies by w but "
    "collapsed the concise end into one repeated sentence (\"You can't do it.\" over and over) — hypervolumes then "
    "raco 0.326, dpo-lw 0.486, cagrad 0.324, no front monotone. 4 steps at 3e-3 keeps the answers coherent and moves "
    "both ends, but at a 64-token cap the detailed end could not get longer than the base model, whose answers "
    "already ran to the cap (53 words), so the three right-hand points tied within noise (words 53.4, 54.1, 51.1). "
    "Judging at 128 tokens, above the base model's usual length (95 words), lets the detailed adapters show. At 4 "
    "steps (16 pairs seen per grid point) whether the front came out monotone depended on which pairs trained: with "
    "the held-out split by row all three methods were monotone over concise = 1, 0.5, 0 "
    "(`e2e_smollm2_4steps.json`), with the split by prompt none was on the detailed judge. 8 steps at 3e-3, with "
    "the 128-token cap, are this script's defaults.",
    "",
    "**Promotion.** A grid point is promoted only when its held-out ranking accuracy — how often log π(A|x) − "
    "log π(B|x) has the label's sign, weighted by its w — is at least that of the policy it started from "
    "(`heldOutLogRatioAccuracyBefore/After` in the job report; the table above shows the DPO-margin accuracy, which "
    "starts at 0.50). The judges disagree on almost every pair, so for the middle of the grid the weighted change "
    "can be slightly negative: that point is then kept (not promoted) and its trade-off is served by interpolating "
    "the neighbouring promoted adapters (rewarded-soups style), as the mixtures in the results file show.",
    "",
    "**Tests.** `RACONTEUR_BIN=.build/release/raconteur python -m pytest Tests/Python/test_end_to_end.py` runs the "
    "same flow with a small budget (8 prompts → ~23 pairs, 2 steps per grid point at learning rate 1e-2, no held-out "
    "split so that every point is promoted; answers under concise = 1, 0.5, 0 must get longer and richer within a "
    "2-word tolerance per step and spread at least 5 words end to end) and a kill -9 test (a job killed while it "
    "trains: on restart the feedback is all there, the job is failed with \"interrupted by a server restart\", the "
    "adapter that served before still serves, a half-written adapter file is not loaded, and a new job can start). "
    "Measured: release build 191 s and 17 s (load average ~5 from other work), 98 s and 5 s in a later, quieter "
    "run; debug build 526 s and 8 s while one "
    "of the benchmark's jobs trained alongside (load ~7). Both builds gave the same answers (mean words 13.2, 27.0, "
    "43.2 for concise = 1, 0.5, 0; detailed scores 8.8, 11.5, 10.8 — the 0.5 → 0 step is inside the tolerance; "
    "coherence 0.88, 1.00, 1.00).",
    "",
]


def write_section(doc: Path, text: str):
    """Replaces this script's section (from its heading to the end of the file) or appends it."""
    content = doc.read_text() if doc.exists() else ""
    at = content.find("\n" + SECTION)
    head = content[:at + 1] if at >= 0 else content.rstrip("\n") + "\n\n"
    doc.write_text(head + text.rstrip("\n") + "\n")


def write_outputs(args, argv, results: list, feedback_rows, started: float):
    """Hypervolumes over the methods so far, the results JSON and (unless --no-doc) the doc section."""
    fronts = {}
    for r in results:
        if "front" in r:
            fronts[r["method"]] = [(p["mean_concise"], p["mean_detailed"]) for p in r["front"].values()]
    hv = None
    if fronts:
        bases = [(r["base"]["mean_concise"], r["base"]["mean_detailed"]) for r in results if r.get("base")]
        hv = normalised_hypervolumes({**fronts, "_base": bases})
        hv["per_method"].pop("_base", None)
        log("hypervolumes: " + ", ".join(f"{m} {v:.3f}" for m, v in hv["per_method"].items()))

    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    # Replayed feedback is referred to where it is; simulated feedback is exported beside the results.
    feedback_file = args.feedback.resolve() if args.feedback else results_dir / f"e2e_{args.name}_feedback.jsonl"
    if feedback_rows and not args.feedback:
        feedback_file.write_text("".join(json.dumps(row) + "\n" for row in feedback_rows))
    binary = Path(os.environ.get("RACONTEUR_BIN", "debug build"))
    run = {"name": args.name, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": "python benchmarks/alignment/end_to_end.py " + " ".join(argv or sys.argv[1:]),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {loadavg()} at the end",
           "binary": str(binary),
           "binary_sha256": hashlib.sha256(binary.read_bytes()).hexdigest() if binary.exists() else None,
           "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
           "feedback_file": str(feedback_file.relative_to(ROOT)), "feedback_rows": len(feedback_rows or []),
           "hypervolume": hv, "seconds": round(time.time() - started, 1), "results": results, "notes": args.notes}
    out = results_dir / f"e2e_{args.name}.json"
    out.write_text(json.dumps(run, indent=1, default=str) + "\n")
    log(f"wrote {out.relative_to(ROOT)} ({run['seconds']} s so far)")
    text = markdown(run)
    print(text, flush=True)
    if not args.no_doc:
        write_section(ROOT / "docs" / "ALIGNMENT.md", text)
        log("updated docs/ALIGNMENT.md")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", help="raconteur executable (default: RACONTEUR_BIN, else the debug build)")
    parser.add_argument("--methods", default="raco")
    parser.add_argument("--prompts", "--pairs", type=int, default=32,
                        help="feedback prompts (each gives up to 3 pairs)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=48, help="longest simulated-user answer")
    parser.add_argument("--steps", type=int, default=8, help="optimiser steps per weight vector")
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--c", type=float, default=0.4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--held-out", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-prompts", type=int, default=12)
    parser.add_argument("--eval-max-tokens", type=int, default=128,
                        help="answer cap when judging the front: above the base model's typical length (~95 words), "
                             "so that the detailed end is not cut off at the cap")
    parser.add_argument("--load-interval", type=float, default=3.0, help="pause between requests during the job (s)")
    parser.add_argument("--load-max-tokens", type=int, default=32)
    parser.add_argument("--idle-requests", type=int, default=8)
    parser.add_argument("--job-timeout", type=float, default=3600)
    parser.add_argument("--feedback", type=Path, help="a feedback export (JSONL) to post instead of simulating")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "raconteur-e2e")
    parser.add_argument("--name", default="smollm2")
    parser.add_argument("--notes", default="", help="a paragraph added under the tables")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--from-json", type=Path, help="only re-render the doc section from an earlier results file")
    args = parser.parse_args(argv)
    if args.from_json:
        run = json.loads(args.from_json.read_text())
        if args.notes:
            run["notes"] = args.notes
        text = markdown(run)
        print(text)
        if not args.no_doc:
            write_section(ROOT / "docs" / "ALIGNMENT.md", text)
        return 0
    if args.bin:
        os.environ["RACONTEUR_BIN"] = str(Path(args.bin).resolve())
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.work.mkdir(parents=True, exist_ok=True)

    started = time.time()
    feedback_rows = None
    feedback_summary = None
    if args.feedback:
        feedback_rows = [json.loads(line) for line in args.feedback.read_text().splitlines() if line.strip()]
        # The simulated user's summary of the run that produced the export, when it was kept beside it.
        sidecar = args.feedback.with_suffix(".summary.json")
        if sidecar.exists():
            feedback_summary = json.loads(sidecar.read_text())
    results = []
    for method in methods:
        result, feedback_rows = run_method(method, args, args.work, feedback_rows)
        if feedback_summary and not results:
            result["simulated_user"] = feedback_summary
        results.append(serialisable(result))
        # Written after every method, so that an interrupted run still leaves its results.
        write_outputs(args, argv, results, feedback_rows, started)
    ok = all(r.get("job", {}).get("state") == "succeeded" for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
