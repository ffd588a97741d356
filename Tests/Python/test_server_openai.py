"""Integration tests: the real `raconteur serve` binary on SmolLM2, driven by the official openai client.

The binary is RACONTEUR_BIN when set, else the debug build that `swift build --show-bin-path` names (scripts/test.sh
builds it first); raconteur_server.Server starts it.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from raconteur_server import MODEL_FILE, MODEL_ID, ROOT, Server

pytestmark = pytest.mark.skipif(not MODEL_FILE.exists(), reason="needs models/SmolLM2-135M-Instruct.Q4_1.gguf")


def test_models_lists_the_served_model(client):
    assert [model.id for model in client.models.list().data] == [MODEL_ID]


def test_completion(client):
    completion = client.completions.create(model=MODEL_ID, prompt="The capital of France is", max_tokens=8,
                                           temperature=0, extra_body={"ignore_eos": True})
    assert completion.id.startswith("cmpl-")
    assert completion.object == "text_completion"
    choice = completion.choices[0]
    assert choice.text and choice.finish_reason == "length"
    assert choice.model_extra["completion_id"] == completion.id + "-0"
    assert completion.usage.completion_tokens == 8
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 8


def test_chat(client):
    chat = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "What is 2 + 2?"}],
                                          max_tokens=24, temperature=0)
    assert chat.id.startswith("chatcmpl-")
    assert chat.choices[0].message.role == "assistant"
    assert chat.choices[0].message.content
    assert chat.choices[0].finish_reason in ("stop", "length")


def _smollm2_template() -> str:
    sys.path.insert(0, str(ROOT / "Tests" / "Fixtures"))
    from gen_template_renderings import gguf_chat_template
    return gguf_chat_template(str(MODEL_FILE))


def test_chat_renders_the_models_own_template(client):
    """The chat prompt is the file's own Jinja template rendered as jinja2 renders it (transformers' settings)."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    messages = [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Say « hello » {{ twice }}."}]
    template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(_smollm2_template())
    prompt = template.render(messages=messages, add_generation_prompt=True, bos_token="<|im_start|>", eos_token="<|im_end|>")
    chat = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=12, temperature=0)
    completion = client.completions.create(model=MODEL_ID, prompt=prompt, max_tokens=12, temperature=0)
    assert chat.usage.prompt_tokens == completion.usage.prompt_tokens
    assert chat.choices[0].message.content == completion.choices[0].text


def test_chat_template_option_overrides_the_files_template(tmp_path):
    template = tmp_path / "plain.jinja"
    template.write_text("{% for m in messages %}### {{ m.role | upper }}: {{ m.content | trim }}\n{% endfor %}"
                        "{% if add_generation_prompt %}### ASSISTANT:{% endif %}\n")
    overridden = Server("--chat-template", str(template))
    try:
        client = OpenAI(base_url=overridden.base_url, api_key="none", max_retries=0, timeout=300)
        chat = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": " Hi "}],
                                              max_tokens=6, temperature=0)
        completion = client.completions.create(model=MODEL_ID, prompt="### USER: Hi\n### ASSISTANT:", max_tokens=6,
                                               temperature=0)
        assert chat.usage.prompt_tokens == completion.usage.prompt_tokens
        assert chat.choices[0].message.content == completion.choices[0].text
    finally:
        overridden.stop()


