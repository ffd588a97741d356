"""The two executables: `raconteur` lists the product's commands only; the measurements live in `raconteur-bench`."""
import subprocess

from raconteur_server import raconteur_binary

PRODUCT = {"serve", "generate", "score", "perplexity", "inspect", "adapter-init", "align"}
BENCHMARKS = {"kernel-bench", "bench-adapters", "bench-train"}


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
