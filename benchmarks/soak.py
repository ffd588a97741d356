#!/usr/bin/env python3
"""Soak: a long run of a real `raconteur serve` under the traffic an operator worries about (issue 22).

For --minutes (20 by default), 8 clients stream chat completions back to back under random trade-offs; about one
stream in ten is cut by its client after a few chunks (a browser tab closed). Meanwhile one adapter is hot-swapped
--swaps times through POST /v1/adapters (admin), and a realign job trains on stored feedback and promotes its grid.
A sampler reads the server's resident memory and open file descriptors from /proc every few seconds.

Reported (and written as JSON with --json):
- requests by outcome: completed, cut on purpose, failed (any other status, exception or a stream without
  `data: [DONE]`): the target is 0 failed;
- RSS after warm-up (the realign job runs inside it) against RSS at the end (medians of a minute's samples):
  the target is growth < 5 %;
- open descriptors with no client connected, before the load and after it: the target is none leaked (the
  store's pool of reader connections, opened on demand and bounded, is listed apart).

Not a test (it takes 20 minutes); its figures go to docs/BENCHMARKS.md. Run it on a release build:
    python3 benchmarks/soak.py --binary .build/release/raconteur --json benchmarks/results/soak_DATE.json
"""
import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "Python"))

from raconteur_server import MODEL_FILE, Server  # noqa: E402

CLIENTS = 8
OBJECTIVES = ("concise", "detailed")
GRID = ((1.0, 0.0), (0.5, 0.5), (0.0, 1.0))
PROMPTS = ["Name a colour.", "What is rain?", "Say hello.", "Count to five.", "Name a fruit.", "What is a cat?",
           "Give me a word.", "Where is Paris?", "Why is the sky blue?", "How do bees make honey?",
           "What is a river?", "Describe a tree."]


def grid_name(weights):
    return "-".join(f"{name}{w:.2f}" for name, w in zip(OBJECTIVES, weights))


def write_adapter(binary, path, seed, weights=None):
    command = [str(binary), "adapter-init", "--model", str(MODEL_FILE), "--out", str(path), "--rank", "8",
               "--random-b", "0.05", "--seed", str(seed)]
    if weights:
        command += ["--objectives", ",".join(OBJECTIVES), "--weights", ",".join(str(w) for w in weights)]
    subprocess.run(command, check=True, capture_output=True)


@dataclass
class Tally:
    completed: int = 0
    cut: int = 0
    failed: int = 0
    tokens: int = 0
    errors: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome, tokens=0, error=None):
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + 1)
            self.tokens += tokens
            if error and len(self.errors) < 20:
                self.errors.append(error)


def api(port, method, path, body=None, timeout=600):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def stream_once(port, model, rng, tally, cut_fraction):
    """One streamed chat completion; with probability cut_fraction the client hangs up after 1-4 chunks."""
    concise = rng.random()
    body = {"model": model, "stream": True, "max_tokens": rng.randint(16, 64), "temperature": 0.7,
            "seed": rng.randrange(1 << 30), "messages": [{"role": "user", "content": rng.choice(PROMPTS)}],
            "tradeoff": {"concise": concise, "detailed": 1 - concise}}
    cut_after = rng.randint(1, 4) if rng.random() < cut_fraction else None
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/v1/chat/completions", body=json.dumps(body),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        if response.status != 200:
            tally.add("failed", error=f"status {response.status}: {response.read()[:300]!r}")
            return
        chunks, done = 0, False
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: "):
                continue
            if line == "data: [DONE]":
                done = True
                break
            chunks += 1
            if cut_after is not None and chunks >= cut_after:
                break
        if cut_after is not None and not done:
            tally.add("cut")
        elif done:
            tally.add("completed", tokens=chunks)
        else:
            tally.add("failed", error="stream ended without [DONE]")
    except Exception as error:  # noqa: BLE001: every failure is counted, none may stop the soak
        tally.add("failed", error=repr(error))
    finally:
        connection.close()   # a cut stream's socket closes here, mid-generation


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    rss_kb = int(fields["VmRSS"].split()[0])
    threads = int(fields["Threads"])
    descriptors = len(os.listdir(f"/proc/{pid}/fd"))
    return {"t": time.time(), "rss_mb": rss_kb / 1024, "threads": threads, "fds": descriptors}


