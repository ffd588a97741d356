/// GBNF for JSON (RFC 8259), in the shape of llama.cpp's grammars/json.gbnf and its schema converter's primitives
/// (common/json-schema-to-grammar.cpp): whitespace is bounded (one space, or a newline and up to 20 indentation
/// characters) so that a small model cannot loop on blanks, and numbers have at most 16 digits per part.
public enum JSONGrammar {
    /// Rules every JSON grammar shares; `value` is any JSON value. No rule ends with whitespace, so a grammar whose
    /// root is one of them is finished (and the sequence stops) at the value's last character.
    public static let primitives = #"""
    value ::= object | array | string | number | boolean | null
    object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"
    array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
    string ::= "\"" char* "\""
    char ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
    number ::= integer ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,16} )?
    integer ::= "-"? ( "0" | [1-9] [0-9]{0,15} )
    boolean ::= "true" | "false"
    null ::= "null"
    ws ::= | " " | "\n" [ \t]{0,20}

    """#

    /// OpenAI's `json_object` response format: one JSON object.
    public static let object = "root ::= object\n" + primitives
}