def test_a_chat_template_that_cannot_be_used_stops_the_start(tmp_path):
    bad = tmp_path / "bad.jinja"
    bad.write_text("{{ messages | wordwrap(20) }}")
    from raconteur_server import raconteur_binary
    result = subprocess.run([str(raconteur_binary()), "serve", "--model", str(MODEL_FILE), "--port", "0",
                             "--store", str(tmp_path / "store.sqlite"), "--adapters", str(tmp_path / "adapters"),
                             "--chat-template", str(bad)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "unsupported filter 'wordwrap'" in result.stdout + result.stderr


def test_streamed_completion_equals_the_whole_one(client):
    arguments = dict(model=MODEL_ID, prompt="Once upon a time", max_tokens=16, temperature=0)
    whole = client.completions.create(**arguments).choices[0].text
    chunks = list(client.completions.create(**arguments, stream=True))
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == whole
    assert chunks[-1].choices[0].finish_reason is not None


def test_streamed_chat_equals_the_whole_one(client):
    arguments = dict(model=MODEL_ID, messages=[{"role": "user", "content": "Name a fruit."}], max_tokens=16, temperature=0)
    whole = client.chat.completions.create(**arguments).choices[0].message.content
    stream = client.chat.completions.create(**arguments, stream=True, stream_options={"include_usage": True})
    text, usage = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        usage = chunk.usage or usage
    assert text == whole
    assert usage is not None and usage.completion_tokens > 0


def test_n_equals_2_gives_two_choices_with_their_own_ids(client):
    completion = client.completions.create(model=MODEL_ID, prompt="My favourite colour is", max_tokens=12,
                                           temperature=1.0, n=2, seed=11, extra_body={"ignore_eos": True})
    assert [choice.index for choice in completion.choices] == [0, 1]
    ids = {choice.model_extra["completion_id"] for choice in completion.choices}
    assert len(ids) == 2
    assert completion.choices[0].text != completion.choices[1].text


def test_completion_logprobs(client):
    completion = client.completions.create(model=MODEL_ID, prompt="The sky is", max_tokens=4, temperature=0,
                                           logprobs=2, extra_body={"ignore_eos": True})
    logprobs = completion.choices[0].logprobs
    assert len(logprobs.tokens) == len(logprobs.token_logprobs) == len(logprobs.top_logprobs) == 4
    assert all(value <= 0 for value in logprobs.token_logprobs)
    assert all(1 <= len(top) <= 2 for top in logprobs.top_logprobs)
    assert "".join(logprobs.tokens) == completion.choices[0].text


def test_chat_logprobs(client):
    chat = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Say hello."}],
                                          max_tokens=4, temperature=0, logprobs=True, top_logprobs=3,
                                          extra_body={"ignore_eos": True})
    content = chat.choices[0].logprobs.content
    assert len(content) == 4
    assert all(len(entry.top_logprobs) == 3 and entry.logprob <= 0 for entry in content)


def test_echo_logprobs_with_no_tokens_scores_the_prompt(client):
    prompt = "The cat sat on the mat."
    completion = client.completions.create(model=MODEL_ID, prompt=prompt, max_tokens=0, echo=True, logprobs=1)
    choice = completion.choices[0]
    assert choice.text == prompt
    assert choice.logprobs.token_logprobs[0] is None
    assert all(value <= 0 for value in choice.logprobs.token_logprobs[1:])
    assert len(choice.logprobs.tokens) == completion.usage.prompt_tokens
    assert completion.usage.completion_tokens == 0


def test_stop_sequence(client):
    arguments = dict(model=MODEL_ID, prompt="Count: 1, 2, 3,", max_tokens=24, temperature=0, extra_body={"ignore_eos": True})
    full = client.completions.create(**arguments).choices[0].text
    assert " 5," in full, full
    stopped = client.completions.create(**arguments, stop=[" 5,"]).choices[0]
    assert stopped.finish_reason == "stop"
    assert full.startswith(stopped.text + " 5,")


def test_seed_reproduces_sampled_text(client):
    arguments = dict(model=MODEL_ID, prompt="In the forest there was", max_tokens=16, temperature=1.0, seed=2024,
                     extra_body={"ignore_eos": True})
    first = client.completions.create(**arguments).choices[0].text
    second = client.completions.create(**arguments).choices[0].text
    assert first == second


def test_bad_request_gets_the_error_envelope(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.completions.create(model=MODEL_ID, prompt="hi", temperature=-1)
    assert raised.value.status_code == 400
    assert raised.value.body["param"] == "temperature"
    assert raised.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.NotFoundError) as unknown:
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
    assert unknown.value.body["code"] == "model_not_found"
    raw = urllib.request.Request(str(client.base_url).rstrip("/") + "/completions", data=b'{"prompt": ',
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as malformed:
        urllib.request.urlopen(raw, timeout=30)
    assert malformed.value.code == 400
    assert json.loads(malformed.value.read())["error"]["code"] == "invalid_json"


def test_eight_concurrent_clients_match_the_single_client_outputs(server, client):
    prompts = [f"Write one sentence about {topic}." for topic in
               ("rivers", "copper", "owls", "bread", "winter", "trains", "music", "gardens")]

    def complete(prompt: str) -> str:
        own_client = OpenAI(base_url=server.base_url, api_key="none", max_retries=0, timeout=300)
        return own_client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": prompt}],
                                                  max_tokens=24, temperature=0).choices[0].message.content

    alone = [complete(prompt) for prompt in prompts]
    steps_before = server.metric("raconteur_batch_sequences_count")
    single_steps_before = server.metric('raconteur_batch_sequences_bucket{le="1.0"}')
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(complete, prompts))
    assert together == alone
    # The concurrent requests shared steps: some steps computed more than one sequence.
    batched_steps = (server.metric("raconteur_batch_sequences_count") - steps_before) \
        - (server.metric('raconteur_batch_sequences_bucket{le="1.0"}') - single_steps_before)
    assert batched_steps > 0


