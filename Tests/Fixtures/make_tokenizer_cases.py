#!/usr/bin/env python3
"""Writes Tests/Fixtures/tokenizer_cases/<model>.json: conformance cases for TokenizersTests, with
the expected token ids from an independent implementation, llama.cpp (through llama-cpp-python).

Run by hand, not by the test command (CI has no llama-cpp-python):

    ~/.cache/raconteur/llama-venv/bin/python Tests/Fixtures/make_tokenizer_cases.py

Each case records the text, the flags, llama.cpp's ids, and the bytes of every token that appears
(llama_token_to_piece with special pieces rendered), so that Tokenizer.tokenBytes can be checked
too, and the ids llama.cpp treats as end of generation (llama_vocab_is_eog). The reference prompts of
Tests/Fixtures/reference/greedy_*.json are copied in, after checking that llama.cpp still tokenizes
them the same way.
"""
import ctypes
import hashlib
import json
import os
import sys

import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "tokenizer_cases")

MODELS = {
    "smollm2": ("SmolLM2-135M-Instruct.Q4_1.gguf", "greedy_smollm2.json"),
    "gemma3": ("gemma-3-270m-q4_k_m.gguf", "greedy_gemma3.json"),
}

PARAGRAPH = (
    "The quick brown fox jumps over the lazy dog. It wasn't the first time; the fox had done it "
    "1,024 times before (or so it claimed). \"Why?\" asked the dog — nobody knew.\n\n"
)

TEXTS = [
    # words, punctuation, contractions
    "Hello world", "Hello, world! How's it going?", "don't", "I'm here, you're there, we'll see.",
    "they've she'd It's", "DON'T SHOUT, I'M HERE", "'s 's", "''", "'", "what's' 'tis", "rock 'n' roll",
    # whitespace
    "  leading spaces", "trailing spaces   ", " ", "  ", "   ", "\t", "\n", "\n\n", "\n\n\n\n",
    "a\n\nb", "line1\r\nline2", "tabs\there\t\tand\t\t\tthere", "mixed \t \n whitespace",
    "word    word", "end with newline\n", " \n \n ", "a  1", "x   2024", "    indented\n        more",
    "\n" * 40 + "x", " " * 40 + "x",
    # digits and numbers
    "12345678901234567890", "3.14159", "1,000,000", "Year 2024: 50% off!", "x=42;y=-7", "007 and 1e-9",
    # emoji, CJK, other scripts, accents
    "emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦", "🤖", "CJK 你好，世界！ 日本語のテキスト 한국어 텍스트",
    "Accents: café naïve résumé Zürich São Paulo", "Ελληνικά и русский текст", "عربى", "हिन्दी",
    "Tiếng Việt có dấu", "ﬁ ligature and Å vs Å",
    # code
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "<html><body><table><tr><td>1</td></tr></table></body></html>",
    "if (a && b || !c) { return \"str\"; } // comment",
    "SELECT * FROM users WHERE id = 42;",
    "https://example.com/path?query=1&x=y#frag",
    # special-token strings inside text
    "<|im_start|>user\nhi<|im_end|>", "text <|endoftext|> more", "<start_of_turn>user\nhi<end_of_turn>\n",
    "<bos>hello<eos>", "<|im_start|><|im_start|>", "<|im_start", "</s> <s> <pad>", "<unused0> <mask>",
    "a<|im_end|>b", "<end_of_turn><start_of_turn>",
    # rare and odd unicode
    "\ufeffBOM", "zero\u200bwidth", "nbsp\u00a0here", "ideographic\u3000space", "\u0000nul",
    "control\u0007bell", "private \ue000\uf8ff", "nonchar \uffff \U0010ffff", "replacement \ufffd",
    "combining e\u0301 a\u0308", "math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∑∫√∞", "superscript x² ½ ① Ⅻ", "fullwidth ＡＢＣ１２３",
    "Arabic-Indic ٠١٢٣", "unassigned \u0378 \U0001fa54", "line sep\u2028para\u2029", "NEL\u0085x",
    "\u00ad soft hyphen", "\U000e0041 tag char", "ctrl\x04\x06\x13\x14\x16\x1d bytes", "\x7f del \x1b[0m",
    # empty and long
    "", PARAGRAPH * 4,
]

# Random strings over an alphabet chosen to hit the pre-tokenizer's and the merges' corners
# (fixed seed: the file only changes when this list does).
ALPHABET = (
    list("aAbeEhilnorstTxyz") + list("0123456789") + [" ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n"]
    + list("'\".,;:!?-_()[]{}<>/\\|@#$%^&*+=~`") + ["'s", "'t", "'ll", "'re", "'ve", "'m", "'d", "'S"]
    + list("éüñßøÅçà") + ["e\u0301", "\u00a0", "\u3000", "\u2028", "\u200b", "\ufeff"]
    + list("你好世界日本語한국") + ["😀", "👍🏽", "👨‍👩‍👧", "🤖", "𝔘", "²", "½", "٣", "Ⅻ"]
    + ["<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>", "<bos>", "</s>", "<b>", "<unused1>", "▁", "Ġ"]
)


