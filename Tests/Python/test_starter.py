"""The starter grid over the real `raconteur serve` (RACONTEUR_BIN, else the debug build).

A fresh server with an empty adapters directory, SmolLM2 and the default objectives lists a realign job trained on
the bundled preference set (its request names the set), answers trade-offs with the base model meanwhile, keeps the
set's rows out of the stored feedback, and lets the job be cancelled like any other; with --no-starter, or with
`[realign] starter = false` in the configuration file, no job starts. A whole starter job takes minutes even in a
release build (docs/ALIGNMENT.md, "Starter grid"), so the tests here stop it instead of waiting for it.
"""
import time

import pytest

from raconteur_server import MODEL_FILE, ROOT, Server

pytestmark = pytest.mark.skipif(not MODEL_FILE.exists(), reason="needs models/SmolLM2-135M-Instruct.Q4_1.gguf")

STARTER_SET = "smollm2-135m-q4_1-concise-detailed-3"


def jobs(server):
    status, listing = server.request("GET", "/v1/realign")
    assert status == 200, listing
    return listing["data"]


def first_job(server, seconds):
    """The newest listed job, polled for `seconds` (the decision follows the model's loading); None if there is none."""
    deadline = time.time() + seconds
    while True:
        listed = jobs(server)
        if listed or time.time() > deadline:
            return listed[0] if listed else None
        time.sleep(0.1)


def test_a_fresh_server_trains_the_starter_grid_as_an_ordinary_job():
    server = Server(starter=True)
    try:
        job = first_job(server, 20)
        assert job is not None, "no starter job:\n" + "".join(server.log)
        assert job["request"]["starter"] == STARTER_SET, job
        assert job["request"]["weights"] == [[1, 0], [0, 1]], job
        assert job["state"] in ("queued", "running"), job
        assert any("starter realign job " + job["id"] in line for line in server.log), "".join(server.log)

        status, answer = server.request("POST", "/v1/chat/completions", {
            "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "tradeoff": {"concise": 1}})
        assert status == 200, answer
        assert answer["mixture"]["base_model_only"] is True, answer["mixture"]
        assert "base model" in answer["mixture"]["note"], answer["mixture"]

        status, feedback = server.request("GET", "/v1/feedback")
        assert status == 200 and feedback["data"] == [], feedback

        status, cancelled = server.request("POST", f"/v1/realign/{job['id']}/cancel")
        assert status == 202, cancelled
        deadline = time.time() + 120
        while time.time() < deadline:
            status, shown = server.request("GET", f"/v1/realign/{job['id']}")
            if shown["state"] not in ("queued", "running"):
                break
            time.sleep(0.2)
        assert shown["state"] == "cancelled", shown
        assert list(server.adapters.glob("*.gguf")) == []
    finally:
        server.stop()


def test_no_starter_flag_starts_no_job():
    server = Server(starter=False)  # passes --no-starter
    try:
        assert first_job(server, 2) is None
        assert any("no starter realign job: turned off" in line for line in server.log), "".join(server.log)
    finally:
        server.stop()


def test_the_configuration_key_turns_it_off(tmp_path):
    config = tmp_path / "raconteur.toml"
    default = (ROOT / "configs" / "raconteur.toml").read_text()
    assert "starter = true" in default
    config.write_text(default.replace("starter = true", "starter = false"))
    server = Server("--config", str(config), starter=True)
    try:
        assert first_job(server, 2) is None
        assert any("no starter realign job: turned off" in line for line in server.log), "".join(server.log)
    finally:
        server.stop()
