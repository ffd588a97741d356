"""Structured output on the real server with the official client: `response_format` json_object and json_schema
(strict), llama.cpp's `grammar` (GBNF) and `json_schema` fields; outputs parse and validate (jsonschema), streamed and
not, with n = 2 and with two trade-offs in one batch; hostile schemas and grammars are refused quickly and never stall
the batch. The 50-prompt evidence run is benchmarks/structured_output.py (release build)."""
import json
import time
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import openai
import pytest

from raconteur_server import MODEL_FILE, MODEL_ID
from structured_schemas import ARITHMETIC, MAX_TOKENS, SCHEMAS, is_arithmetic

pytestmark = pytest.mark.skipif(not MODEL_FILE.exists(), reason="needs models/SmolLM2-135M-Instruct.Q4_1.gguf")

PROMPTS = {
    "person": "Invent a person and describe them as JSON.",
    "route": "Give a short route between two points as JSON.",
    "event": "Describe a concert as JSON.",
}


def strict_format(name):
    return {"type": "json_schema", "json_schema": {"name": name, "schema": SCHEMAS[name], "strict": True}}


def check(text, name):
    value = json.loads(text)
    jsonschema.validate(value, SCHEMAS[name])
    return value


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_json_schema_outputs_validate(client, name):
    response = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": PROMPTS[name]}], max_tokens=MAX_TOKENS,
        temperature=0.8, seed=5, n=2, response_format=strict_format(name))
    assert len(response.choices) == 2
    for choice in response.choices:
        assert choice.finish_reason == "stop", choice.message.content
        check(choice.message.content, name)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_streamed_json_schema_equals_the_whole_one(client, name):
    arguments = dict(model=MODEL_ID, messages=[{"role": "user", "content": PROMPTS[name]}], max_tokens=MAX_TOKENS,
                     temperature=0, response_format=strict_format(name))
    whole = client.chat.completions.create(**arguments).choices[0].message.content
    pieces, reasons = [], []
    for chunk in client.chat.completions.create(stream=True, **arguments):
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            if choice.finish_reason:
                reasons.append(choice.finish_reason)
    assert "".join(pieces) == whole
    assert reasons == ["stop"]
    check(whole, name)


def test_two_tradeoffs_and_free_text_in_one_batch(client, server):
    """Rows with different constraints (two schemas, none) and trade-offs run side by side; each row's output is what
    it would be alone (batch invariance)."""
    def ask(name, tradeoff):
        extra = {"tradeoff": tradeoff} if tradeoff else {}
        kwargs = dict(response_format=strict_format(name)) if name else {}
        return client.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": PROMPTS[name or "person"]}], max_tokens=MAX_TOKENS,
            temperature=0, extra_body=extra, **kwargs).choices[0].message.content

    jobs = [("person", {"concise": 0.8, "detailed": 0.2}), ("route", {"concise": 0.2, "detailed": 0.8}), (None, None)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        together = list(pool.map(lambda job: ask(*job), jobs))
    check(together[0], "person")
    check(together[1], "route")
    alone = [ask(*job) for job in jobs[:2]]
    assert alone == together[:2]


def test_json_object_and_llama_cpp_json_schema(client):
    text = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": "A fruit as JSON."}], max_tokens=60, temperature=0,
        response_format={"type": "json_object"}).choices[0].message.content
    # Either complete (a JSON object) or cut by max_tokens: then a prefix of one.
    assert text.lstrip().startswith("{")
    response = client.completions.create(model=MODEL_ID, prompt="An event:", max_tokens=MAX_TOKENS, temperature=0,
                                         extra_body={"json_schema": SCHEMAS["event"]})
    assert response.choices[0].finish_reason == "stop"
    check(response.choices[0].text, "event")


def test_gbnf_grammar_gives_only_strings_it_accepts(client):
    response = client.completions.create(model=MODEL_ID, prompt="Some arithmetic: 12*(3+4) and", max_tokens=24,
                                         temperature=1.0, seed=11, n=4, extra_body={"grammar": ARITHMETIC})
    for choice in response.choices:
        if choice.finish_reason == "stop":
            assert is_arithmetic(choice.text), choice.text
        else:
            # Cut by max_tokens: a prefix of an expression, so closing it must give one.
            assert is_arithmetic(choice.text + ")" * (choice.text.count("(") - choice.text.count(")"))) or \
                is_arithmetic(choice.text + "1" + ")" * (choice.text.count("(") - choice.text.count(")"))), choice.text


