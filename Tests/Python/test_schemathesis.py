"""Schemathesis (PyPI) against a live `raconteur serve`, driven by the server's own OpenAPI document
(`GET /openapi.json`, Sources/Server/OpenAPI/openapi.json): for a bounded number of generated requests per route
(valid and invalid ones), no answer is a 5xx and every answer conforms to the document: its status code, its
content type, its headers and its body's schema.

The server is made cheap to fuzz: a 128-token context, `limits.max_tokens = 16`, at most 2 choices a request, 16 KiB
bodies. `POST /v1/realign` is left out of the main run: a generated body with `min_pairs: 2` and `steps: 10000` on
the pairs the run itself stores would train for minutes. It gets its own run against a server whose store is
empty, where every valid body is refused with 409 `not_enough_feedback` before anything trains (the test checks
that no job was created). A third run sends a key without the admin scope to the admin routes. Hypothesis'
database and the reports live in pytest's temporary directory, never in the repository. The three runs take
about three minutes on two cores (RACONTEUR_SCHEMATHESIS_EXAMPLES lowers or raises the examples per route).
"""
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from raconteur_server import MODEL_FILE, Server, raconteur_binary

pytestmark = pytest.mark.skipif(not MODEL_FILE.exists(), reason="needs models/SmolLM2-135M-Instruct.Q4_1.gguf")

ADMIN_KEY = "sk-schemathesis-admin"
APP_KEY = "sk-schemathesis-app"
CHECKS = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_headers_conformance", "response_schema_conformance"])
EXAMPLES = int(os.environ.get("RACONTEUR_SCHEMATHESIS_EXAMPLES", "15"))
SEED = os.environ.get("RACONTEUR_SCHEMATHESIS_SEED", "22")
CONFIG = """
[limits]
max_tokens = 16
max_choices = 2
max_body_bytes = 16384
request_timeout = 30
"""


def start_server(folder: Path, adapters: Path) -> Server:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "keys").write_text(f"{ADMIN_KEY} id=admin scopes=admin\n{APP_KEY} id=app scopes=inference,feedback\n")
    (folder / "raconteur.toml").write_text(CONFIG)
    return Server("--config", str(folder / "raconteur.toml"), "--ctx", "128", "--api-keys", str(folder / "keys"),
                  adapters=adapters, store=folder / "store.sqlite")


def write_adapter(path: Path, seed: int, weights: list[int]) -> None:
    subprocess.run([str(raconteur_binary()), "adapter-init", "--model", str(MODEL_FILE), "--out", str(path),
                    "--rank", "2", "--random-b", "0.05", "--seed", str(seed),
                    "--objectives", "concise,detailed", "--weights", ",".join(map(str, weights))],
                   check=True, capture_output=True, timeout=120)


def schemathesis(server: Server, scratch: Path, key: str, *selection: str, examples: int = EXAMPLES) -> dict[str, int]:
    """Runs schemathesis on the served document; fails the test on any failure it reports. Returns the number of
    test cases of each operation (from its JUnit report)."""
    scratch.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "schemathesis.cli", "run", server.root + "/openapi.json", "--url", server.root,
               "--checks", CHECKS, "--max-examples", str(examples), "--seed", SEED, "--workers", "1",
               "--phases", "examples,coverage,fuzzing", "--request-timeout", "60", "--no-color",
               "--header", f"Authorization: Bearer {key}",
               "--generation-database", str(scratch / "hypothesis"),
               "--suppress-health-check", "all",
               "--report", "junit", "--report-dir", str(scratch / "report"), *selection]
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=scratch,
                         env={**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(scratch / "hypothesis-storage")})
    output = run.stdout + run.stderr
    print(f"schemathesis took {time.monotonic() - started:.0f} s\n{output[-4000:]}")
    assert run.returncode == 0, output[-20000:]
    report = next((scratch / "report").glob("*.xml"))
    cases = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        assert case.find("failure") is None and case.find("error") is None, ElementTree.tostring(case, encoding="unicode")
        cases[case.get("name")] = cases.get(case.get("name"), 0) + 1
    return cases


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schemathesis")
    adapters = folder / "adapters"
    adapters.mkdir()
    write_adapter(adapters / "concise1.00-detailed0.00.gguf", 1, [1, 0])
    write_adapter(adapters / "concise0.00-detailed1.00.gguf", 2, [0, 1])
    running = start_server(folder / "server", adapters)
    yield running, folder
    running.stop()


def operations_of(server: Server) -> set[str]:
    status, document = server.request("GET", "/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1.")
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
            if method in {"get", "put", "post", "delete", "patch"}}


def test_every_route_answers_as_documented(served):
    server, folder = served
    cases = schemathesis(server, folder / "all", ADMIN_KEY, "--exclude-operation-id", "startRealign")
    # Schemathesis does not fuzz the route it loaded the document from; OpenAPITests checks that one.
    expected = operations_of(server) - {"POST /v1/realign", "GET /openapi.json"}
    assert set(cases) == expected, f"operations not run: {sorted(expected - set(cases))}"
    assert server.process.poll() is None, "the server died"
    status, _ = server.request("GET", "/health")
    assert status == 200


def test_a_key_without_the_admin_scope_gets_the_documented_refusal(served):
    server, folder = served
    admin_only = ["listFeedback", "exportFeedback", "deleteFeedback", "deleteCompletion", "loadAdapter", "unloadAdapter",
                  "listRealign", "getRealign", "cancelRealign"]
    selection = [argument for operation in admin_only for argument in ("--include-operation-id", operation)]
    cases = schemathesis(server, folder / "app", APP_KEY, *selection, examples=5)
    assert len(cases) == len(admin_only)
    status, body = server.request("GET", "/v1/feedback", headers={"Authorization": f"Bearer {APP_KEY}"})
    assert status == 403 and body["error"]["code"] == "missing_scope"


def test_starting_a_realignment_answers_as_documented_without_training(tmp_path):
    """An empty store: every body that passes validation meets 409 not_enough_feedback, so nothing trains."""
    adapters = tmp_path / "adapters"
    adapters.mkdir()
    server = start_server(tmp_path / "server", adapters)
    try:
        cases = schemathesis(server, tmp_path / "realign", ADMIN_KEY, "--include-operation-id", "startRealign")
        assert list(cases) == ["POST /v1/realign"]
        status, jobs = server.request("GET", "/v1/realign", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert status == 200 and jobs["data"] == [], "a generated request started a job"
    finally:
        server.stop()
