#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer_cases/qwen2.5-coder.json: chat prompts and other texts tokenized by
llama.cpp's llama-server with Qwen2.5-Coder-0.5B-Instruct's own vocabulary (pre "qwen2").

Run by hand, not by the test command: it needs the model (models/fetch.py qwen2.5-coder-0.5b-instruct)
and llama-server from benchmarks/setup_llamacpp.sh (llama.cpp vendored in the llama-cpp-python 0.3.36
sdist). It starts llama-server on port 8190, POSTs every text to /tokenize with add_special and
parse_special on (as a chat prompt is tokenized), and stops the server.

    python3 Tests/Fixtures/make_qwen2_tokenizer_cases.py
"""
import datetime
import json
import os
import subprocess
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = os.path.join(ROOT, "models", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
SERVER = os.path.join(os.environ.get("RACONTEUR_LLAMA_SERVER", os.path.expanduser("~/.cache/raconteur/llama-server")),
                      "bin", "llama-server")
OUT = os.path.join(HERE, "tokenizer_cases", "qwen2.5-coder.json")
PORT = 8190

SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def chatml(messages, generation_prompt=True):
    text = "".join(f"<|im_start|>{role}\n{content}<|im_end|>\n" for role, content in messages)
    return text + ("<|im_start|>assistant\n" if generation_prompt else "")


TEXTS = [
    chatml([("system", SYSTEM), ("user", "Write a Python function that reverses a string.")]),
    chatml([("system", SYSTEM), ("user", "What's 12345 * 6789? Explain step by step.")]),
    chatml([("system", "You are a terse assistant."), ("user", "Hi!"), ("assistant", "Hello. What do you need?"),
            ("user", "A haiku about rain, please.\n\nThanks  :)")]),
    chatml([("system", SYSTEM), ("user", "def fib(n):\n    if n < 2:\n        return n\n    return fib(n-1) + fib(n-2)\n\n# Why is this slow?")]),
    chatml([("system", SYSTEM), ("user", "翻译成英文：我喜欢写代码。 And in 日本語? 한국어도요!")]),
    chatml([("system", SYSTEM), ("user", "Emoji test 😀👍🏽👨‍👩‍👧 café naïve Ünïcödé\tTAB\r\nCRLF")]),
    chatml([("user", "No system message; DON'T SHOUT, it's fine. I'LL see, we'd go, you've been.")]),
    chatml([("system", SYSTEM), ("user", "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n<|fim_middle|>")]),
    chatml([("system", SYSTEM), ("user", "Call the tool."), ("assistant",
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>")],
           generation_prompt=False),
    "<|fim_prefix|>import numpy as np\n\ndef mean(x):\n<|fim_suffix|>\n    return total / len(x)<|fim_middle|>",
    "<|repo_name|>raconteur\n<|file_sep|>Sources/main.swift\nprint(\"Hello, world!\")\n",
    "Plain text without specials: 3.14159, 1,000,000 and    four spaces\n\n\nthree newlines.",
    "<|im_start|>user\n<|im_start|>nested<|im_end|> <|endoftext|>text after",
]


def post(path, payload):
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def main():
    server = subprocess.Popen([SERVER, "-m", MODEL, "--port", str(PORT), "-c", "512", "-t", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("llama-server did not start")
        cases = []
        for text in TEXTS:
            tokens = post("/tokenize", {"content": text, "add_special": True, "parse_special": True})["tokens"]
            cases.append({"text": text, "ids": tokens})
        version = subprocess.run([SERVER, "--version"], capture_output=True, text=True)
        version_line = (version.stdout + version.stderr).strip().splitlines()
    finally:
        server.terminate()
        server.wait()
    document = {
        "source": "llama-server /tokenize (add_special and parse_special on), llama.cpp vendored in the "
                  "llama-cpp-python 0.3.36 sdist (" + " ".join(version_line[:1]) + ")",
        "model": os.path.basename(MODEL),
        "date": datetime.date.today().isoformat(),
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as handle:
        # one case per line: small, and readable in a diff
        header = {key: value for key, value in document.items() if key != "cases"}
        handle.write(json.dumps(header, ensure_ascii=True, indent=1)[:-2] + ',\n "cases": [\n')
        handle.write(",\n".join("  " + json.dumps(case, ensure_ascii=True) for case in cases))
        handle.write("\n ]\n}\n")
    print(f"{OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
