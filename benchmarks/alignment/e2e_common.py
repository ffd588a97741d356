"""Shared pieces of the online-realignment end-to-end proof (benchmarks/alignment/end_to_end.py and
Tests/Python/test_end_to_end.py): the weight grid, held-out prompts, a realign-job driver that keeps serving
requests while the job trains and times them, front evaluation with the judges, monotonicity and hypervolume.
"""
from __future__ import annotations

import re
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
from judges import concise, detailed  # noqa: E402
from simulated_user import PROMPTS, FeedbackAPI  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prompts import EVAL  # noqa: E402

OBJECTIVES = ["concise", "detailed"]
# The 5-point grid of issue 7, as (w_concise, w_detailed).
GRID = [[1.0, 0.0], [0.75, 0.25], [0.5, 0.5], [0.25, 0.75], [0.0, 1.0]]

# Unseen during feedback collection: the front is measured on these (the offline experiment's evaluation prompts).
HELD_OUT = list(EVAL)
assert not set(HELD_OUT) & set(PROMPTS), "held-out prompts must not be feedback prompts"


def tradeoff(w_concise: float) -> dict:
    return {"concise": w_concise, "detailed": round(1.0 - w_concise, 6)}


def words(text: str) -> int:
    return len(text.split())


def distinct_sentence_fraction(text: str) -> float:
    """Distinct sentences / sentences (split at '.' and newlines): 1.0 for an answer that never repeats itself, 1/8
    for one sentence said eight times. The judges count words only; this catches a collapsed policy."""
    parts = [p.strip() for p in re.split(r"[.\n]", text) if p.strip()]
    return len(set(parts)) / len(parts) if parts else 1.0


@dataclass
class Probe:
    """One request sent while measuring serving latency."""
    started: float
    seconds: float
    ok: bool
    error: str | None = None
    adapters: list = field(default_factory=list)
    completion_tokens: int = 0


def chat(client, model: str, question: str, *, w_concise: float | None, max_tokens: int, seed: int = 0,
         temperature: float = 0.0):
    """One chat completion (greedy by default), with the trade-off when given."""
    extra = {"tradeoff": tradeoff(w_concise)} if w_concise is not None else None
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": question}],
                                          max_tokens=max_tokens, temperature=temperature, seed=seed,
                                          extra_body=extra)


def probe(client, model: str, question: str, *, w_concise: float | None, max_tokens: int) -> Probe:
    """Times one request; failures are recorded, not raised."""
    t0 = time.time()
    try:
        response = chat(client, model, question, w_concise=w_concise, max_tokens=max_tokens)
        mixture = response.model_extra.get("mixture") or {}
        return Probe(t0, time.time() - t0, True,
                     adapters=[(a["id"], a["version"], round(a["scale"], 3)) for a in mixture.get("adapters", [])],
                     completion_tokens=response.usage.completion_tokens if response.usage else 0)
    except Exception as error:  # noqa: BLE001 - every failure counts against serving
        return Probe(t0, time.time() - t0, False, error=f"{type(error).__name__}: {error}")


class Load:
    """Sends one request at a time (then waits `interval` s: a user reading the answer) until stopped."""

    def __init__(self, client, model: str, *, w_concise: float | None = 0.5, max_tokens: int = 32,
                 interval: float = 2.0, prompts=HELD_OUT):
        self.client, self.model, self.w, self.max_tokens, self.interval = client, model, w_concise, max_tokens, interval
        self.prompts = prompts
        self.probes: list[Probe] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        while not self._stop.is_set():
            self.probes.append(probe(self.client, self.model, self.prompts[i % len(self.prompts)],
                                     w_concise=self.w, max_tokens=self.max_tokens))
            i += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=600)


def latency_summary(probes: list[Probe]) -> dict:
    ok = [p.seconds for p in probes if p.ok]
    if not ok:
        return {"requests": len(probes), "failed": len(probes)}
    ok_sorted = sorted(ok)
    tokens = sum(p.completion_tokens for p in probes if p.ok)
    return {"requests": len(probes), "failed": sum(not p.ok for p in probes),
            "mean_s": round(statistics.mean(ok), 3), "median_s": round(statistics.median(ok), 3),
            "p90_s": round(ok_sorted[min(len(ok_sorted) - 1, int(0.9 * len(ok_sorted)))], 3),
            "max_s": round(max(ok), 3), "tokens_per_s": round(tokens / sum(ok), 2) if sum(ok) else None}


