"""The real `raconteur serve` binary on SmolLM2, for the integration tests.

The binary is RACONTEUR_BIN when set, else the debug build that `swift build --show-bin-path` names (scripts/test.sh
builds it first). Each server listens on a free loopback port (it is started with --port 0 and logs the port), with
its own adapters directory and feedback store in a fresh temporary directory unless the caller names them, and
without the start-up starter job unless the caller asks for it (starter=True).
"""
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL_FILE = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ID = "SmolLM2-135M-Instruct.Q4_1"



def raconteur_binary() -> Path:
    if os.environ.get("RACONTEUR_BIN"):
        return Path(os.environ["RACONTEUR_BIN"])
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
    return Path(bin_dir) / "raconteur"


class Server:
    """A `raconteur serve` process; `base_url` once /health says 200."""

    def __init__(self, *extra_args: str, host: str = "127.0.0.1", adapters: Path | None = None,
                 store: Path | None = None, starter: bool = False):
        binary = raconteur_binary()
        assert binary.exists(), f"{binary} is missing: build it with `swift build --product raconteur`"
        self.scratch = Path(tempfile.mkdtemp(prefix="raconteur-test-"))
        self.adapters = adapters or self.scratch / "adapters"
        self.store = store or self.scratch / "store.sqlite"
        self.process = subprocess.Popen(
            [str(binary), "serve", "--model", str(MODEL_FILE), "--host", host, "--port", "0",
             "--threads", "2", "--max-batch", "8", "--queue", "32",
             "--adapters", str(self.adapters), "--store", str(self.store),
             # Every test server starts with an empty adapters directory: without this flag each would train the
             # starter grid in the background (docs/ALIGNMENT.md, "Starter grid").
             *([] if starter else ["--no-starter"]), *extra_args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log: list[str] = []
        self.port = self._wait_for_port()
        # Keep draining the log so the server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        self.root = f"http://127.0.0.1:{self.port}"
        self.base_url = self.root + "/v1"
        self._wait_until_healthy()

    def _wait_for_port(self) -> int:
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                if self.process.poll() is not None:
                    break
                continue
            self.log.append(line)
            found = re.search(r"listening on http://([^\s:]+):(\d+)", line)
            if found:
                self.bound_host = found.group(1)
                self.listening_at = time.time()  # what a time-to-first-answer (or -steer) measurement counts from
                return int(found.group(2))
        self.stop()
        raise RuntimeError("the server did not start:\n" + "".join(self.log))

    def _drain(self):
        for line in self.process.stdout:
            self.log.append(line)

    def _wait_until_healthy(self):
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.root + "/health", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the server never became healthy:\n" + "".join(self.log))

    def metric(self, name: str) -> float:
        with urllib.request.urlopen(self.root + "/metrics", timeout=10) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[-1])
        raise KeyError(name)

    def request(self, method: str, path: str, body=None, headers: dict | None = None):
        """(status, decoded JSON body) of a request to the server's root, errors included."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.root + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def kill(self):
        """SIGKILL: no shutdown path runs, as in a crash."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


