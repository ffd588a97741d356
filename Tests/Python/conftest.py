"""Fixtures shared by the test modules: a real `raconteur serve` on the default model, and the official openai
client pointed at it. A module that needs another server (adapters, keys, another model) defines its own `server`;
`client` then talks to that one."""
import pytest
from openai import OpenAI

from raconteur_server import Server


@pytest.fixture(scope="module")
def server():
    running = Server()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key="none", max_retries=0, timeout=300)
