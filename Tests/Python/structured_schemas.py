"""The three JSON schemas the structured-output tests and benchmarks/structured_output.py decode under, and a checker
for the arithmetic GBNF grammar. Every string and array is bounded, so a complete output fits in MAX_TOKENS tokens
(the grammar's whitespace is bounded too) and `finish_reason` must be `stop`."""

MAX_TOKENS = 200

# Nested, with arrays and enums.
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 24},
        "age": {"type": "integer"},
        "role": {"enum": ["engineer", "artist", "teacher", "farmer"]},
        "skills": {"type": "array", "items": {"type": "string", "maxLength": 16}, "minItems": 1, "maxItems": 3},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string", "maxLength": 20},
                           "country": {"enum": ["FR", "DE", "US", "JP"]}},
            "required": ["city", "country"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "age", "role", "skills", "address"],
    "additionalProperties": False,
}

# Local references ($defs), one of them used twice, and anyOf with null.
ROUTE = {
    "type": "object",
    "$defs": {
        "point": {
            "type": "object",
            "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
            "required": ["x", "y"],
            "additionalProperties": False,
        },
        "label": {"anyOf": [{"type": "string", "maxLength": 12}, {"type": "null"}]},
    },
    "properties": {
        "start": {"$ref": "#/$defs/point"},
        "end": {"$ref": "#/$defs/point"},
        "label": {"$ref": "#/$defs/label"},
    },
    "required": ["start", "end", "label"],
    "additionalProperties": False,
}

# Flat: formats, booleans, a const, an optional property.
EVENT = {
    "type": "object",
    "properties": {
        "kind": {"const": "event"},
        "date": {"type": "string", "format": "date"},
        "id": {"type": "string", "format": "uuid"},
        "public": {"type": "boolean"},
        "seats": {"type": "integer"},
        "note": {"type": "string", "maxLength": 10},
    },
    "required": ["kind", "date", "id", "public", "seats"],
    "additionalProperties": False,
}

SCHEMAS = {"person": PERSON, "route": ROUTE, "event": EVENT}

ARITHMETIC = r'''
root ::= expr
expr ::= term ( ( "+" | "-" ) term )*
term ::= factor ( ( "*" | "/" ) factor )*
factor ::= number | "(" expr ")"
number ::= [0-9]{1,4}
'''


def is_arithmetic(text: str) -> bool:
    """A recursive-descent parser of ARITHMETIC's language: True when all of `text` is one expression."""
    position = 0

    def peek():
        return text[position] if position < len(text) else ""

    def expr():
        nonlocal position
        if not term():
            return False
        while peek() in ("+", "-") and peek():
            position += 1
            if not term():
                return False
        return True

    def term():
        nonlocal position
        if not factor():
            return False
        while peek() in ("*", "/") and peek():
            position += 1
            if not factor():
                return False
        return True

    def factor():
        nonlocal position
        if peek() == "(":
            position += 1
            if not expr() or peek() != ")":
                return False
            position += 1
            return True
        start = position
        while peek().isdigit() and peek().isascii() and position - start < 4:
            position += 1
        return position > start

    return expr() and position == len(text)
