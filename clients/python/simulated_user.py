#!/usr/bin/env python3
"""A simulated user for Raconteur's feedback loop: it asks for answers, compares them with two deterministic judges
and posts its preferences through the public API.

For every prompt (a built-in list of varied instructions, or --prompts FILE with one prompt per line) and round:

1. One chat completion request with n = 2 (temperature 1.0, top-p 0.95, a seed per prompt and round; choice i
   samples with seed + i), optionally with a `tradeoff` (--tradeoffs cycles through values of w_concise, so that
   once trained adapters exist the two answers of later rounds differ more).
2. The two answers are labelled by clients/python/judges.py (`concise`: fewer words; `detailed`: more distinct
   content words) and posted to `POST /v1/feedback` by completion id, chosen = the first answer, rejected = the
   second, with the judges' labels (+1: the first is better on that objective). Pairs with identical texts or with
   every label 0 are skipped (the server would refuse them: 400 identical_texts / no_preference).
3. Contrast pairs (on by default, --no-contrast turns them off). SmolLM2 almost always runs to max_tokens, so the
   two answers of step 1 hardly differ in length and the length signal is weak and noisy. The simulated user also
   asks the same question with a brevity hint appended (n = 2, same seed) and compares each plain answer j with
   brief answer j, posting the pair by text under the *plain* prompt (the prompt a trained adapter will see). The
   pairs alternate which answer is sent first. A brief answer is off-policy for the plain prompt, as feedback
   collected from another prompt usually is; DPO does not need on-policy samples.

The chat template's rendering of the plain question (the text the model saw) is what the server stored for the
completions; it is taken from the response to the id pair (and rendered locally with SmolLM2's ChatML template
when that pair was skipped).

Library use:

    from simulated_user import simulate
    summary = simulate("http://127.0.0.1:8080/v1", rounds=1, max_tokens=48, seed=0)

CLI:

    python clients/python/simulated_user.py --base-url http://127.0.0.1:8080/v1 [--api-key KEY] [--rounds 1]
        [--max-tokens 48] [--seed 0] [--prompts FILE] [--limit N] [--tradeoffs 1,0.5,0] [--no-contrast]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from judges import JUDGES, label_pair  # noqa: E402

# Varied instruction prompts: facts, explanations, how-tos, advice, descriptions. Kept disjoint from the held-out
# prompts the end-to-end benchmark evaluates on (benchmarks/alignment/end_to_end.py checks that).
PROMPTS = [
    "What is photosynthesis?",
    "Why is the sky blue?",
    "How do vaccines work?",
    "What causes earthquakes?",
    "Explain what a black hole is.",
    "What is the difference between weather and climate?",
    "How does a refrigerator keep food cold?",
    "Why do leaves change color in autumn?",
    "What is inflation in economics?",
    "How do bees make honey?",
    "Describe how a bicycle works.",
    "What is machine learning?",
    "Why do we need sleep?",
    "How are rainbows formed?",
    "Give me some tips for learning a new language.",
    "What is the water cycle?",
    "How does the internet work?",
    "Why is exercise important?",
    "How do airplanes stay in the air?",
    "What is democracy?",
    "Explain gravity to a child.",
    "How do plants grow?",
    "What is a volcano?",
    "How can I save money?",
    "What is renewable energy?",
    "Describe the city of Paris.",
    "How do I make a cup of tea?",
    "What is an atom?",
    "Why is the ocean salty?",
    "What are the benefits of reading books?",
    "How does a computer store information?",
    "How do birds migrate?",
    "What is the greenhouse effect?",
    "Tell me about the Roman Empire.",
    "How does soap clean things?",
    "What is electricity?",
    "Why do we have seasons?",
    "How do fish breathe underwater?",
    "What should I pack for a weekend hike?",
    "How do I write a good cover letter?",
]

BREVITY_HINT = " Answer in one short sentence."

# SmolLM2-Instruct's chat template with one user turn and no system message (the template adds its default one).
SMOLLM2_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def render_chatml(question: str, system: str = SMOLLM2_SYSTEM) -> str:
    """The prompt text SmolLM2's template renders for one user turn, ready for the assistant's answer."""
    return (f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{question}<|im_end|>\n"
            f"<|im_start|>assistant\n")


@dataclass
class Summary:
    """What one simulation did."""
    requests: int = 0
    posted: int = 0
    posted_by_id: int = 0
    posted_by_text: int = 0
    skipped_identical: int = 0
    skipped_tie: int = 0
    refused: dict = field(default_factory=dict)       # "status code" -> count (e.g. "409 duplicate_feedback")
    labels: dict = field(default_factory=lambda: {name: {"+1": 0, "-1": 0, "0": 0} for name in JUDGES})
    words_plain: list = field(default_factory=list)
    words_brief: list = field(default_factory=list)
    prompt_mismatches: int = 0
    feedback_ids: list = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        mean = lambda xs: round(sum(xs) / len(xs), 2) if xs else None  # noqa: E731
        return {"requests": self.requests, "posted": self.posted, "posted_by_id": self.posted_by_id,
                "posted_by_text": self.posted_by_text, "skipped_identical": self.skipped_identical,
                "skipped_tie": self.skipped_tie, "refused": self.refused, "labels": self.labels,
                "mean_words_plain": mean(self.words_plain), "mean_words_brief": mean(self.words_brief),
                "prompt_mismatches": self.prompt_mismatches, "seconds": round(self.seconds, 1)}

    def text(self) -> str:
        d = self.as_dict()
        labels = "; ".join(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
                           for name, counts in self.labels.items())
        return (f"posted {d['posted']} pairs ({d['posted_by_id']} by completion id, {d['posted_by_text']} by text), "
                f"skipped {d['skipped_identical']} identical and {d['skipped_tie']} tied, refused {d['refused'] or 0}; "
                f"labels {labels}; mean words plain {d['mean_words_plain']}, brief {d['mean_words_brief']}; "
                f"{d['requests']} completion requests in {d['seconds']} s")


class FeedbackAPI:
    """Plain HTTP for Raconteur's non-OpenAI routes (/v1/feedback, /v1/realign, …)."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 300):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def request(self, method: str, path: str, body=None, raw: bool = False):
        """(status, decoded JSON body or raw bytes) of a request under base_url; HTTP errors are returned too."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                payload = response.read()
                return response.status, payload if raw else json.loads(payload or b"null")
        except urllib.error.HTTPError as error:
            payload = error.read()
            try:
                return error.code, json.loads(payload or b"null")
            except json.JSONDecodeError:
                return error.code, {"error": {"message": payload.decode(errors="replace")}}

    def post_feedback(self, body: dict):
        return self.request("POST", "/feedback", body)

    def export(self) -> list[dict]:
        status, payload = self.request("GET", "/feedback/export", raw=True)
        if status != 200:
            raise RuntimeError(f"GET /v1/feedback/export: {status} {payload!r}")
        return [json.loads(line) for line in payload.decode().splitlines() if line.strip()]


def _openai_client(base_url: str, api_key: str | None):
    from openai import OpenAI
    # An open server ignores the key, but the client insists on one. No retries: a failure should be visible.
    return OpenAI(base_url=base_url, api_key=api_key or "none", max_retries=0, timeout=600)


def _words(text: str) -> int:
    return len(text.split())


def simulate(base_url: str, *, api_key: str | None = None, prompts: list[str] | None = None, rounds: int = 1,
             max_tokens: int = 48, seed: int = 0, temperature: float = 1.0, tradeoffs: list[float] | None = None,
             contrast: bool = True, model: str | None = None, log=print) -> Summary:
    """Runs the simulated user against the server at base_url (…/v1) and returns what it did.

    Deterministic for a given server, prompts and seed: the seed of prompt i in round r is seed + 1000 r + 10 i.
    """
    client = _openai_client(base_url, api_key)
    api = FeedbackAPI(base_url, api_key)
    model = model or client.models.list().data[0].id
    prompts = list(prompts or PROMPTS)
    summary = Summary()
    started = time.time()

    def post(body: dict, by: str):
        texts = (body.get("chosen"), body.get("rejected"))
        status, payload = api.post_feedback(body)
        if status == 201:
            summary.posted += 1
            summary.feedback_ids.append(payload["id"])
            if by == "id":
                summary.posted_by_id += 1
            else:
                summary.posted_by_text += 1
            for name, label in body["labels"].items():
                summary.labels[name][f"{label:+d}" if label else "0"] += 1
            return payload
        error = (payload or {}).get("error") or {}
        key = f"{status} {error.get('code')}"
        summary.refused[key] = summary.refused.get(key, 0) + 1
        log(f"  feedback refused: {status} {error.get('message')} ({by}; texts {texts[0]!r:.40} / {texts[1]!r:.40})")
        return None

    for r in range(rounds):
        for i, question in enumerate(prompts):
            s = seed + 1000 * r + 10 * i
            extra = {}
            if tradeoffs:
                w = tradeoffs[(r * len(prompts) + i) % len(tradeoffs)]
                extra["tradeoff"] = {"concise": w, "detailed": round(1 - w, 6)}
            sampling = dict(model=model, n=2, temperature=temperature, top_p=0.95, seed=s, max_tokens=max_tokens)
            plain = client.chat.completions.create(messages=[{"role": "user", "content": question}],
                                                   extra_body=extra or None, **sampling)
            summary.requests += 1
            answers = [(c.model_extra["completion_id"], c.message.content or "") for c in plain.choices]
            summary.words_plain += [_words(t) for _, t in answers]
            prompt_text = render_chatml(question)

            (id_a, a), (id_b, b) = answers
            labels = label_pair(a, b)
            if a == b:
                summary.skipped_identical += 1
            elif not any(labels.values()):
                summary.skipped_tie += 1
            else:
                stored = post({"chosen_id": id_a, "rejected_id": id_b, "labels": labels}, "id")
                if stored and stored.get("prompt") and stored["prompt"] != prompt_text:
                    # The server's rendering wins: it is what the model saw.
                    summary.prompt_mismatches += 1
                    prompt_text = stored["prompt"]

            if not contrast:
                continue
            brief = client.chat.completions.create(messages=[{"role": "user", "content": question + BREVITY_HINT}],
                                                   extra_body=extra or None, **sampling)
            summary.requests += 1
            brief_texts = [c.message.content or "" for c in brief.choices]
            summary.words_brief += [_words(t) for t in brief_texts]
            for j, ((_, long_text), short_text) in enumerate(zip(answers, brief_texts)):
                first, second = (long_text, short_text) if j % 2 == 0 else (short_text, long_text)
                labels = label_pair(first, second)
                if first.strip() == second.strip():
                    summary.skipped_identical += 1
                elif not any(labels.values()):
                    summary.skipped_tie += 1
                else:
                    post({"prompt": prompt_text, "chosen": first, "rejected": second, "labels": labels}, "text")
        log(f"round {r + 1}/{rounds}: {summary.posted} pairs posted so far ({time.time() - started:.0f} s)")
    summary.seconds = time.time() - started
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8080/v1")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--prompts", type=Path, help="one prompt per line (default: the built-in list)")
    parser.add_argument("--limit", type=int, help="use only the first N prompts")
    parser.add_argument("--tradeoffs", help="comma-separated w_concise values cycled over requests, e.g. 1,0.5,0")
    parser.add_argument("--no-contrast", action="store_true", help="only the n = 2 pairs, no brevity-hint contrast pairs")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)

    prompts = PROMPTS
    if args.prompts:
        prompts = [line.strip() for line in args.prompts.read_text().splitlines() if line.strip()]
    if args.limit:
        prompts = prompts[:args.limit]
    tradeoffs = [float(x) for x in args.tradeoffs.split(",")] if args.tradeoffs else None
    summary = simulate(args.base_url, api_key=args.api_key, prompts=prompts, rounds=args.rounds,
                       max_tokens=args.max_tokens, seed=args.seed, temperature=args.temperature,
                       tradeoffs=tradeoffs, contrast=not args.no_contrast,
                       log=lambda message: print(message, file=sys.stderr))
    print(json.dumps(summary.as_dict(), indent=2) if args.json else summary.text())
    return 0 if summary.posted else 1


if __name__ == "__main__":
    sys.exit(main())
