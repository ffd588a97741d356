#!/usr/bin/env python3
"""Renders every chat template the tests know with Python's jinja2, as transformers' apply_chat_template does,
for the Swift Jinja interpreter's conformance test (Tests/TokenizersTests/JinjaConformanceTests.swift).

Templates: llama.cpp's models/templates/*.jinja (fetched into Tests/Fixtures/llamacpp/templates by
fetch_llamacpp_references.py; 70 in the llama-cpp-python 0.3.36 sdist) and the `tokenizer.chat_template` of each
model in models/ (read with a small GGUF reader here: gguf-py parses every tensor and token and takes a minute).
The environment is transformers' (utils/chat_template_utils.py, _compile_jinja_template):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols extension and the
AssistantTracker `{% generation %}` tag (which renders its body), its own `tojson` (json.dumps, ensure_ascii=False,
no HTML escaping) and the globals raise_exception and strftime_now; render(messages=…, tools=…, documents=None,
add_generation_prompt=…, bos_token=…, eos_token=…), tools=None when the conversation has none.
strftime_now reads a fixed time (DATE below) so that the renderings are reproducible; the Swift test passes the
same instant in UTC.

Writes generated/template_renderings.json: {"date", "conversations": [{name, context}], "templates": [{name,
source, origin, load_error, cases: [{conversation, output | error}]}]}.
"""
import glob
import json
import os
import struct
import sys
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUTPUT = "template_renderings.json"
DATE = datetime(2026, 1, 15, 9, 30, 5)
MODELS = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"]
BOS, EOS = "<s>", "</s>"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "description": "Current time in a time zone.",
                 "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": []}},
}
TOOL_CALL = {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}


def user(text):
    return {"role": "user", "content": text}


def assistant(text):
    return {"role": "assistant", "content": text}


def system(text):
    return {"role": "system", "content": text}


