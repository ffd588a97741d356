#!/usr/bin/env python3
"""A text completion through the official openai client, with logprobs of the chosen tokens."""
from _connection import connect

client, model = connect()
completion = client.completions.create(
    model=model,
    prompt="The three primary colours are",
    max_tokens=24,
    temperature=0,
    logprobs=2,
)
choice = completion.choices[0]
print(choice.text)
print(f"finish_reason={choice.finish_reason} usage={completion.usage.model_dump()}")
for token, logprob in zip(choice.logprobs.tokens, choice.logprobs.token_logprobs):
    print(f"{token!r:>16} {logprob:8.3f}")
