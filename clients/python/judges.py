#!/usr/bin/env python3
"""Two deterministic, conflicting judges for the concise-vs-detailed preference experiment.

- concise(text): fewer words is better; score = -(number of whitespace-separated words).
- detailed(text): more distinct content words is better; score = number of distinct lowercase alphabetic words
  of length >= 4 that are not stop words.

label_pair(a, b) gives RACO's per-objective labels: +1 when the judge prefers a, -1 when it prefers b, 0 on a tie.
Longer answers usually have more distinct content words, so the two judges mostly disagree: a real conflict.
"""
import re

STOP_WORDS = frozenset("""
a about above after again against all also although among an and any are aren't as at be because been before
being below between both but by can cannot could did does doing down during each either else even ever every
few for from further had has have having here how however i if in into is it its itself just like many may
might more most much must my neither no nor not now of off often on once only or other our ours out over own
per quite rather same shall she should since so some such than that the their theirs them then there these they
this those though through thus till to too under until up upon very was we were what when where whether which
while who whom whose why will with within without would yet you your yours
""".split())

_WORD = re.compile(r"[a-z]+")


def concise(text: str) -> int:
    """Higher is better: minus the word count."""
    return -len(text.split())


def detailed(text: str) -> int:
    """Higher is better: distinct lowercase alphabetic words of length >= 4 outside the stop-word list."""
    return len({w for w in _WORD.findall(text.lower()) if len(w) >= 4 and w not in STOP_WORDS})


JUDGES = {"concise": concise, "detailed": detailed}


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def label_pair(a: str, b: str) -> dict:
    """{objective: +1 if a is preferred, -1 if b is, 0 on a tie} for every judge."""
    return {name: _sign(judge(a) - judge(b)) for name, judge in JUDGES.items()}


if __name__ == "__main__":
    short = "Paris."
    long = "The capital of France is Paris, a city famous for museums, cafes and architecture."
    print(label_pair(short, long))   # {'concise': 1, 'detailed': -1}
    assert label_pair(short, long) == {"concise": 1, "detailed": -1}
    assert label_pair(long, long) == {"concise": 0, "detailed": 0}
