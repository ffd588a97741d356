#!/usr/bin/env python3
"""A chat completion with two sampled answers (n=2) from one seed."""
from _connection import connect

client, model = connect()
chat = client.chat.completions.create(
    model=model,
    messages=[
        {"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": "Why is the sea salty?"},
    ],
    max_tokens=48,
    temperature=0.8,
    seed=7,
    n=2,
)
for choice in chat.choices:
    # completion_id is Raconteur's per-choice id, the one feedback refers to.
    print(f"[{choice.index}] {choice.model_extra.get('completion_id')}: {choice.message.content}")
print(f"usage={chat.usage.model_dump()}")