def run_job(api: FeedbackAPI, body: dict, *, poll: float = 5.0, timeout: float = 3600, log=print,
            on_poll=None) -> tuple[int, dict, dict]:
    """Starts a realign job and waits for it to end. Returns (POST status, POST body, final job object)."""
    status, created = api.request("POST", "/realign", body)
    if status != 202:
        return status, created, created
    job_id = created["id"]
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        s, job = api.request("GET", f"/realign/{job_id}")
        if s != 200:
            raise RuntimeError(f"GET /v1/realign/{job_id}: {s} {job}")
        if on_poll:
            on_poll(job)
        progress = job.get("progress") or {}
        line = (f"  job {job_id}: {job['state']}, weight {progress.get('weightIndex')}, "
                f"step {progress.get('step')}/{progress.get('totalSteps')}")
        if line != last:
            log(line)
            last = line
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return status, created, job
        time.sleep(poll)
    raise TimeoutError(f"realign job {job_id} still {job['state']} after {timeout} s")


def generate_front(client, model: str, weights: list[float], prompts: list[str], *, max_tokens: int,
                   workers: int = 4, seed: int = 0) -> dict:
    """Greedy answers to `prompts` under each w_concise (None: no trade-off), scored by both judges.

    Requests run `workers` at a time (the server batches them); greedy decoding with batch-invariant kernels gives
    the same text however requests are batched.
    """
    jobs = [(w, q) for w in weights for q in prompts]

    def one(job):
        w, q = job
        response = chat(client, model, q, w_concise=w, max_tokens=max_tokens, seed=seed)
        mixture = response.model_extra.get("mixture") or {}
        return w, q, response.choices[0].message.content or "", mixture

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, jobs))
    front = {}
    for w in weights:
        rows = [(q, text, mix) for ww, q, text, mix in results if ww == w]
        texts = [text for _, text, _ in rows]
        front["base" if w is None else f"{w:g}"] = {
            "w_concise": w,
            "mean_concise": statistics.mean(concise(t) for t in texts),
            "mean_detailed": statistics.mean(detailed(t) for t in texts),
            "mean_words": statistics.mean(words(t) for t in texts),
            "words": [words(t) for t in texts],
            "mixture": rows[0][2] if rows else None,
            "texts": {q: t for q, t, _ in rows},
        }
    return front


def monotonic(front: dict, weights: list[float], *, tolerance: float = 0.0) -> dict:
    """Whether, as w_concise grows, the mean concise score never falls and the mean detailed score never rises
    (each step may go the wrong way by at most `tolerance`), and how many steps go the wrong way."""
    ordered = sorted(weights)
    c = [front[f"{w:g}"]["mean_concise"] for w in ordered]
    d = [front[f"{w:g}"]["mean_detailed"] for w in ordered]
    c_bad = sum(1 for a, b in zip(c, c[1:]) if b < a - tolerance)
    d_bad = sum(1 for a, b in zip(d, d[1:]) if b > a + tolerance)
    return {"concise_nondecreasing": c_bad == 0, "detailed_nonincreasing": d_bad == 0,
            "wrong_steps_concise": c_bad, "wrong_steps_detailed": d_bad, "tolerance": tolerance,
            "concise_span": c[-1] - c[0], "detailed_span": d[0] - d[-1]}


def hypervolume_2d(points: list[tuple[float, float]], reference: tuple[float, float]) -> float:
    """Area dominated by `points` (both coordinates maximised) and bounded below by `reference`."""
    pts = sorted({p for p in points if p[0] > reference[0] and p[1] > reference[1]}, key=lambda p: (-p[0], -p[1]))
    area, best_y = 0.0, reference[1]
    for x, y in pts:   # sweep from the largest x: each point adds the strip above the best y so far
        if y > best_y:
            area += (x - reference[0]) * (y - best_y)
            best_y = y
    return area


def normalised_hypervolumes(fronts: dict[str, list[tuple[float, float]]], margin: float = 0.1) -> dict:
    """Hypervolume per method after min-max normalising each judge over every observed point of every method;
    the reference point is (−margin, −margin) in normalised units: the worst observed value of each judge minus
    `margin` of its observed range. The best possible value is (1 + margin)²."""
    xs = [p[0] for pts in fronts.values() for p in pts]
    ys = [p[1] for pts in fronts.values() for p in pts]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx, sy = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    out = {"reference_raw": (x0 - margin * sx, y0 - margin * sy), "range_concise": (x0, x1),
           "range_detailed": (y0, y1), "margin": margin, "max_possible": (1 + margin) ** 2, "per_method": {}}
    for name, pts in fronts.items():
        norm = [((x - x0) / sx, (y - y0) / sy) for x, y in pts]
        out["per_method"][name] = hypervolume_2d(norm, (-margin, -margin))
    return out
