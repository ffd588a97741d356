#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer_cases/llamacpp_vocabularies.json: more conformance cases for the
vocabularies of llama.cpp's test set (Tests/Fixtures/llamacpp/vocab, fetched by
fetch_llamacpp_references.py), beyond llama.cpp's own .inp/.out cases, with the ids llama.cpp gives.

Run by hand, not by the test command: it builds llamacpp_tokenize.cpp against the libllama that
benchmarks/setup_llamacpp.sh builds from the llama-cpp-python 0.3.36 sdist (vendored llama.cpp):

    python3 Tests/Fixtures/make_vocab_family_cases.py

The texts (fixed seed) are random strings over an alphabet of the pre-tokenizers' corners
(contractions in both cases, blanks of every kind, digit runs, punctuation and symbols, marks,
CJK and Hangul at the DeepSeek ranges' edges, emoji, special-token strings of every family),
random strings of scalars from every plane, and llama.cpp's own .inp texts for the three
vocabularies that have none (aquila, baichuan, gpt-neox). Every text is tokenized as
test-tokenizer-0 does (add_special and parse_special off); the texts holding "<", "[" or ">" also
with both on.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = os.path.join(HERE, "llamacpp", "vocab")
OUT = os.path.join(HERE, "tokenizer_cases", "llamacpp_vocabularies.json")
SERVER = os.environ.get("RACONTEUR_LLAMA_SERVER", os.path.expanduser("~/.cache/raconteur/llama-server"))
LLAMA_CPP = os.path.join(SERVER, "src", "vendor", "llama.cpp")
BUILD = os.path.join(SERVER, "build")
SEPARATOR = "\n__ggml_vocab_test__\n"

FAMILIES = [
    "qwen2", "llama-bpe", "phi-3", "llama-spm", "deepseek-llm", "deepseek-coder", "falcon", "gpt-2",
    "starcoder", "refact", "command-r", "mpt", "qwen35", "aquila", "baichuan", "gpt-neox",
]

ALPHABET = (
    list("aAbeEhilnorstTxyzSDLMRV") + list("0123456789")
    + [" ", " ", " ", "  ", "   ", "\n", "\n\n", "\t", "\r\n", "\r", "\x0b", "\x0c"]
    + list("'\".,;:!?-_()[]{}<>/\\|@#$%^&*+=~`") + ["'s", "'t", "'ll", "'re", "'ve", "'m", "'d", "'S", "'LL", "'Re"]
    + list("éüñßøÅçàµÀÖ×÷ǅʔ") + ["e\u0301", "a\u0308", "\u0301", "\u00a0", "\u3000", "\u2028", "\u200b", "\ufeff",
                                "\u0085", "\u2009", "\u1680"]
    + list("你好世界日本語한국ｱ") + ["😀", "👍🏽", "👨‍👩‍👧", "🤖", "𝔘", "²", "½", "٣", "Ⅻ", "१२", "〇"]
    + list("！，。、：；？（）【】“”‘’…—・") + ["ࠀ", "ࡀ", "ऄ", "ꯀ", "ힰ", "퟿", "龥", "龦", "ᄀ", "Ꭰ", "ꭰ", "𐐀", "𞤀"]
    + list("ΑΩαωБЖжԱՖႠ") + ["\u0600", "\u061c", "\ue000", "\U000e0041", "\x01", "\x1c", "\x7f"]
    + ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<unk>", "<|assistant|>", "<|end|>",
       "<|begin_of_text|>", "<|start_header_id|>", "<fim_prefix>", "<｜begin▁of▁sentence｜>",
       "<|START_OF_TURN_TOKEN|>", "[PAD151650]", ">>TITLE<<", "▁", "Ġ"]
    + ["1234567", "12,345.67", "0.001", "    ", "\n\n\n", " \n", "  \n  "]
)