def test_a_client_that_disconnects_mid_stream_cancels_its_generation(server, client):
    stream = client.completions.create(model=MODEL_ID, prompt="Tell me a very long story.", max_tokens=1500,
                                       stream=True, extra_body={"ignore_eos": True})
    for index, _ in enumerate(stream):
        if index == 3:
            break
    stream.close()
    deadline = time.time() + 20
    while time.time() < deadline and server.metric("raconteur_active_sequences") > 0:
        time.sleep(0.05)
    assert server.metric("raconteur_active_sequences") == 0
    assert client.completions.create(model=MODEL_ID, prompt="Still there?", max_tokens=2).choices[0].text is not None


def test_a_non_streaming_client_that_disconnects_cancels_its_generation(server):
    import socket
    from urllib.parse import urlparse
    address = urlparse(server.base_url)
    body = json.dumps({"model": MODEL_ID, "prompt": "Tell me a very long story.", "max_tokens": 1500,
                       "ignore_eos": True}).encode()
    head = (f"POST /v1/completions HTTP/1.1\r\nHost: {address.hostname}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((address.hostname, address.port)) as connection:
        connection.sendall(head + body)
        deadline = time.time() + 20
        while time.time() < deadline and server.metric("raconteur_active_sequences") == 0:
            time.sleep(0.02)
        assert server.metric("raconteur_active_sequences") == 1
        time.sleep(0.3)
    # The client gave up before its answer: the server stops generating for it within its poll interval.
    closed_at = server.metric("raconteur_generated_tokens_total")
    deadline = time.time() + 10
    while time.time() < deadline and server.metric("raconteur_active_sequences") > 0:
        time.sleep(0.02)
    assert server.metric("raconteur_active_sequences") == 0
    stopped_at = server.metric("raconteur_generated_tokens_total")
    assert stopped_at - closed_at < 300, "far short of the 1500 tokens asked for"
    time.sleep(0.5)
    assert server.metric("raconteur_generated_tokens_total") == stopped_at


@pytest.mark.parametrize("example", ["completion.py", "chat.py", "stream.py"])
def test_python_examples_run(server, example):
    environment = dict(os.environ, RACONTEUR_BASE_URL=server.base_url, RACONTEUR_API_KEY="none")
    result = subprocess.run([sys.executable, str(ROOT / "clients" / "python" / example)], env=environment,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize("example", ["completion.sh", "chat.sh", "stream.sh", "score.sh", "operations.sh"])
def test_curl_examples_run(server, example):
    environment = dict(os.environ, RACONTEUR_BASE_URL=server.base_url, RACONTEUR_API_KEY="none")
    result = subprocess.run(["bash", str(ROOT / "clients" / "curl" / example)], env=environment,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip()


def test_an_open_server_listens_on_loopback_only():
    open_server = Server(host="0.0.0.0")
    try:
        assert open_server.bound_host == "127.0.0.1"
        assert any("no API keys are configured" in line for line in open_server.log)
    finally:
        open_server.stop()


def test_api_keys_are_required_when_configured(tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("sk-integration-1\n")
    guarded = Server("--api-keys", str(keys))
    try:
        with pytest.raises(openai.AuthenticationError):
            OpenAI(base_url=guarded.base_url, api_key="sk-wrong", max_retries=0).models.list()
        allowed = OpenAI(base_url=guarded.base_url, api_key="sk-integration-1", max_retries=0)
        assert allowed.completions.create(model=MODEL_ID, prompt="hi", max_tokens=2).choices
    finally:
        guarded.stop()
