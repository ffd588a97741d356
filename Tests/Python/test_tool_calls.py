"""Tool calls on /v1/chat/completions with the official openai client on Qwen2.5-Coder-0.5B, whose own chat template
has a tools branch (docs/SERVER.md, "Tool calls"): a round trip (tools → tool_calls → tool message → answer), whole
and streamed; `required` and a named function give arguments that validate against the function's schema; `none`
gives no call; hostile tool requests are 400 envelopes.

The model is fetched by the test command (scripts/setup.sh --test); without it these tests are skipped (which CI refuses).
"""
import json

import jsonschema
import openai
import pytest
from openai import OpenAI

from raconteur_server import ROOT, Server

NAME = "qwen2.5-coder-0.5b-instruct"
MODEL_FILE = ROOT / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
MODEL_ID = "qwen2.5-coder-0.5b-instruct-q4_k_m"

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris", "maxLength": 40},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    },
}
TOOLS = [WEATHER, ADD]
SCHEMAS = {tool["function"]["name"]: tool["function"]["parameters"] for tool in TOOLS}
QUESTION = [{"role": "user", "content": "What is the weather like in Paris right now? Answer in celsius."}]


@pytest.fixture(scope="module")
def server():
    if not MODEL_FILE.exists():
        pytest.skip(f"{MODEL_FILE} not present (scripts/setup.sh --test fetches it)")
    s = Server("--model", NAME, "--ctx", "2048")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(server):
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=300)


def ask(client, messages, **arguments):
    return client.chat.completions.create(model=MODEL_ID, messages=messages, tools=TOOLS, temperature=0, **arguments)


def check_call(call, name=None):
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name in SCHEMAS and (name is None or call.function.name == name)
    jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])


def streamed(client, messages, **arguments):
    """A streamed answer folded as the openai client's users fold one: content, calls by index, finish reason."""
    content, calls, finish = "", {}, None
    for chunk in ask(client, messages, stream=True, **arguments):
        for choice in chunk.choices:
            delta = choice.delta
            content += delta.content or ""
            for piece in delta.tool_calls or []:
                call = calls.setdefault(piece.index, {"id": None, "name": None, "arguments": ""})
                if piece.id:
                    assert call["id"] is None, "a call's id is sent once"
                    call["id"] = piece.id
                if piece.function and piece.function.name:
                    call["name"] = piece.function.name
                if piece.function and piece.function.arguments:
                    call["arguments"] += piece.function.arguments
            finish = choice.finish_reason or finish
    return content, [calls[i] for i in sorted(calls)], finish


def test_round_trip(client):
    first = ask(client, QUESTION, max_tokens=48)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    assert choice.message.content is None
    assert len(choice.message.tool_calls) >= 1
    call = choice.message.tool_calls[0]
    check_call(call, "get_weather")
    assert "paris" in json.loads(call.function.arguments)["city"].lower()

    messages = QUESTION + [choice.message.model_dump(exclude_none=True),
                           {"role": "tool", "tool_call_id": call.id, "content": json.dumps({"temperature": 18, "sky": "sunny"})}]
    final = ask(client, messages, max_tokens=40)
    answer = final.choices[0]
    assert answer.message.tool_calls is None
    assert answer.finish_reason in ("stop", "length")
    assert "18" in answer.message.content, answer.message.content


def test_round_trip_streamed(client):
    content, calls, finish = streamed(client, QUESTION, max_tokens=48)
    assert finish == "tool_calls" and content == ""
    assert calls and calls[0]["name"] == "get_weather" and calls[0]["id"].startswith("call_")
    for call in calls:
        jsonschema.validate(json.loads(call["arguments"]), SCHEMAS[call["name"]])
    assert "paris" in json.loads(calls[0]["arguments"])["city"].lower()

    messages = QUESTION + [{"role": "assistant", "content": None, "tool_calls": [
        {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]}]
    messages += [{"role": "tool", "tool_call_id": c["id"], "content": '{"temperature": 18, "sky": "sunny"}'} for c in calls]
    content, calls, finish = streamed(client, messages, max_tokens=40)
    assert calls == [] and finish in ("stop", "length")
    assert "18" in content, content


@pytest.mark.parametrize("tool_choice, name", [
    ("required", None),
    ({"type": "function", "function": {"name": "add"}}, "add"),
])
def test_forced_calls_validate_against_their_schema(client, tool_choice, name):
    messages = [{"role": "user", "content": "Add 17 and 25, then tell me the weather in Oslo."}]
    choice = ask(client, messages, tool_choice=tool_choice, parallel_tool_calls=False, max_tokens=64).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert len(choice.message.tool_calls) == 1   # parallel_tool_calls false: exactly one
    check_call(choice.message.tool_calls[0], name)


def test_none_gives_no_call(client):
    choice = ask(client, QUESTION, tool_choice="none", max_tokens=16).choices[0]
    assert choice.message.tool_calls is None
    assert choice.finish_reason in ("stop", "length")
    assert isinstance(choice.message.content, str) and choice.message.content


def refusal(client, **arguments):
    body = {"model": MODEL_ID, "messages": QUESTION, "max_tokens": 2, **arguments}
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**body)
    error = raised.value.response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    return error


def test_hostile_tool_requests_are_400_envelopes(client):
    assert refusal(client, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "rm_rf"}})["param"] == \
        "tool_choice.function.name"
    error = refusal(client, messages=QUESTION + [{"role": "tool", "content": "18"}])
    assert (error["param"], error["code"]) == ("messages.1.tool_call_id", "missing_required_parameter")
    assert refusal(client, messages=QUESTION + [{"role": "tool", "content": "18", "tool_call_id": "call_x"}])["param"] == \
        "messages.1.tool_call_id"
    many = [{"type": "function", "function": {"name": f"f{i}"}} for i in range(129)]
    assert refusal(client, tools=many)["param"] == "tools"
    huge = [{"type": "function", "function": {"name": "f", "description": "x" * 300_000}}]
    assert refusal(client, tools=huge)["param"] == "tools"
    assert refusal(client, tools=[{"type": "function", "function": {"name": "bad name!"}}])["param"] == "tools.0.function.name"
    error = refusal(client, tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}])
    assert error["code"] == "invalid_schema"
    bad_schema = {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}}}}
    error = refusal(client, tools=[bad_schema], tool_choice="required")
    assert (error["param"], error["code"]) == ("tools.0.function.parameters.properties.n.minimum", "unsupported_schema_feature")
    # The server still answers afterwards.
    assert ask(client, QUESTION, tool_choice="none", max_tokens=2).choices[0].finish_reason == "length"
