#!/usr/bin/env python3
"""Fetch llama.cpp's own conformance files into Tests/Fixtures/llamacpp/ (never committed).

usage: Tests/Fixtures/fetch_llamacpp_references.py

The llama-cpp-python sdist on PyPI vendors llama.cpp, and with it
  - models/ggml-vocab-*.gguf with .inp/.out files: vocabulary-only GGUFs and llama.cpp's tokenizer
    test cases (inputs separated by a marker line, expected token ids one line per input);
  - models/templates/*.jinja: chat templates of real model families.
The sdist is downloaded with pip, its SHA-256 checked against the pin below, and those files are
extracted with their directory structure flattened into vocab/ and templates/. A stamp file records the
sdist's hash; a second run with the stamp present does nothing.
"""
import hashlib, os, subprocess, sys, tarfile, tempfile

VERSION = "0.3.36"
SDIST = f"llama_cpp_python-{VERSION}.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
MODELS_PREFIX = "vendor/llama.cpp/models/"

HERE = os.path.dirname(os.path.abspath(__file__))
DEST = os.path.join(HERE, "llamacpp")
STAMP = os.path.join(DEST, "SOURCE")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wanted(relative):
    """The path under DEST of an sdist member we keep, or None."""
    name = os.path.basename(relative)
    if "/" not in relative and name.startswith("ggml-vocab-"):
        return os.path.join("vocab", name)
    if relative.startswith("templates/") and relative.count("/") == 1 and name.endswith(".jinja"):
        return os.path.join("templates", name)
    return None


def main():
    if os.path.exists(STAMP) and open(STAMP).read().split()[0] == SDIST_SHA256:
        print(f"Tests/Fixtures/llamacpp: present (llama-cpp-python {VERSION})")
        return
    cache = os.environ.get("RACONTEUR_WHEEL_CACHE", os.path.expanduser("~/.cache/raconteur/wheels"))
    sdist_dir = os.path.join(cache, "llama-cpp-python-sdist", VERSION)
    os.makedirs(sdist_dir, exist_ok=True)
    path = os.path.join(sdist_dir, SDIST)
    if not os.path.exists(path) or sha256_of(path) != SDIST_SHA256:
        print(f"downloading the llama-cpp-python=={VERSION} sdist", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            # --no-binary for this package only: ':all:' would build pip's build dependencies from source.
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                            "--no-binary", "llama-cpp-python", "-d", tmp, f"llama-cpp-python=={VERSION}"],
                           check=True)
            os.replace(os.path.join(tmp, SDIST), path)
    digest = sha256_of(path)
    if digest != SDIST_SHA256:
        raise SystemExit(f"error: {path}: SHA-256 {digest} is not the pinned {SDIST_SHA256}")
    count = 0
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/", 1)
            if len(parts) != 2 or not parts[1].startswith(MODELS_PREFIX) or not member.isfile():
                continue
            target = wanted(parts[1][len(MODELS_PREFIX):])
            if target is None:
                continue
            out = os.path.join(DEST, target)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with tar.extractfile(member) as src, open(out + ".partial", "wb") as dst:
                dst.write(src.read())
            os.replace(out + ".partial", out)
            count += 1
    with open(STAMP, "w") as f:
        f.write(f"{SDIST_SHA256}  {SDIST} (llama-cpp-python {VERSION} on PyPI, {MODELS_PREFIX})\n")
    print(f"Tests/Fixtures/llamacpp: {count} files from {SDIST}, hash verified")


if __name__ == "__main__":
    main()
