#!/usr/bin/env python3
"""Structured output evidence on SmolLM2 with the official `openai` client, against a release `raconteur serve`.

1. Validity: PROMPTS prompts x 3 schemas (Tests/Python/structured_schemas.py: nested with arrays and enums, `$ref`,
   formats) through `response_format` json_schema (strict). The prompts rotate through four ways of asking: whole,
   streamed, n = 2, and two trade-offs; four clients at once, so rows with different schemas and trade-offs share
   batches. Every output must parse, validate (jsonschema) and end with `stop`.
2. Speed: generation tok/s with and without the schema at batch 1 and batch 4, for the same token counts (each
   unconstrained request asks for exactly the tokens its constrained twin produced, with ignore_eos). Rates are
   streamed: tokens after the first over the time from the first to the last chunk. Rounds alternate constrained and
   unconstrained; the first constrained round is cold (no mask cached for the schema) when the server is fresh
   (--skip-validity: the validity run caches the same schema's masks).

    swift build -c release --product raconteur
    python3 benchmarks/structured_output.py --binary .build/release/raconteur [--prompts 50] [--json out.json]
"""
import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "Python"))

import jsonschema  # noqa: E402
from openai import OpenAI  # noqa: E402

from structured_schemas import MAX_TOKENS, SCHEMAS  # noqa: E402

SUBJECTS = ["a violinist", "a bakery", "a mountain trail", "a robot", "a city park", "a museum", "a bicycle race",
            "a river crossing", "a school trip", "a jazz night", "a farm", "a space mission", "a chess club",
            "a marathon", "a library", "a train journey", "a harbour", "a garden", "a theatre", "a market",
            "a lighthouse", "a ski resort", "a workshop", "a hospital", "a zoo"]


def prompts(count):
    asks = ["Describe {} as JSON.", "Write JSON about {}."]
    return [asks[i // len(SUBJECTS) % 2].format(SUBJECTS[i % len(SUBJECTS)]) for i in range(count)]


def response_format(name):
    return {"type": "json_schema", "json_schema": {"name": name, "schema": SCHEMAS[name], "strict": True}}


def validity(client, count):
    tradeoffs = [{"concise": 0.8, "detailed": 0.2}, {"concise": 0.2, "detailed": 0.8}]

    def run(job):
        name, index, prompt = job
        way = ["whole", "streamed", "n2", "tradeoff"][index % 4]
        arguments = dict(model="default", messages=[{"role": "user", "content": prompt}], max_tokens=MAX_TOKENS,
                         temperature=0.8, seed=index, response_format=response_format(name))
        outputs = []
        if way == "streamed":
            text, reason = "", None
            for chunk in client.chat.completions.create(stream=True, **arguments):
                for choice in chunk.choices:
                    text += choice.delta.content or ""
                    reason = choice.finish_reason or reason
            outputs.append((text, reason))
        else:
            if way == "n2":
                arguments["n"] = 2
            if way == "tradeoff":
                arguments["extra_body"] = {"tradeoff": tradeoffs[index // 4 % 2]}
            response = client.chat.completions.create(**arguments)
            outputs += [(choice.message.content, choice.finish_reason) for choice in response.choices]
        results = []
        for text, reason in outputs:
            try:
                jsonschema.validate(json.loads(text), SCHEMAS[name])
                results.append((name, way, reason == "stop", None))
            except Exception as error:  # noqa: BLE001 - every failure is reported with its text
                results.append((name, way, False, f"{type(error).__name__}: {text[:200]!r}"))
        return results

    jobs = [(name, i, prompt) for name in SCHEMAS for i, prompt in enumerate(prompts(count))]
    started = time.time()
    with ThreadPoolExecutor(4) as pool:
        results = [r for batch in pool.map(run, jobs) for r in batch]
    valid = sum(1 for r in results if r[2])
    failures = [r for r in results if not r[2]]
    by_schema = {name: f"{sum(1 for r in results if r[0] == name and r[2])}/{sum(1 for r in results if r[0] == name)}"
                 for name in SCHEMAS}
    return {"outputs": len(results), "valid": valid, "by_schema": by_schema, "failures": failures[:10],
            "seconds": round(time.time() - started, 1)}


def streamed_rate(client, prompt, **arguments):
    """(completion tokens, seconds from the first to the last chunk)."""
    first = last = None
    tokens = 0
    stream = client.completions.create(model="default", prompt=prompt, stream=True,
                                       stream_options={"include_usage": True}, temperature=0, **arguments)
    for chunk in stream:
        now = time.perf_counter()
        if chunk.choices and chunk.choices[0].text:
            first = first or now
            last = now
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    return tokens, (last - first) if first and last else 0.0


def speed(client, batch, rounds):
    """Constrained and unconstrained generation at `batch` clients, same token counts, in alternating rounds (the
    machine is shared: alternation spreads its load over both). The first constrained round of a fresh server is
    cold (no mask of the schema cached yet) and reported apart; the medians are over the warm rounds."""
    schema = SCHEMAS["person"]
    texts = [f"Invent person number {i} and describe them as JSON:\n" for i in range(batch)]

    def run_all(make):
        with ThreadPoolExecutor(batch) as pool:
            results = list(pool.map(make, range(batch)))
        span = max(s for _, s in results)
        # Aggregate rate: tokens after each stream's first over the longest first-to-last span.
        return (sum(t for t, _ in results) - batch) / span if span > 0 else 0.0, [t for t, _ in results]

    constrained, unconstrained, cold, counts = [], [], None, None
    for r in range(rounds + 1):
        rate, tokens = run_all(lambda i: streamed_rate(client, texts[i], max_tokens=MAX_TOKENS,
                                                       extra_body={"json_schema": schema}))
        counts = counts or tokens
        if r == 0:
            cold = rate
            continue
        constrained.append(rate)
        rate, _ = run_all(lambda i: streamed_rate(client, texts[i], max_tokens=counts[i], extra_body={"ignore_eos": True}))
        unconstrained.append(rate)
    report = {"token_counts": counts, "constrained_cold": round(cold, 1),
              "constrained_warm": [round(x, 1) for x in constrained], "unconstrained": [round(x, 1) for x in unconstrained]}
    warm, free = statistics.median(constrained), statistics.median(unconstrained)
    report["median_constrained_warm"], report["median_unconstrained"] = round(warm, 1), round(free, 1)
    report["cost_warm"] = round(1 - warm / free, 3)
    report["cost_cold"] = round(1 - cold / free, 3)
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "raconteur"))
    parser.add_argument("--prompts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-validity", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    os.environ["RACONTEUR_BIN"] = args.binary
    from raconteur_server import Server
    server = Server()
    try:
        client = OpenAI(base_url=server.base_url, api_key="none", max_retries=0, timeout=600)
        result = {}
        if not args.skip_validity:
            result["validity"] = validity(client, args.prompts)
            print(json.dumps(result["validity"], indent=1), flush=True)
        for batch in (1, 4):
            result[f"speed_batch_{batch}"] = speed(client, batch, args.rounds)
            print(batch, json.dumps(result[f"speed_batch_{batch}"]), flush=True)
    finally:
        server.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
