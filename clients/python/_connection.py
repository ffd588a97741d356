"""Where the examples find the server: RACONTEUR_BASE_URL, RACONTEUR_API_KEY and RACONTEUR_MODEL."""
import os

from openai import OpenAI


def connect() -> tuple[OpenAI, str]:
    """An OpenAI client for the Raconteur server, and the id of the model it serves."""
    client = OpenAI(
        base_url=os.environ.get("RACONTEUR_BASE_URL", "http://127.0.0.1:8080/v1"),
        # An open server (no API keys configured) ignores the key, but the client insists on one.
        api_key=os.environ.get("RACONTEUR_API_KEY", "none"),
    )
    model = os.environ.get("RACONTEUR_MODEL") or client.models.list().data[0].id
    return client, model
