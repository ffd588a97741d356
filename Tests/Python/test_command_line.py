"""The two executables: `raconteur` lists the product's commands only; the measurements live in `raconteur-bench`."""
import subprocess

from raconteur_server import raconteur_binary

PRODUCT = {"serve", "generate", "score", "perplexity", "inspect", "adapter-init", "align", "models", "pull"}
BENCHMARKS = {"kernel-bench", "bench-adapters", "bench-train", "bench-generate"}


def subcommands(binary) -> set[str]:
    text = subprocess.run([str(binary), "--help"], capture_output=True, text=True, check=True, timeout=60).stdout
    listing = text.split("SUBCOMMANDS:", 1)[1]
    listing = listing.split("\n\n  See ", 1)[0]
    return {line.split()[0] for line in listing.splitlines() if line.startswith("  ") and not line.startswith("   ")}


def test_raconteur_lists_product_commands_only():
    assert subcommands(raconteur_binary()) == PRODUCT


def test_raconteur_bench_lists_the_measurements():
    bench = raconteur_binary().with_name("raconteur-bench")
    assert bench.exists(), f"{bench} is missing: `swift build` builds both executables"
    assert subcommands(bench) == BENCHMARKS


def test_models_lists_the_catalogue_and_what_is_fetched(tmp_path):
    import json
    import os
    manifest = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "models", "manifest.json")))
    names = [m["name"] for m in manifest["models"]]
    out = subprocess.run([str(raconteur_binary()), "models"], capture_output=True, text=True, check=True, timeout=60,
                         cwd=os.path.join(os.path.dirname(__file__), "..", "..")).stdout
    for name in names:
        assert name in out
    assert "qwen2.5-coder-0.5b-instruct" in names and "(default)" in out
    # An empty catalogue directory: nothing is fetched, and a catalogue name says how to fetch it.
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    env = dict(os.environ, RACONTEUR_MODELS_DIR=str(tmp_path))
    listing = subprocess.run([str(raconteur_binary()), "models"], capture_output=True, text=True, env=env,
                             check=True, timeout=60).stdout
    assert listing.count("not fetched (raconteur pull ") == len(names)
    refused = subprocess.run([str(raconteur_binary()), "generate", "--model", "qwen2.5-coder-0.5b-instruct",
                              "--prompt", "hi", "--max-tokens", "1"], capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode != 0
    assert "not fetched: run `raconteur pull qwen2.5-coder-0.5b-instruct`" in refused.stderr
    unknown = subprocess.run([str(raconteur_binary()), "generate", "--model", "no-such-model", "--prompt", "hi"],
                             capture_output=True, text=True, env=env, timeout=60)
    assert unknown.returncode != 0 and "raconteur models" in unknown.stderr
