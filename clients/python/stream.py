#!/usr/bin/env python3
"""A streamed chat completion: tokens are printed as the server sends them."""
import sys

from _connection import connect

client, model = connect()
stream = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "Write a haiku about the sea."}],
    max_tokens=64,
    temperature=0,
    stream=True,
    stream_options={"include_usage": True},
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content)
        sys.stdout.flush()
    if chunk.usage:
        print(f"\nusage={chunk.usage.model_dump()}")