def random_texts(count, seed=20261207):
    rng = random.Random(seed)

    def scalar():
        r = rng.random()
        if r < 0.35:
            return chr(rng.randint(0x20, 0x7E))
        if r < 0.45:
            return rng.choice([" ", "  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x85", "\u2009", "\u3000"])
        if r < 0.65:
            return chr(rng.randint(0xA0, 0x2FFF))
        if r < 0.75:
            return chr(rng.randint(0x3000, 0xD7FF))
        if r < 0.85:
            return chr(rng.randint(0xE000, 0xFFFF))
        return chr(rng.randint(0x10000, 0x10FFFF))

    texts = []
    for i in range(count):
        if i % 3 == 2:
            texts.append("".join(scalar() for _ in range(rng.randint(1, 30))))
        else:
            texts.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 30))))
    return texts


def read_inp(path):
    raw = open(path, "rb").read().decode("utf-8")
    parts = raw.split(SEPARATOR)
    if parts and parts[-1] == "":
        parts.pop()
    return parts


def build_tool(directory):
    tool = os.path.join(directory, "llamacpp_tokenize")
    libraries = [os.path.join(BUILD, path) for path in (
        "src/libllama.a", "ggml/src/libggml.a", "ggml/src/libggml-cpu.a", "ggml/src/libggml-base.a")]
    for library in libraries:
        if not os.path.exists(library):
            sys.exit(f"{library} is missing: run benchmarks/setup_llamacpp.sh first")
    subprocess.run(["g++", "-O1", "-std=c++17", os.path.join(HERE, "llamacpp_tokenize.cpp"),
                    "-I", os.path.join(LLAMA_CPP, "include"), "-I", os.path.join(LLAMA_CPP, "ggml", "include"),
                    *libraries, "-lpthread", "-fopenmp", "-ldl", "-o", tool], check=True)
    return tool


def tokenize(tool, family, texts, special, directory):
    path = os.path.join(directory, "input.txt")
    with open(path, "wb") as handle:
        handle.write("".join(text + SEPARATOR for text in texts).encode("utf-8"))
    flag = "1" if special else "0"
    result = subprocess.run([tool, os.path.join(VOCAB, f"ggml-vocab-{family}.gguf"), path, flag, flag],
                            check=True, capture_output=True)
    lines = result.stdout.decode().split("\n")[:-1]
    assert len(lines) == len(texts), (family, len(lines), len(texts))
    return [[int(token) for token in line.split()] for line in lines]


def main():
    texts = random_texts(100)
    # llama.cpp's standard texts, for the vocabularies it has no cases for
    texts += [text for text in read_inp(os.path.join(VOCAB, "ggml-vocab-qwen2.gguf.inp")) if text not in texts]
    texts = [text for text in texts if "__ggml_vocab_test__" not in text]
    special = [text for text in texts if any(c in text for c in "<[>")]
    cases = []
    with tempfile.TemporaryDirectory() as directory:
        tool = build_tool(directory)
        plain = {family: tokenize(tool, family, texts, False, directory) for family in FAMILIES}
        parsed = {family: tokenize(tool, family, special, True, directory) for family in FAMILIES}
    for index, text in enumerate(texts):
        cases.append({"text": text, "special": False, "ids": [plain[family][index] for family in FAMILIES]})
    for index, text in enumerate(special):
        cases.append({"text": text, "special": True, "ids": [parsed[family][index] for family in FAMILIES]})
    document = {
        "source": "llama.cpp vendored in the llama-cpp-python 0.3.36 sdist, libllama built by "
                  "benchmarks/setup_llamacpp.sh, llama_tokenize on vocab_only models "
                  "(Tests/Fixtures/llamacpp_tokenize.cpp); special = add_special and parse_special on; "
                  "ids in the order of families",
        "families": FAMILIES,
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as handle:
        handle.write("{\n")
        handle.write(f'"source":{json.dumps(document["source"])},\n')
        handle.write(f'"families":{json.dumps(FAMILIES)},\n')
        handle.write('"cases":[\n')
        handle.write(",\n".join(json.dumps(case, ensure_ascii=True, separators=(",", ":")) for case in cases))
        handle.write("\n]}\n")
    print(f"{OUT}: {len(cases)} cases x {len(FAMILIES)} vocabularies")


if __name__ == "__main__":
    main()
