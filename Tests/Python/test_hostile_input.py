"""Hostile input against the real `raconteur serve`: each case answers a 4xx with OpenAI's error envelope (or the
correct result), never a crash, a 500 or a hang; and after all of them the server is alive and every feedback row
it acknowledged is stored unchanged.

The cases follow the defects of the hostile-input issue and their neighbours: overflowing numbers on every route,
adapter files and metadata made to be wrong, model files whose hyper-parameters disagree with their tensors, NUL
bytes in stored text, malformed HTTP and JSON, paths out of the adapters directory, cross-site requests and DNS
rebinding, slow clients, and scoring under adapters.
"""
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gguf import GGUFValueType

from gguf_edit import copy_with
from raconteur_server import MODEL_FILE, MODEL_ID, ROOT, Server, raconteur_binary

sys.path.insert(0, str(ROOT / "Tests" / "Fixtures"))
import write_tiny_model  # noqa: E402

pytestmark = pytest.mark.skipif(not MODEL_FILE.exists(), reason="needs models/SmolLM2-135M-Instruct.Q4_1.gguf")

ACKNOWLEDGED: dict[str, dict] = {}   # feedback id -> what the server said it stored


def write_adapter(path: Path, seed: int = 1, objectives=None, weights=None, rank: int = 4) -> Path:
    command = [str(raconteur_binary()), "adapter-init", "--model", str(MODEL_FILE), "--out", str(path),
               "--rank", str(rank), "--random-b", "0.05", "--seed", str(seed)]
    if objectives:
        command += ["--objectives", ",".join(objectives), "--weights", ",".join(str(w) for w in weights)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A folder outside the adapters directory, holding a valid adapter."""
    folder = tmp_path_factory.mktemp("outside")
    write_adapter(folder / "escaped.gguf", seed=3)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory, outside):
    adapters = tmp_path_factory.mktemp("adapters")
    write_adapter(adapters / "good.gguf", seed=11)
    write_adapter(adapters / "concise1.00-detailed0.00.gguf", 7, ["concise", "detailed"], [1, 0])
    write_adapter(adapters / "concise0.00-detailed1.00.gguf", 8, ["concise", "detailed"], [0, 1])
    os.mkfifo(adapters / "fifo.gguf")
    (adapters / "link.gguf").symlink_to(outside / "escaped.gguf")
    (adapters / "sub").symlink_to(outside, target_is_directory=True)
    running = Server(adapters=adapters)
    yield running
    running.stop()


def request(server, method: str, path: str, body=None, headers=None, timeout=60):
    """(status, headers, parsed JSON or raw text) over one fresh connection; body may be bytes or a JSON value."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    connection.request(method, path, body=data, headers=all_headers)
    response = connection.getresponse()
    raw = response.read()
    connection.close()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = raw.decode(errors="replace")
    return response.status, dict(response.getheaders()), parsed


def assert_envelope(status, payload, expected_status=None, code=None, param=None):
    assert 400 <= status < 500, (status, payload)
    if expected_status is not None:
        assert status == expected_status, (status, payload)
    assert isinstance(payload, dict) and set(payload) == {"error"}, payload
    error = payload["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    if param is not None:
        assert error["param"] == param, error


def post_feedback(server, body):
    status, _, payload = request(server, "POST", "/v1/feedback", body)
    if status == 201:
        ACKNOWLEDGED[payload["id"]] = {"prompt": body["prompt"], "chosen": body["chosen"], "rejected": body["rejected"],
                                       "labels": body["labels"]}
    return status, payload


# 1 and neighbours: numbers that overflow or allocate.

@pytest.mark.parametrize("body, param", [
    ({"prompt": ["a", "b"], "n": 4611686018427387904, "max_tokens": 1}, "n"),
    ({"prompt": [[1], [2]], "n": 9223372036854775807, "max_tokens": 1}, "n"),
    ({"prompt": "a", "n": -9223372036854775808, "max_tokens": 1}, "n"),
    ({"prompt": "a", "max_tokens": 9223372036854775807}, "max_tokens"),
    ({"prompt": "a", "max_tokens": -9223372036854775808}, "max_tokens"),
    ({"prompt": "a", "max_tokens": 1, "logprobs": 9223372036854775807}, "logprobs"),
    ({"prompt": "a", "max_tokens": 1, "n": 18446744073709551616}, "n"),
    ({"prompt": "a", "max_tokens": 1, "top_k": -9223372036854775808}, "top_k"),
    ({"prompt": [[9223372036854775807]], "max_tokens": 1}, "prompt"),
    ({"prompt": [[-1]], "max_tokens": 1}, "prompt"),
    ({"prompt": "a", "max_tokens": 1, "temperature": 1e308}, "temperature"),
    ({"prompt": "a", "max_tokens": 1, "adapters": [{"id": "good", "scale": 1e308}]}, "adapters.0.scale"),
])
def test_completion_numbers_out_of_range_are_400(server, body, param):
    status, _, payload = request(server, "POST", "/v1/completions", {"model": MODEL_ID, **body})
    assert_envelope(status, payload, 400, param=param)


@pytest.mark.parametrize("extra, param", [
    ({"n": 4611686018427387904}, "n"),
    ({"max_tokens": 9223372036854775807}, "max_tokens"),
    ({"max_completion_tokens": -1}, "max_completion_tokens"),
    ({"logprobs": True, "top_logprobs": 9223372036854775807}, "top_logprobs"),
    ({"seed": 1e30}, "seed"),
])
def test_chat_numbers_out_of_range_are_400(server, extra, param):
    status, _, payload = request(server, "POST", "/v1/chat/completions",
                                 {"model": MODEL_ID, "messages": [{"role": "user", "content": "hi"}], **extra})
    assert_envelope(status, payload, 400, param=param)


@pytest.mark.parametrize("body", [
    {"weights": [[1e308, 1e308]]},
    {"weights": [[1, 0]] * 1000},
    {"steps": 9223372036854775807},
    {"rank": 9223372036854775807},
    {"seed": -1},
    {"learning_rate": 1e308},
    {"min_pairs": -9223372036854775808},
])
def test_realign_numbers_out_of_range_are_400(server, body):
    status, _, payload = request(server, "POST", "/v1/realign", body)
    assert_envelope(status, payload, 400)


@pytest.mark.parametrize("tradeoff", [
    {"concise": 1e308, "detailed": 1e308},
    {"concise": -1},
    {"concise": 0, "detailed": 0},
    {"formal": 1},
])
def test_tradeoffs_that_cannot_be_normalised_are_400(server, tradeoff):
    status, _, payload = request(server, "POST", "/v1/completions",
                                 {"model": MODEL_ID, "prompt": "a", "max_tokens": 1, "tradeoff": tradeoff})
    assert_envelope(status, payload, 400, param="tradeoff")


# 2 and 3: adapter metadata.

@pytest.mark.parametrize("name, overrides", [
    ("repeated-objective", {"raconteur.objectives": ((["concise", "concise", "detailed"], GGUFValueType.STRING), GGUFValueType.ARRAY),
                            "raconteur.weights": (([1.0, 0.0, 0.0], GGUFValueType.FLOAT64), GGUFValueType.ARRAY)}),
    ("bad-objective-name", {"raconteur.objectives": ((["con cise", "detailed"], GGUFValueType.STRING), GGUFValueType.ARRAY),
                            "raconteur.weights": (([1.0, 0.0], GGUFValueType.FLOAT64), GGUFValueType.ARRAY)}),
    ("nan-weight", {"raconteur.objectives": ((["concise", "detailed"], GGUFValueType.STRING), GGUFValueType.ARRAY),
                    "raconteur.weights": (([float("nan"), 1.0], GGUFValueType.FLOAT64), GGUFValueType.ARRAY)}),
    ("negative-weight", {"raconteur.objectives": ((["concise", "detailed"], GGUFValueType.STRING), GGUFValueType.ARRAY),
                         "raconteur.weights": (([-1.0, 2.0], GGUFValueType.FLOAT64), GGUFValueType.ARRAY)}),
    ("zero-weights", {"raconteur.objectives": ((["concise", "detailed"], GGUFValueType.STRING), GGUFValueType.ARRAY),
                      "raconteur.weights": (([0.0, 0.0], GGUFValueType.FLOAT64), GGUFValueType.ARRAY)}),
    ("huge-weights", {"raconteur.objectives": ((["concise", "detailed"], GGUFValueType.STRING), GGUFValueType.ARRAY),
                      "raconteur.weights": (([1e308, 1e308], GGUFValueType.FLOAT64), GGUFValueType.ARRAY)}),
    ("max-version", {"raconteur.version": (2**63 - 1, GGUFValueType.INT64)}),
    ("zero-version", {"raconteur.version": (0, GGUFValueType.UINT32)}),
    ("infinite-alpha", {"adapter.lora.alpha": (float("inf"), GGUFValueType.FLOAT32)}),
    ("negative-alpha", {"adapter.lora.alpha": (-4.0, GGUFValueType.FLOAT32)}),
    ("huge-alpha", {"adapter.lora.alpha": (1e30, GGUFValueType.FLOAT32)}),
])
def test_adapters_with_invalid_metadata_are_refused_at_load(server, name, overrides):
    copy_with(server.adapters / "good.gguf", server.adapters / f"{name}.gguf", overrides)
    for _ in range(2):   # loading twice under the same id was the version overflow
        status, _, payload = request(server, "POST", "/v1/adapters", {"id": name})
        assert_envelope(status, payload, 400, code="invalid_adapter")
    status, _, payload = request(server, "POST", "/v1/completions",
                                 {"model": MODEL_ID, "prompt": "Hi", "max_tokens": 2, "tradeoff": {"concise": 1}})
    assert status == 200, payload


def test_the_adapter_init_command_refuses_repeated_objectives(tmp_path):
    result = subprocess.run([str(raconteur_binary()), "adapter-init", "--model", str(MODEL_FILE), "--out",
                             str(tmp_path / "a.gguf"), "--objectives", "concise,concise,detailed", "--weights", "1,0,0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode > 0 and "listed twice" in result.stderr + result.stdout
    assert not (tmp_path / "a.gguf").exists()


# 4: model files whose hyper-parameters disagree with their tensors.

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "tiny-llama.gguf"
    write_tiny_model.write_model(str(path), "llama")
    return path


def generate(model: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(raconteur_binary()), "generate", "--model", str(model), "--prompt", "hello",
                           "--max-tokens", "2", "--temperature", "0", "--seed", "0"],
                          capture_output=True, text=True, timeout=120)


def test_the_tiny_model_itself_generates(tiny_model):
    result = generate(tiny_model)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("key, value, vtype", [
    ("llama.block_count", 2**63 - 1, GGUFValueType.UINT64),
    ("llama.block_count", 2**40, GGUFValueType.UINT64),
    ("llama.block_count", 3, GGUFValueType.UINT32),
    ("llama.block_count", 0, GGUFValueType.UINT32),
    ("llama.embedding_length", 2**40, GGUFValueType.UINT64),
    ("llama.attention.head_count", 2**62, GGUFValueType.UINT64),
    ("llama.attention.head_count_kv", 0, GGUFValueType.UINT32),
    ("llama.feed_forward_length", 2**50, GGUFValueType.UINT64),
    ("llama.context_length", 0, GGUFValueType.UINT32),
    ("llama.context_length", 2**62, GGUFValueType.UINT64),
    ("llama.vocab_size", 2**40, GGUFValueType.UINT64),
    ("llama.attention.layer_norm_rms_epsilon", float("nan"), GGUFValueType.FLOAT32),
    ("llama.attention.layer_norm_rms_epsilon", 0.0, GGUFValueType.FLOAT32),
    ("llama.rope.freq_base", float("inf"), GGUFValueType.FLOAT32),
    ("llama.rope.freq_base", -1.0, GGUFValueType.FLOAT32),
    ("llama.rope.dimension_count", 2**40, GGUFValueType.UINT64),
])
def test_model_files_that_disagree_with_themselves_are_refused_naming_the_key(tiny_model, tmp_path, key, value, vtype):
    broken = copy_with(tiny_model, tmp_path / "broken.gguf", {key: (value, vtype)})
    result = generate(broken)
    assert result.returncode > 0, f"exit {result.returncode} (a negative code is a signal): {result.stderr}"
    assert key in result.stderr + result.stdout


# 5: NUL bytes in stored text, byte for byte.

def test_feedback_texts_with_nul_are_stored_byte_for_byte(server):
    bodies = [
        {"prompt": "\u0000leading", "chosen": "a\u0000b", "rejected": "a", "labels": {"concise": 1}},
        {"prompt": "mid\u0000dle", "chosen": "x", "rejected": "x\u0000", "labels": {"detailed": -1}},
        {"prompt": "\u0000", "chosen": "\u0000\u0000", "rejected": "\u0000", "labels": {"concise": 1}},
    ]
    for body in bodies:
        status, payload = post_feedback(server, body)
        assert status == 201, payload
        stored = request(server, "GET", f"/v1/feedback/{payload['id']}")[2]
        if isinstance(stored, dict) and "prompt" in stored:
            assert (stored["prompt"], stored["chosen"], stored["rejected"]) == (body["prompt"], body["chosen"], body["rejected"])
    # The mirror image of a stored pair with NULs is still the same preference.
    status, payload = post_feedback(server, {"prompt": "mid\u0000dle", "chosen": "x\u0000", "rejected": "x",
                                             "labels": {"detailed": 1}})
    assert_envelope(status, payload, 409)


def test_completion_prompts_with_nul_are_recorded_byte_for_byte(server):
    prompt = "Say\u0000 hi"
    status, _, first = request(server, "POST", "/v1/completions",
                               {"model": MODEL_ID, "prompt": prompt, "max_tokens": 3, "temperature": 0, "ignore_eos": True})
    assert status == 200, first
    status, _, second = request(server, "POST", "/v1/completions",
                                {"model": MODEL_ID, "prompt": prompt, "max_tokens": 6, "temperature": 0, "ignore_eos": True})
    assert status == 200, second
    # Three and six greedy tokens of the same prompt: two different, non-empty texts.
    texts = [first["choices"][0]["text"], second["choices"][0]["text"]]
    assert texts[0] != texts[1] and all(t.strip() for t in texts), texts
    status, _, payload = request(server, "POST", "/v1/feedback", {
        "chosen_id": first["choices"][0]["completion_id"], "rejected_id": second["choices"][0]["completion_id"],
        "labels": {"concise": 1}})
    assert status == 201, payload
    ACKNOWLEDGED[payload["id"]] = {"prompt": prompt, "chosen": texts[0], "rejected": texts[1], "labels": {"concise": 1}}


# 6: malformed HTTP.

def raw_exchange(server, data: bytes, timeout=10) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received:
                    head, _, rest = received.partition(b"\r\n\r\n")
                    length = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
                    if length and len(rest) >= length[0]:
                        break
        except (socket.timeout, ConnectionResetError):
            pass
    return received


@pytest.mark.parametrize("path", ["/v1/completions", "/v1/feedback", "/v1/adapters", "/v1/realign"])
def test_a_malformed_chunked_body_is_a_400(server, path):
    data = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n").encode()
    received = raw_exchange(server, data)
    status_line = received.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 4"), received[:300]
    body = received.partition(b"\r\n\r\n")[2]
    assert_envelope(int(status_line.split()[1]), json.loads(body), 400, code="malformed_body")


# 8 and 9: the adapters directory is a boundary.

@pytest.mark.parametrize("body, expected", [
    ({"id": "fifo"}, 400),
    ({"id": "x", "path": "fifo.gguf"}, 400),
    ({"id": "link"}, 400),
    ({"id": "x", "path": "sub/escaped.gguf"}, 400),
    ({"id": "x", "path": "good.gguf\u0000.gguf"}, 400),
    ({"id": "x", "path": "good\n.gguf"}, 400),
    ({"id": "x", "path": "../outside/escaped.gguf"}, 400),
    ({"id": "x", "path": "/etc/passwd.gguf"}, 400),
    ({"id": "x", "path": "./good.gguf"}, 400),
    ({"id": "x", "path": "sub"}, 400),
    ({"id": "go\u0000od"}, 400),
    ({"id": "go\tod"}, 400),
    ({"id": "x" * 65}, 400),
    ({"id": "missing"}, 404),
])
def test_adapter_paths_stay_inside_the_directory(server, body, expected):
    started = time.time()
    status, _, payload = request(server, "POST", "/v1/adapters", body, timeout=20)
    assert time.time() - started < 10, "the load must not block"
    assert_envelope(status, payload, expected)


def test_links_and_fifos_in_the_adapters_directory_were_skipped_at_start(server):
    status, _, listing = request(server, "GET", "/v1/adapters")
    assert status == 200
    names = {adapter["id"] for adapter in listing["data"]}
    assert "good" in names and not names & {"fifo", "link"}


# 10: the open loopback server and web pages.

def test_a_foreign_host_is_refused_everywhere(server):
    for method, path in [("GET", "/v1/feedback/export"), ("GET", "/v1/feedback"), ("GET", "/v1/models"),
                         ("GET", "/metrics"), ("GET", "/health")]:
        status, _, payload = request(server, method, path, headers={"Host": "evil.example"})
        assert_envelope(status, payload, 403, code="host_not_allowed")
    status, _, payload = request(server, "POST", "/v1/feedback",
                                 {"prompt": "p", "chosen": "a", "rejected": "b", "labels": {"concise": 1}},
                                 headers={"Host": "evil.example:8080"})
    assert_envelope(status, payload, 403)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.0.0.1:1", "LOCALHOST:80"])
def test_loopback_names_are_answered(server, host):
    status, _, _ = request(server, "GET", "/v1/models", headers={"Host": host})
    assert status == 200


def count_feedback(server) -> int:
    status, _, text = request(server, "GET", "/v1/feedback/export")
    assert status == 200
    return len([line for line in text.splitlines() if line.strip()]) if isinstance(text, str) else 1


def test_cross_site_writes_are_refused_and_store_nothing(server):
    before = count_feedback(server)
    body = json.dumps({"prompt": "cross", "chosen": "site", "rejected": "write", "labels": {"concise": 1}}).encode()
    # A form or fetch with text/plain needs no preflight: refused by its origin, and by its media type.
    status, _, payload = request(server, "POST", "/v1/feedback", body,
                                 headers={"Content-Type": "text/plain", "Origin": "https://evil.example"})
    assert_envelope(status, payload, 403, code="origin_not_allowed")
    status, _, payload = request(server, "POST", "/v1/feedback", body, headers={"Content-Type": "text/plain"})
    assert_envelope(status, payload, 415, code="unsupported_media_type")
    status, _, payload = request(server, "POST", "/v1/feedback", body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_envelope(status, payload, 415)
    status, _, payload = request(server, "POST", "/v1/feedback", body, headers={"Origin": "https://evil.example"})
    assert_envelope(status, payload, 403)
    status, _, payload = request(server, "POST", "/v1/realign", b"", headers={"Origin": "null", "Content-Type": "text/plain"})
    assert_envelope(status, payload, 403)
    # A preflight from an unlisted origin gets no CORS grant.
    status, headers, _ = request(server, "OPTIONS", "/v1/feedback",
                                 headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    assert count_feedback(server) == before


def test_a_page_served_by_the_server_itself_may_post(server):
    status, payload = post_feedback(server, {"prompt": "same origin", "chosen": "yes", "rejected": "no",
                                             "labels": {"concise": 1}})
    status, _, payload = request(server, "POST", "/v1/feedback",
                                 {"prompt": "same origin 2", "chosen": "yes", "rejected": "no", "labels": {"concise": 1}},
                                 headers={"Origin": f"http://127.0.0.1:{server.port}"})
    assert status == 201, payload
    ACKNOWLEDGED[payload["id"]] = {"prompt": "same origin 2", "chosen": "yes", "rejected": "no", "labels": {"concise": 1}}


@pytest.fixture(scope="module")
def configured_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("configured")
    config = folder / "raconteur.toml"
    config.write_text('[server]\nallowed_hosts = ["raconteur.internal"]\ncors_origins = ["https://app.example.com"]\n'
                      "idle_timeout = 1\nread_timeout = 1\n")
    running = Server("--config", str(config))
    yield running
    running.stop()


def test_configured_hosts_and_origins_are_answered(configured_server):
    server = configured_server
    status, _, _ = request(server, "GET", "/v1/models", headers={"Host": "raconteur.internal:443"})
    assert status == 200
    status, _, payload = request(server, "GET", "/v1/models", headers={"Host": "other.internal"})
    assert_envelope(status, payload, 403)
    status, headers, _ = request(server, "OPTIONS", "/v1/chat/completions",
                                 headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "authorization, content-type"})
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    status, headers, _ = request(server, "GET", "/v1/models", headers={"Origin": "https://app.example.com"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    status, headers, payload = request(server, "GET", "/v1/models", headers={"Origin": "https://evil.example"})
    assert_envelope(status, payload, 403)


# 11: slow clients.

def closed_within(server, parts: list[bytes], interval: float, limit: float) -> float:
    """Seconds until the server closed a connection that sends `parts` every `interval` seconds."""
    started = time.time()
    with socket.create_connection(("127.0.0.1", server.port), timeout=limit) as connection:
        connection.settimeout(interval)
        for part in parts:
            try:
                connection.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                return time.time() - started
            try:
                if connection.recv(65536) == b"":
                    return time.time() - started
            except socket.timeout:
                pass
            except ConnectionResetError:
                return time.time() - started
            if time.time() - started > limit:
                break
    raise AssertionError(f"the connection was still open after {limit} s")


def test_trickled_headers_time_out(configured_server):
    head = b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 200
    assert closed_within(configured_server, [bytes([b]) for b in head], 0.25, 20) < 10


def test_a_trickled_body_times_out(configured_server):
    body = json.dumps({"model": MODEL_ID, "prompt": "hi", "max_tokens": 1}).encode()
    head = (f"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    assert closed_within(configured_server, [head] + [bytes([b]) for b in body], 0.25, 20) < 10


def test_a_server_with_slow_clients_still_serves(configured_server):
    status, _, payload = request(configured_server, "POST", "/v1/completions",
                                 {"model": MODEL_ID, "prompt": "hi", "max_tokens": 1})
    assert status == 200, payload


# 12: scoring applies the request's adapters exactly as generation does.

def test_echo_scores_use_the_adapter_mixture(server):
    prompt = "The capital of France is"
    status, _, generated = request(server, "POST", "/v1/completions", {
        "model": f"{MODEL_ID}:good", "prompt": prompt, "max_tokens": 6, "temperature": 0, "logprobs": 0,
        "ignore_eos": True})
    assert status == 200, generated
    text = generated["choices"][0]["text"]
    reported = generated["choices"][0]["logprobs"]
    count = len(reported["tokens"])

    def echo(**selection):
        status, _, payload = request(server, "POST", "/v1/completions", {
            "prompt": prompt + text, "max_tokens": 0, "echo": True, "logprobs": 0, **selection})
        assert status == 200, payload
        scored = payload["choices"][0]["logprobs"]
        # The text reads back as the same tokens, so the last `count` scores are the generated tokens'.
        assert scored["tokens"][-count:] == reported["tokens"]
        return scored["token_logprobs"][-count:]

    assert echo(model=f"{MODEL_ID}:good") == pytest.approx(reported["token_logprobs"], abs=1e-4)
    assert echo(adapters=[{"id": "good", "scale": 1}]) == pytest.approx(reported["token_logprobs"], abs=1e-4)
    base = echo(model=MODEL_ID)
    assert max(abs(a - b) for a, b in zip(base, reported["token_logprobs"])) > 1e-3, "the adapter must change the scores"


# 14: JSON that is not JSON.

@pytest.mark.parametrize("text", [
    '{"model": "m", "prompt": "a",}',
    '{"model": "m", "prompt": ["a", "b",]}',
    "{'model': 'm'}",
    '{"prompt": "a" /* comment */}',
    '{"prompt": "a", "max_tokens": 01}',
    '{"prompt": "a", "temperature": NaN}',
    '{"prompt": "a", "temperature": Infinity}',
    '{"prompt": "a"} {"prompt": "b"}',
    '{"prompt": "a\u0001"}',
    '{"prompt": "\\x41"}',
    "[" * 100000 + "]" * 100000,
    '{"a":' * 5000 + "1" + "}" * 5000,
])
@pytest.mark.parametrize("path", ["/v1/completions", "/v1/chat/completions", "/v1/feedback", "/v1/adapters", "/v1/realign"])
def test_non_standard_json_is_refused(server, path, text):
    status, _, payload = request(server, "POST", path, text.encode())
    assert_envelope(status, payload, 400, code="invalid_json")


# Tool calls are a chat feature (test_tool_calls.py); /v1/completions refuses their fields, never ignores them.

@pytest.mark.parametrize("extra, param", [
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"parallel_tool_calls": True}, "parallel_tool_calls"),
])
def test_completions_refuse_tool_fields(server, extra, param):
    status, _, payload = request(server, "POST", "/v1/completions", {"model": MODEL_ID, "max_tokens": 2, "prompt": "hi", **extra})
    assert_envelope(status, payload, 400, code="unsupported_parameter", param=param)


@pytest.mark.parametrize("extra, param, code", [
    ({"tool_choice": "required"}, "tool_choice", "invalid_value"),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": [{"id": "c"}]}]},
     "messages.1.tool_calls.0.function", "missing_required_parameter"),
    ({"messages": [{"role": "tool", "content": "42", "tool_call_id": "c"}]}, "messages.0.tool_call_id", "invalid_value"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}}},
     "tool_choice.function.name", "invalid_value"),
])
def test_malformed_tool_requests_are_refused(server, extra, param, code):
    body = {"model": MODEL_ID, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}], **extra}
    status, _, payload = request(server, "POST", "/v1/chat/completions", body)
    assert_envelope(status, payload, 400, code=code, param=param)