def test_logprobs_report_the_constrained_distribution(client):
    response = client.completions.create(model=MODEL_ID, prompt="Answer:", max_tokens=4, temperature=0, logprobs=5,
                                         extra_body={"grammar": 'root ::= "yes" | "no"'})
    choice = response.choices[0]
    assert choice.text in ("yes", "no") and choice.finish_reason == "stop"
    first = choice.logprobs.top_logprobs[0]
    # Only tokens the grammar allows are alternatives, and their probabilities sum to at most 1.
    assert all(("yes".startswith(token) or "no".startswith(token)) and token for token in first), first
    assert sum(2.718281828 ** value for value in first.values()) <= 1.0001


def test_stop_sequences_apply_under_a_grammar(client):
    response = client.completions.create(model=MODEL_ID, prompt="Digits:", max_tokens=16, temperature=1.0, seed=2,
                                         stop=["5"], extra_body={"grammar": "root ::= [0-9]{16}"})
    assert "5" not in response.choices[0].text


HOSTILE = [
    ({"grammar": 'root ::= root "a" | "b"'}, "grammar", "invalid_grammar"),
    ({"grammar": "root ::= a\na ::= \"x\" a"}, "grammar", "invalid_grammar"),
    ({"grammar": 'root ::= "' + "ab" * 125 + '"{1000}'}, "grammar", "invalid_grammar"),
    ({"grammar": "root ::= " + "(" * 100 + '"a"' + ")" * 100}, "grammar", "invalid_grammar"),
    ({"grammar": 'root ::= "\\q"'}, "grammar", "invalid_grammar"),
    ({"json_schema": {"enum": list(range(5000))}}, "json_schema.enum", "schema_too_complex"),
    ({"json_schema": {"type": "string", "pattern": "^a+$"}}, "json_schema.pattern", "unsupported_schema_feature"),
    ({"json_schema": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}}},
     "json_schema.properties.n.minimum", "unsupported_schema_feature"),
    ({"json_schema": {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}}, "json_schema", "invalid_grammar"),
    ({"json_schema": {"$ref": "https://example.com/schema.json"}}, "json_schema.$ref", "unsupported_schema_feature"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array", "maxItems": 100000}}}},
     "response_format.json_schema.schema.maxItems", "schema_too_complex"),
    ({"response_format": {"type": "yaml"}}, "response_format.type", "invalid_value"),
    ({"response_format": {"type": "json_object"}, "grammar": 'root ::= "a"'}, "grammar", "invalid_value"),
]


@pytest.mark.parametrize("extra, param, code", HOSTILE)
def test_hostile_schemas_and_grammars_are_refused_quickly(client, extra, param, code):
    started = time.monotonic()
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model=MODEL_ID, prompt="x", max_tokens=4, extra_body=extra)
    assert time.monotonic() - started < 5
    error = refused.value.body
    assert (error["param"], error["code"]) == (param, code), error


def test_an_ambiguous_grammar_fails_its_own_request_only(client):
    """2^n parses after n a's: the stack limit ends that sequence with a 400 while its batch neighbour finishes."""
    ambiguous = 'root ::= x\nx ::= "a" x "b" | "a" x "c" | "aaaaaaaaaaaaaaaa"'

    def hostile():
        try:
            client.completions.create(model=MODEL_ID, prompt="hello", max_tokens=40, temperature=0,
                                      extra_body={"grammar": ambiguous})
        except openai.BadRequestError as error:
            return error.body["code"]
        return "accepted"

    with ThreadPoolExecutor(2) as pool:
        refused = pool.submit(hostile)
        other = pool.submit(lambda: client.completions.create(model=MODEL_ID, prompt="Once upon a time", max_tokens=16,
                                                              temperature=0))
        assert refused.result() == "grammar_too_complex"
        assert other.result().choices[0].finish_reason == "length"
