"""Adapter history on the real server: versions listed and numbered by the store, rollback under load (streams
started before it finish on their version, later requests get the rolled-back one), pinning with
`model: "<model>:<adapter>@<n>"`, versions durable across a restart on the same store and adapters directory,
pruning to `--keep-versions`, and rollback refused to a key without the admin scope.

Versions are promoted by POST /v1/adapters (files made with `raconteur adapter-init`), the same path a realignment
job's promotion takes through the catalog.
"""
import threading
import urllib.request

import pytest
from openai import OpenAI

from raconteur_server import MODEL_FILE, MODEL_ID, Server
from test_adapters_hot_swap import write_adapter

pytestmark = pytest.mark.skipif(not MODEL_FILE.exists(), reason="needs models/SmolLM2-135M-Instruct.Q4_1.gguf")

ADMIN = "sk-history-admin-0123456789"
APP = "sk-history-app-0123456789"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    adapters = root / "adapters"
    adapters.mkdir()
    write_adapter(adapters / "h.gguf", seed=11)
    for k in (2, 3, 4):
        write_adapter(root / f"h{k}.gguf", seed=11 + k)
    keys = root / "keys.txt"
    keys.write_text(f"{ADMIN} id=ops scopes=admin\n{APP} id=app scopes=inference,feedback\n")
    state = {"root": root, "adapters": adapters, "store": root / "store.sqlite", "keys": keys}
    state["server"] = start(state)
    yield state
    state["server"].stop()


def start(state) -> Server:
    return Server("--api-keys", str(state["keys"]), "--keep-versions", "3", adapters=state["adapters"], store=state["store"])


def admin(server, method, path, body=None):
    return server.request(method, path, body, headers={"Authorization": f"Bearer {ADMIN}"})


def promote(state, k):
    """Puts h<k>.gguf in the adapters directory and loads it as the next version of `h`."""
    (state["adapters"] / f"h{k}.gguf").write_bytes((state["root"] / f"h{k}.gguf").read_bytes())
    status, body = admin(state["server"], "POST", "/v1/adapters", {"id": "h", "path": f"h{k}.gguf"})
    assert status == 200, body
    return body["version"]


def versions(server):
    status, body = admin(server, "GET", "/v1/adapters/h/versions")
    assert status == 200, body
    return body["data"]


def client(server, key=APP) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=120)


def streamed_versions(server, model, started: threading.Event | None = None):
    """Every adapter version the chunks of one streamed completion report."""
    seen = set()
    stream = client(server).completions.create(model=model, prompt="Once upon a time", max_tokens=24, temperature=0,
                                               stream=True, extra_body={"ignore_eos": True})
    for chunk in stream:
        seen.update(entry["version"] for entry in chunk.model_extra["mixture"]["adapters"])
        if started is not None:
            started.set()
    return seen