@pytest.mark.parametrize("extra", [{"response_format": {"type": "text"}}, {"tools": []}, {"tool_choice": "none"}])
def test_the_values_that_ask_for_nothing_pass(server, extra):
    status, _, payload = request(server, "POST", "/v1/chat/completions",
                                 {"model": MODEL_ID, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}], **extra})
    assert status == 200, payload


def test_store_false_keeps_the_request_out_of_the_store(server):
    for path, body in [("/v1/completions", {"prompt": "Keep this private", "max_tokens": 2}),
                       ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Keep this private"}], "max_tokens": 2})]:
        status, _, kept = request(server, "POST", path, {"model": MODEL_ID, "temperature": 0, **body})
        status, _, private = request(server, "POST", path, {"model": MODEL_ID, "temperature": 0, "store": False, **body})
        assert status == 200, private
        status, _, payload = request(server, "POST", "/v1/feedback", {
            "chosen_id": kept["choices"][0]["completion_id"], "rejected_id": private["choices"][0]["completion_id"],
            "labels": {"concise": 1}})
        assert_envelope(status, payload)
        assert private["choices"][0]["completion_id"] in payload["error"]["message"]


# After everything: alive, and every acknowledged row unchanged.

def test_zz_the_server_is_alive_and_every_acknowledged_row_is_intact(server):
    assert server.process.poll() is None, "".join(server.log[-50:])
    status, _, payload = request(server, "POST", "/v1/completions", {"model": MODEL_ID, "prompt": "Still here?", "max_tokens": 2})
    assert status == 200, payload
    status, _, text = request(server, "GET", "/v1/feedback/export")
    assert status == 200
    exported = [json.loads(line) for line in text.splitlines() if line.strip()]
    by_content = {(row["prompt"], row["chosen"], row["rejected"]): row for row in exported}
    for pair_id, expected in ACKNOWLEDGED.items():
        row = by_content.get((expected["prompt"], expected["chosen"], expected["rejected"]))
        assert row is not None, f"{pair_id} is missing from the export"
        assert row["labels"] == expected["labels"]
    assert len(ACKNOWLEDGED) >= 5