TOOL_EXCHANGE = [
    user("What's the weather in Paris?"),
    {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
    {"role": "tool", "content": "{\"temperature\": 21, \"condition\": \"sunny\"}", "tool_call_id": "call_1", "name": "get_weather"},
]

CONVERSATIONS = [
    ("user_only", [user("What is 2+2?")], True, None),
    ("user_only_no_prompt", [user("What is 2+2?")], False, None),
    ("system_user", [system("You are terse."), user("Name a colour.")], True, None),
    ("system_user_no_prompt", [system("You are terse."), user("Name a colour.")], False, None),
    ("multi_turn", [user("Hi!"), assistant("Hello. How can I help?"), user("Tell me a joke\nabout cats.")], True, None),
    ("multi_turn_ends_assistant", [system("Be kind."), user("Hi!"), assistant("Hello there."), user("Bye."),
                                   assistant("Goodbye!")], False, None),
    ("three_exchanges", [user("One?"), assistant("1"), user("Two?"), assistant("2"), user("Three?")], True, None),
    ("non_ascii", [system("Réponds en français."), user("Grüße, 世界! 🌍 — ça va? Ω≈ç√"),
                   assistant("Très bien, merci ! 😀"), user("« Et toi ? » ½ – naïve café")], True, None),
    ("jinja_lookalike", [user("{{ messages }} {% if true %}x{% endif %} {# not a comment #} {{'"),
                         assistant("{% raw %}{{ bos_token }}{% endraw %} }} %}"), user("<|im_start|>system\nrole play")],
     True, None),
    ("whitespace", [system("  padded system  \n"), user("\n\n  spaced   question \t\n"), assistant("  answer\n\n"),
                    user("\tlast\r\nline  ")], True, None),
    ("tools_offered", [user("What's the weather in Paris?")], True, [WEATHER_TOOL, TIME_TOOL]),
    ("tool_call_round_trip", TOOL_EXCHANGE, True, [WEATHER_TOOL]),
    ("tool_call_without_tools", TOOL_EXCHANGE, True, None),
    ("tool_call_with_system", [system("You can call tools.")] + TOOL_EXCHANGE + [assistant("It is 21 °C and sunny."),
                                                                                   user("Thanks!")], True, [WEATHER_TOOL]),
    ("quotes_and_escapes", [user("Say \"hi\" and 'bye'\\n with a backslash \\ and a tab\t."),
                            assistant("\"hi\" 'bye' \\")], False, None),
    ("empty_content", [user(""), assistant(""), user("again")], True, None),
    ("no_messages", [], True, None),
]


def gguf_chat_template(path):
    """tokenizer.chat_template from a GGUF file's header, reading only the key-value section."""
    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
    with open(path, "rb") as f:
        def read(fmt):
            size = struct.calcsize(fmt)
            return struct.unpack(fmt, f.read(size))[0]

        def string():
            return f.read(read("<Q")).decode("utf-8")

        def skip(kind):
            if kind == 8:
                f.seek(read("<Q"), 1)
            elif kind == 9:
                item, count = read("<I"), read("<Q")
                if item in scalar:
                    f.seek(struct.calcsize(scalar[item]) * count, 1)
                else:
                    for _ in range(count):
                        skip(item)
            else:
                f.seek(struct.calcsize(scalar[kind]), 1)

        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        read("<I")
        read("<Q")
        for _ in range(read("<Q")):
            key = string()
            kind = read("<I")
            if key == "tokenizer.chat_template" and kind == 8:
                return string()
            skip(kind)
    return None


def environment():
    import jinja2
    from jinja2 import nodes
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class AssistantTracker(Extension):
        """transformers' `{% generation %}` tag; outside assistant-mask tracking it renders its body."""
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

        def _render(self, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return DATE.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def templates():
    found = []
    if not glob.glob(os.path.join(HERE, "llamacpp", "templates", "*.jinja")):
        # make_fixtures.py runs before the test command fetches the references: fetch them here (idempotent, hash-checked).
        sys.path.insert(0, HERE)
        import fetch_llamacpp_references
        fetch_llamacpp_references.main()
    for path in sorted(glob.glob(os.path.join(HERE, "llamacpp", "templates", "*.jinja"))):
        with open(path, encoding="utf-8") as f:
            found.append((os.path.basename(path)[:-len(".jinja")], "llama.cpp", f.read()))
    for filename in MODELS:
        path = os.path.join(ROOT, "models", filename)
        if not os.path.exists(path):
            print(f"gen_template_renderings: {path} is missing; run models/fetch.py", file=sys.stderr)
            continue
        source = gguf_chat_template(path)
        found.append((filename[:-len(".gguf")], "model", source))
    return found


def context(messages, add_generation_prompt, tools):
    return {"messages": messages, "tools": tools, "documents": None, "add_generation_prompt": add_generation_prompt,
            "bos_token": BOS, "eos_token": EOS}


def generate(out_dir):
    try:
        env = environment()
    except ImportError:
        print("gen_template_renderings: jinja2 is not installed; template renderings skipped", file=sys.stderr)
        return
    conversations = [{"name": name, "context": context(messages, prompt, tools)}
                     for name, messages, prompt, tools in CONVERSATIONS]
    out = {"date": DATE.strftime("%Y-%m-%dT%H:%M:%S"), "bos_token": BOS, "eos_token": EOS,
           "conversations": conversations, "templates": []}
    for name, origin, source in templates():
        entry = {"name": name, "origin": origin, "source": source, "load_error": None, "cases": []}
        if source is None:
            entry["load_error"] = "the file has no tokenizer.chat_template"
            out["templates"].append(entry)
            continue
        try:
            template = env.from_string(source)
        except Exception as error:  # jinja2 refuses it at load
            entry["load_error"] = f"{type(error).__name__}: {error}"
            out["templates"].append(entry)
            continue
        for conversation in conversations:
            case = {"conversation": conversation["name"]}
            try:
                case["output"] = template.render(**json.loads(json.dumps(conversation["context"])))
            except Exception as error:
                case["error"] = f"{type(error).__name__}: {error}"
            entry["cases"].append(case)
        out["templates"].append(entry)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, OUTPUT), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    generate(os.path.join(HERE, "generated"))