def test_versions_pinning_rollback_under_load_and_a_non_admin_key(setup):
    server = setup["server"]
    rows = versions(server)
    assert [(r["version"], r["active"], r["served"], r["pruned"]) for r in rows] == [(1, True, True, False)]
    assert len(rows[0]["sha256"]) == 64 and rows[0]["job_id"] is None
    assert promote(setup, 2) == 2
    assert [r["served"] for r in versions(server)] == [False, True]

    # Pinned: version 1 serves this request while 2 stays served.
    pinned = client(server).completions.create(model=f"{MODEL_ID}:h@1", prompt="Hello", max_tokens=4, temperature=0)
    entry = pinned.model_extra["mixture"]["adapters"][0]
    assert (entry["id"], entry["version"], entry["pinned"]) == ("h", 1, True)
    status, error = server.request("POST", "/v1/completions", {"model": f"{MODEL_ID}:h@9", "prompt": "Hi", "max_tokens": 1},
                                   headers={"Authorization": f"Bearer {APP}"})
    assert status == 404 and error["error"]["code"] == "adapter_version_not_found"

    # A key without the admin scope may list versions but not roll back.
    status, error = server.request("POST", "/v1/adapters/h/rollback", {"version": 1}, headers={"Authorization": f"Bearer {APP}"})
    assert status == 403 and error["error"]["code"] == "missing_scope" and error["error"]["type"] == "permission_error"
    status, _ = server.request("GET", "/v1/adapters/h/versions", headers={"Authorization": f"Bearer {APP}"})
    assert status == 200

    # Rollback under load: four streams start on version 2; the rollback lands while they generate.
    results, threads, starts = [], [], []
    for _ in range(4):
        started = threading.Event()
        starts.append(started)
        thread = threading.Thread(target=lambda s=started: results.append(streamed_versions(server, f"{MODEL_ID}:h", s)))
        thread.start()
        threads.append(thread)
    for started in starts:
        assert started.wait(60), "a stream never started"
    status, body = admin(server, "POST", "/v1/adapters/h/rollback", {"version": 1})
    assert status == 200, body
    assert (body["version"], body["replaced_version"]) == (1, 2)
    for thread in threads:
        thread.join(120)
    assert results == [{2}] * 4, "streams admitted before the rollback finish on the version they started with"
    assert streamed_versions(server, f"{MODEL_ID}:h") == {1}
    rows = versions(server)
    assert [(r["version"], r["active"], r["served"]) for r in rows] == [(1, True, True), (2, False, False)]
    assert rows[1]["completions"] == 4 and rows[1]["completion_tokens"] == 4 * 24
    assert rows[0]["completions"] == 2


def test_versions_survive_a_restart_and_keep_versions_prunes_the_oldest(setup):
    setup["server"].stop()
    setup["server"] = server = start(setup)
    status, body = admin(server, "GET", "/v1/adapters/h")
    assert status == 200 and body["version"] == 1, "the rolled-back version serves after a restart"
    assert [(r["version"], r["active"]) for r in versions(server)] == [(1, True), (2, False)]
    assert streamed_versions(server, f"{MODEL_ID}:h") == {1}

    # Numbers go on from the store; with --keep-versions 3 the fourth version prunes the oldest (1).
    assert promote(setup, 3) == 3
    assert promote(setup, 4) == 4
    rows = versions(server)
    assert [(r["version"], r["pruned"], r["served"]) for r in rows] == [(1, True, False), (2, False, False),
                                                                       (3, False, False), (4, False, True)]
    assert not (setup["adapters"] / ".history" / "h" / "v1.gguf").exists()
    status, error = admin(server, "POST", "/v1/adapters/h/rollback", {"version": 1})
    assert status == 409 and error["error"]["code"] == "adapter_version_pruned"
    status, error = server.request("POST", "/v1/completions", {"model": f"{MODEL_ID}:h@1", "prompt": "Hi", "max_tokens": 1},
                                   headers={"Authorization": f"Bearer {APP}"})
    assert status == 404 and error["error"]["code"] == "adapter_version_not_found"
    for bad, code in [({"version": 0}, 400), ({"version": "2"}, 400), ({}, 400), ({"version": 99}, 404)]:
        status, error = admin(server, "POST", "/v1/adapters/h/rollback", bad)
        assert status == code and set(error["error"]) == {"message", "type", "param", "code"}, (bad, error)
    status, error = admin(server, "POST", "/v1/adapters/none/rollback", {"version": 1})
    assert status == 404 and error["error"]["code"] == "adapter_not_found"

    # Per-version series in /metrics, for kept versions only.
    with_metrics = urllib.request.urlopen(server.root + "/metrics", timeout=10).read().decode()
    assert 'raconteur_adapter_version_served{adapter="h",version="4"} 1.0' in with_metrics
    assert 'raconteur_adapter_version_completions{adapter="h",version="2"} 4.0' in with_metrics
    assert 'adapter="h",version="1"' not in with_metrics
