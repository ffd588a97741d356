import Engine
import Feedback
import Foundation
import Testing
@testable import Server

/// JSON Schema → GBNF: the compiled grammar accepts the instances the schema accepts and refuses the others, and an
/// unsupported keyword is refused by its path.
struct JSONSchemaGrammarTests {
    func grammar(_ schema: String) throws -> Grammar {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(schema.utf8))
        return try GrammarParser.parse(try JSONSchemaGrammar.gbnf(for: value))
    }

    func accepts(_ grammar: Grammar, _ text: String) -> Bool {
        var budget = GrammarBudget(limit: GrammarLimits.maxMaskWork)
        guard let state = try? grammar.advance(try grammar.initialState(), bytes: Array(text.utf8), budget: &budget) else { return false }
        return state.canEnd
    }

    @Test func objectsWithRequiredOptionalAndNested() throws {
        let g = try grammar(#"""
        {"type": "object", "additionalProperties": false, "required": ["name", "tags"],
         "properties": {"name": {"type": "string", "maxLength": 5}, "age": {"type": "integer"},
                        "tags": {"type": "array", "items": {"enum": ["a", "b", 3]}, "minItems": 1, "maxItems": 2},
                        "when": {"type": "string", "format": "date-time"}}}
        """#)
        #expect(accepts(g, #"{"name": "Ann", "tags": ["a"]}"#))
        #expect(accepts(g, "{\n  \"name\": \"Ann\",\n  \"tags\": [\"b\", 3],\n  \"age\": -4\n}"))
        #expect(accepts(g, #"{"name":"","tags":[3],"age":0,"when":"2026-12-07T22:15:00Z"}"#))
        #expect(!accepts(g, #"{"name": "Ann"}"#))                        // required tags missing
        #expect(!accepts(g, #"{"name": "Annabel", "tags": ["a"]}"#))     // longer than maxLength
        #expect(!accepts(g, #"{"name": "Ann", "tags": []}"#))            // fewer than minItems
        #expect(!accepts(g, #"{"name": "Ann", "tags": ["a", "b", "a"]}"#)) // more than maxItems
        #expect(!accepts(g, #"{"name": "Ann", "tags": ["c"]}"#))         // not in the enum
        #expect(!accepts(g, #"{"name": "Ann", "tags": ["a"], "x": 1}"#)) // an extra property
        #expect(!accepts(g, #"{"name": "Ann", "tags": ["a"], "age": 1.5}"#)) // not an integer
        #expect(!accepts(g, #"{"name":"A","tags":["a"],"when":"2026-13-07T22:15:00Z"}"#)) // month 13
    }

    @Test func optionalOnlyObjectsAndReferences() throws {
        let g = try grammar(#"""
        {"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
                                                           "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}}}},
         "$ref": "#/$defs/node"}
        """#)
        #expect(accepts(g, "{}"))
        #expect(accepts(g, #"{"next": null}"#))
        #expect(accepts(g, #"{"next": {"v": 2, "next": {"next": null}}, "v": 1}"#) == false) // properties in name order
        #expect(accepts(g, #"{"next": {"next": {"v": 3}, "v": 2}, "v": 1}"#))
        #expect(!accepts(g, #"{"v": "x"}"#))
    }

    @Test func constantsAndEscapes() throws {
        let g = try grammar(#"{"const": {"b": "q\"uote\\", "a": [1, null, true]}}"#)
        #expect(accepts(g, #"{"a":[1,null,true],"b":"q\"uote\\"}"#))
        #expect(!accepts(g, #"{"a":[1,null,false],"b":"q\"uote\\"}"#))
        // Control characters stand escaped in JSON text; DEL stands as itself.
        let controls = try grammar(#"{"const": "tab\tline\nbell\u0007del\u007f"}"#)
        #expect(accepts(controls, "\"tab\\tline\\nbell\\u0007del\u{7F}\""))
        #expect(!accepts(controls, "\"tab\tline\\nbell\\u0007del\u{7F}\""))
    }

    @Test func unsupportedKeywordsAreNamedByPath() throws {
        for (schema, path) in [(#"{"type": "string", "pattern": "a+"}"#, ["pattern"]),
                               (#"{"properties": {"n": {"type": "number", "minimum": 1}}}"#, ["properties", "n", "minimum"]),
                               (#"{"allOf": [{"type": "string"}]}"#, ["allOf"]),
                               (#"{"type": "string", "format": "email"}"#, ["format"]),
                               (#"{"$ref": "other.json#/x"}"#, ["$ref"])] {
            let value = try JSONDecoder().decode(JSONValue.self, from: Data(schema.utf8))
            do {
                _ = try JSONSchemaGrammar.gbnf(for: value)
                Issue.record("\(schema) was accepted")
            } catch let error as SchemaConversionError {
                #expect(error.path == path)
                #expect(error.code == "unsupported_schema_feature")
            }
        }
    }
}