def idle_descriptors(pid, settle=3.0):
    """What each open descriptor points at, with no client connected."""
    time.sleep(settle)   # closed sockets leave the server's descriptor table once NIO sees the close
    targets = []
    for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass   # closed between listing and reading
    return targets


def descriptor_kinds(targets):
    """Counts of descriptors by what they are: sockets and pipes by kind, files by path."""
    return Counter(re.sub(r":\[\d+\]$", "", target) for target in targets)


def seed_feedback(port, model, pairs):
    """Short-against-long pairs from real completions, enough for the realign job's min_pairs."""
    posted = 0
    for i in range(4 * pairs):   # a pair whose two answers came out the same is refused: try another seed
        if posted == pairs:
            break
        prompt = PROMPTS[i % len(PROMPTS)]
        ids = []
        for max_tokens in (8, 48):
            status, body = api(port, "POST", "/v1/chat/completions",
                               {"model": model, "max_tokens": max_tokens, "temperature": 0.8, "seed": 1000 + i,
                                "messages": [{"role": "user", "content": prompt}], "ignore_eos": max_tokens > 8})
            if status != 200:
                raise RuntimeError(f"seeding failed: {status} {body}")
            ids.append(body["choices"][0]["completion_id"])
        short, long = ids
        status, body = api(port, "POST", "/v1/feedback", {"chosen_id": short, "rejected_id": long,
                                                          "labels": {"concise": 1, "detailed": -1}})
        if status == 201:
            posted += 1
        elif body.get("error", {}).get("code") != "identical_texts":
            raise RuntimeError(f"seeding feedback failed: {status} {body}")
    return posted


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "raconteur"))
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--warmup-minutes", type=float, default=5)
    parser.add_argument("--job-start-minutes", type=float, default=1)
    parser.add_argument("--swaps", type=int, default=10)
    parser.add_argument("--cut-fraction", type=float, default=0.1)
    parser.add_argument("--sample-seconds", type=float, default=5)
    parser.add_argument("--job-steps", type=int, default=8)
    parser.add_argument("--json")
    args = parser.parse_args()
    os.environ["RACONTEUR_BIN"] = args.binary
    binary = Path(args.binary)

    import tempfile
    scratch = Path(tempfile.mkdtemp(prefix="raconteur-soak-"))
    adapters = scratch / "adapters"
    adapters.mkdir()
    for k in range(args.swaps + 1):
        write_adapter(binary, adapters / f"swap-{k}.gguf", seed=100 + k)
    for weights in GRID:
        write_adapter(binary, adapters / f"{grid_name(weights)}.gguf", seed=7, weights=weights)

    server = Server("--objectives", ",".join(OBJECTIVES), adapters=adapters, store=scratch / "store.sqlite")
    pid = server.process.pid
    port = server.port
    status, models = api(port, "GET", "/v1/models")
    model = models["data"][0]["id"]
    status, loaded = api(port, "POST", "/v1/adapters", {"id": "swap", "path": "swap-0.gguf"})
    assert status in (200, 201), loaded

    started = time.time()
    posted = seed_feedback(port, model, pairs=16)
    print(f"seeded {posted} pairs in {time.time() - started:.0f} s", flush=True)
    fds_before = idle_descriptors(pid)

    tally, stop = Tally(), threading.Event()
    samples, events = [], []
    duration = args.minutes * 60

    def client(index):
        rng = random.Random(index)
        while not stop.is_set():
            stream_once(port, model, rng, tally, args.cut_fraction)

    def sampler():
        while not stop.is_set():
            samples.append(proc_sample(pid))
            stop.wait(args.sample_seconds)

    def swapper():
        interval = duration / (args.swaps + 1)
        for k in range(1, args.swaps + 1):
            if stop.wait(interval):
                return
            status, body = api(port, "POST", "/v1/adapters", {"id": "swap", "path": f"swap-{k}.gguf"})
            events.append({"t": time.time() - load_start, "event": f"swap {k}", "status": status})
            if status not in (200, 201):
                tally.add("failed", error=f"swap {k}: {status} {body}")

    def realigner():
        # The job runs inside the warm-up: its promotions replace the grid's adapters (a new size is a new
        # steady state), and the memory its training used must be back with the system by the end of warm-up.
        if stop.wait(args.job_start_minutes * 60):
            return
        status, job = api(port, "POST", "/v1/realign",
                          {"method": "raco", "weights": [list(w) for w in GRID], "steps": args.job_steps,
                           "min_pairs": 16, "batch_size": 2, "held_out": 0, "seed": 0})
        events.append({"t": time.time() - load_start, "event": "realign started", "status": status})
        if status != 202:
            tally.add("failed", error=f"realign: {status} {job}")
            return
        while not stop.wait(5):
            status, job = api(port, "GET", f"/v1/realign/{job['id']}")
            if job["state"] in ("succeeded", "failed", "cancelled"):
                events.append({"t": time.time() - load_start, "event": f"realign {job['state']}",
                               "promoted": [p["id"] for p in (job.get("report") or {}).get("promoted", [])]})
                if job["state"] != "succeeded":
                    tally.add("failed", error=f"realign ended {job['state']}: {job.get('error')}")
                return

    load_start = time.time()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    threads += [threading.Thread(target=f, daemon=True) for f in (sampler, swapper, realigner)]
    for thread in threads:
        thread.start()
    next_report = 60
    while time.time() - load_start < duration:
        time.sleep(1)
        if time.time() - load_start >= next_report:
            last = samples[-1] if samples else {}
            print(f"{next_report / 60:.0f} min: completed {tally.completed} cut {tally.cut} failed {tally.failed} "
                  f"rss {last.get('rss_mb', 0):.1f} MB fds {last.get('fds')}", flush=True)
            next_report += 60
    stop.set()
    for thread in threads:
        thread.join(timeout=330)
    fds_after = idle_descriptors(pid)
    server_alive = server.process.poll() is None
    server.stop()

    # Warm-up lasts --warmup-minutes, and at least until a minute after the job ended: the steady state starts
    # once training's memory is back with the system and the promoted adapters serve.
    job_end = max((e["t"] for e in events if e["event"].startswith("realign ") and e["event"] != "realign started"),
                  default=0)
    warmup_end = max(args.warmup_minutes * 60, job_end + 60)
    warm = [s for s in samples if s["t"] - load_start >= warmup_end]
    at_warmup = statistics.median(s["rss_mb"] for s in warm[:max(1, int(60 / args.sample_seconds))])
    at_end = statistics.median(s["rss_mb"] for s in warm[-max(1, int(60 / args.sample_seconds)):])
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(load_start)),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "minutes": args.minutes, "clients": CLIENTS, "swaps": args.swaps, "cut_fraction": args.cut_fraction,
        "load_average": os.getloadavg(),
        "requests": {"completed": tally.completed, "cut_on_purpose": tally.cut, "failed": tally.failed},
        "streamed_chunks": tally.tokens, "errors": tally.errors, "events": events,
        "warmup_end_minutes": round(warmup_end / 60, 2),
        "rss_mb": {"before_load": round(samples[0]["rss_mb"], 1), "after_warmup": round(at_warmup, 1), "end": round(at_end, 1),
                   "growth_percent": round(100 * (at_end - at_warmup) / at_warmup, 2),
                   "peak": round(max(s["rss_mb"] for s in samples), 1)},
        "fds_idle": {"before": len(fds_before), "after": len(fds_after),
                     "opened": dict(descriptor_kinds(fds_after) - descriptor_kinds(fds_before)),
                     "closed": dict(descriptor_kinds(fds_before) - descriptor_kinds(fds_after))},
        "threads_peak": max(s["threads"] for s in samples),
        "server_alive_at_end": server_alive,
        "samples": samples,
    }
    # The store's connection pool opens reader connections on demand (a bounded number): those are not leaks.
    store_path = str(scratch / "store.sqlite")
    leaked = {kind: n for kind, n in result["fds_idle"]["opened"].items() if not kind.startswith(store_path)}
    result["fds_idle"]["leaked"] = leaked
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    ok = tally.failed == 0 and server_alive and result["rss_mb"]["growth_percent"] < 5 and not leaked
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
