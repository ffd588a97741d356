#!/usr/bin/env python3
"""Dumps the tokenizer metadata of each model in models/ to JSON for TokenizersTests.

Called by make_fixtures.py as generate(out_dir); writes out_dir/tokenizer_<name>.json with the
tokens, scores, token types, merges, special ids, flags and chat template read by the `gguf`
Python package (independent of Raconteur's GGUF reader). For models with a chat template it
also renders a few conversations with jinja2, the reference for the Swift ChatTemplate tests.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

MODELS = {
    "smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf",
    "gemma3": "gemma-3-270m-q4_k_m.gguf",
}

# Conversations rendered with the model's own jinja chat template (where it has one).
CONVERSATIONS = [
    {"name": "user_only", "add_generation_prompt": True,
     "messages": [{"role": "user", "content": "What is 2+2?"}]},
    {"name": "with_system", "add_generation_prompt": True,
     "messages": [{"role": "system", "content": "You are terse."},
                  {"role": "user", "content": "Name a colour."}]},
    {"name": "multi_turn_no_prompt", "add_generation_prompt": False,
     "messages": [{"role": "user", "content": "Hi!"},
                  {"role": "assistant", "content": "Hello. How can I help?"},
                  {"role": "user", "content": "Tell me a joke\nabout cats."}]},
    {"name": "empty", "add_generation_prompt": True, "messages": []},
]


def _string(field):
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def _scalar(field):
    return field.parts[field.data[0]].tolist()[0]


def _strings(field):
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def _numbers(field):
    return [field.parts[i].tolist()[0] for i in field.data]


def dump(path):
    import gguf  # imported here so that a missing package names itself clearly

    reader = gguf.GGUFReader(path)
    fields = reader.fields

    def get(key, convert):
        return convert(fields[key]) if key in fields else None

    vocab = {
        "model": get("tokenizer.ggml.model", _string),
        "pre": get("tokenizer.ggml.pre", _string),
        "tokens": get("tokenizer.ggml.tokens", _strings),
        "scores": get("tokenizer.ggml.scores", _numbers),
        "token_types": get("tokenizer.ggml.token_type", _numbers),
        "merges": get("tokenizer.ggml.merges", _strings),
        "bos_id": get("tokenizer.ggml.bos_token_id", _scalar),
        "eos_id": get("tokenizer.ggml.eos_token_id", _scalar),
        "eot_id": get("tokenizer.ggml.eot_token_id", _scalar),
        "unknown_id": get("tokenizer.ggml.unknown_token_id", _scalar),
        "padding_id": get("tokenizer.ggml.padding_token_id", _scalar),
        "add_bos": get("tokenizer.ggml.add_bos_token", _scalar),
        "add_eos": get("tokenizer.ggml.add_eos_token", _scalar),
        "add_space_prefix": get("tokenizer.ggml.add_space_prefix", _scalar),
        "chat_template": get("tokenizer.chat_template", _string),
    }
    for key in ("add_bos", "add_eos", "add_space_prefix"):
        if vocab[key] is not None:
            vocab[key] = bool(vocab[key])
    return vocab


def render_chats(template_text, vocab):
    """Renders CONVERSATIONS with jinja2 the way transformers does (trim_blocks, lstrip_blocks)."""
    try:
        import jinja2
    except ImportError:
        print("gen_tokenizer_vocab: jinja2 is not installed; chat renderings skipped", file=sys.stderr)
        return None

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message):
        raise jinja2.TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    template = env.from_string(template_text)
    bos = vocab["tokens"][vocab["bos_id"]] if vocab["bos_id"] is not None else ""
    eos = vocab["tokens"][vocab["eos_id"]] if vocab["eos_id"] is not None else ""
    out = []
    for conversation in CONVERSATIONS:
        text = template.render(messages=conversation["messages"],
                               add_generation_prompt=conversation["add_generation_prompt"],
                               bos_token=bos, eos_token=eos)
        out.append(dict(conversation, rendered=text))
    return out


def generate(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, filename in MODELS.items():
        path = os.path.join(ROOT, "models", filename)
        if not os.path.exists(path):
            print(f"gen_tokenizer_vocab: {path} is missing; run models/fetch.py", file=sys.stderr)
            continue
        target = os.path.join(out_dir, f"tokenizer_{name}.json")
        newest_input = max(os.path.getmtime(path), os.path.getmtime(os.path.abspath(__file__)))
        if os.path.exists(target) and os.path.getmtime(target) > newest_input:
            continue  # up to date (dumping Gemma's 262k tokens takes about a minute)
        vocab = dump(path)
        if vocab["chat_template"] is not None:
            vocab["chat_renderings"] = render_chats(vocab["chat_template"], vocab)
        with open(target + ".tmp", "w", encoding="utf-8") as f:
            json.dump(vocab, f, ensure_ascii=True)  # Foundation drops raw U+FEFF in strings
        os.replace(target + ".tmp", target)


if __name__ == "__main__":
    generate(os.path.join(HERE, "generated"))