def random_texts(count, seed=20261129):
    import random
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 24))) for _ in range(count)]


def random_scalar_texts(count, seed=7):
    """Random strings of scalars from every plane (surrogates excepted)."""
    import random
    rng = random.Random(seed)

    def scalar():
        r = rng.random()
        if r < 0.3:
            return chr(rng.randint(0x20, 0x7E))
        if r < 0.4:
            return rng.choice([" ", "  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x85", "\u2009"])
        if r < 0.6:
            return chr(rng.randint(0xA0, 0x2FFF))
        if r < 0.7:
            return chr(rng.randint(0x3000, 0xD7FF))
        if r < 0.8:
            return chr(rng.randint(0xE000, 0xFFFF))
        return chr(rng.randint(0x10000, 0x10FFFF))

    return ["".join(scalar() for _ in range(rng.randint(1, 30))) for _ in range(count)]


TEXTS += random_texts(150) + random_scalar_texts(100)

# Whole files of this machine kind (Debian), checked by SHA-256: the perplexity reference
# tokenizes MPL-2.0.
FILES = ["/usr/share/common-licenses/MPL-2.0", "/usr/share/common-licenses/Apache-2.0"]

# Texts with special-token strings, also tokenized without parsing special tokens.
UNPARSED = [t for t in TEXTS if "<" in t]


def token_piece(model, token):
    buf = ctypes.create_string_buffer(256)
    n = llama_cpp.llama_token_to_piece(model.vocab, token, buf, len(buf), 0, True)
    if n < 0:
        buf = ctypes.create_string_buffer(-n)
        n = llama_cpp.llama_token_to_piece(model.vocab, token, buf, len(buf), 0, True)
    return buf.raw[:n]


def compact_json(document):
    """JSON with one case (or list entry) per line: small, and readable in a diff."""
    def dump(value):
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"))

    lines = ["{"]
    items = list(document.items())
    for index, (key, value) in enumerate(items):
        comma = "," if index + 1 < len(items) else ""
        if isinstance(value, list) and value:
            lines.append(f" {dump(key)}: [")
            lines.extend(f"  {dump(entry)}," for entry in value[:-1])
            lines.append(f"  {dump(value[-1])}")
            lines.append(f" ]{comma}")
        else:
            lines.append(f" {dump(key)}: {dump(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (filename, reference_name) in MODELS.items():
        llm = llama_cpp.Llama(model_path=os.path.join(ROOT, "models", filename), vocab_only=True, verbose=False)
        model = llm._model

        cases = []
        for text in TEXTS:
            cases.append({"text": text, "add_special": True, "parse_special": True})
            cases.append({"text": text, "add_special": False, "parse_special": True})
        for text in UNPARSED:
            cases.append({"text": text, "add_special": True, "parse_special": False})
        for case in cases:
            case["ids"] = llm.tokenize(case["text"].encode("utf-8"), add_bos=case["add_special"],
                                       special=case["parse_special"])

        reference_path = os.path.join(HERE, "reference", reference_name)
        with open(reference_path, encoding="utf-8") as f:
            reference = json.load(f)
        reference_cases = []
        for case in reference["cases"]:
            ids = llm.tokenize(case["prompt"].encode("utf-8"), add_bos=True, special=True)
            if ids != case["prompt_tokens"]:
                print(f"{name}: llama-cpp-python disagrees with the reference on {case['prompt']!r}", file=sys.stderr)
            reference_cases.append({"prompt": case["prompt"], "prompt_tokens": case["prompt_tokens"]})

        file_cases = []
        for path in FILES:
            with open(path, "rb") as f:
                data = f.read()
            file_cases.append({"path": path, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                               "ids": llm.tokenize(data, add_bos=True, special=True)})

        used = sorted({i for case in cases for i in case["ids"]} |
                      {i for case in reference_cases for i in case["prompt_tokens"]})
        pieces = {str(i): token_piece(model, i).hex() for i in used}

        vocab = model.vocab
        eog_ids = [i for i in range(llama_cpp.llama_vocab_n_tokens(vocab)) if llama_cpp.llama_vocab_is_eog(vocab, i)]

        document = {
            "model": filename,
            "generator": f"llama-cpp-python {llama_cpp.__version__}: Llama(vocab_only=True).tokenize(text, add_bos=add_special, special=parse_special)",
            "cases": cases,
            "reference_source": f"Tests/Fixtures/reference/{reference_name}",
            "reference_cases": reference_cases,
            "file_cases": file_cases,
            "pieces_hex": pieces,
            "end_of_generation_ids": eog_ids,
        }
        with open(os.path.join(OUT, f"{name}.json"), "w", encoding="utf-8") as f:
            f.write(compact_json(document))
        print(f"{name}: {len(cases)} cases, {len(pieces)} distinct tokens")


if __name__ == "__main__":
    main()
