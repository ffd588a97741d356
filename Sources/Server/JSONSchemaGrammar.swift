import Engine
import Feedback
import Foundation

/// A JSON schema the converter does not support, or one it refuses to compile: a 400 whose `param` is the dotted
/// path of the schema keyword at fault.
struct SchemaConversionError: Error {
    var path: [String]
    var message: String
    var code: String
}

/// JSON Schema → GBNF, after llama.cpp's common/json-schema-to-grammar.cpp (its primitives, its bounded whitespace,
/// its treatment of required and optional properties), written for the subset OpenAI's structured outputs use:
/// `type` (one or a list), `properties`, `required`, `additionalProperties` (extra properties are never generated,
/// which every value of it allows), `items`, `minItems`/`maxItems`, `enum`, `const`, `anyOf`/`oneOf` (alternatives; a
/// `oneOf` whose alternatives overlap is not made exclusive), `$ref` to `#`, `#/$defs/…` or `#/definitions/…`
/// (recursion allowed: a reference is a rule), string `minLength`/`maxLength` and `format` date, time, date-time and
/// uuid. Annotations (`title`, `description`, `default`, …) are ignored; any other keyword is refused by name.
///
/// Properties come in the order of `required`, then the optional ones by name (the decoded schema has lost the
/// order of its `properties` object).
struct JSONSchemaGrammar {
    /// Schema objects nested inside one another (references count as they are followed).
    static let maxDepth = 64
    static let maxEnumValues = 1_024
    static let maxProperties = 128

    private let root: JSONValue
    /// The first part of every generated rule's name, so that several schemas' rules can share one grammar (tool calls).
    private var rulePrefix = "s"
    /// Generated rules in order of creation: [rules] of (name, body).
    private var rules: [(name: String, body: String)] = []
    private var ruleByReference: [String: String] = [:]
    private var depth = 0

    static let annotations: Set<String> = ["title", "description", "default", "examples", "$schema", "$id", "$comment",
                                           "$defs", "definitions", "strict", "readOnly", "writeOnly", "deprecated"]
    static let keywords: Set<String> = ["type", "properties", "required", "additionalProperties", "items", "minItems",
                                        "maxItems", "enum", "const", "anyOf", "oneOf", "$ref", "format", "minLength",
                                        "maxLength"]

    /// The GBNF of the language `schema` describes; its root rule is the value itself, with no whitespace after it.
    static func gbnf(for schema: JSONValue) throws -> String {
        var converter = JSONSchemaGrammar(root: schema)
        let top = try converter.expression(schema, path: [])
        var text = "root ::= \(top)\n"
        for rule in converter.rules { text += "\(rule.name) ::= \(rule.body)\n" }
        return text + JSONGrammar.primitives
    }

    private init(root: JSONValue) { self.root = root }

    /// `schema` as an expression and its rules (GBNF lines), every rule named from `prefix` (letters and digits), for
    /// embedding in a larger grammar that appends `JSONGrammar.primitives` once (the tool-call grammar).
    static func embedded(_ schema: JSONValue, prefix: String) throws -> (expression: String, rules: String) {
        var converter = JSONSchemaGrammar(root: schema)
        converter.rulePrefix = prefix
        let expression = try converter.expression(schema, path: [])
        return (expression, converter.rules.map { "\($0.name) ::= \($0.body)\n" }.joined())
    }

    private mutating func newRule(_ hint: String, _ body: String) -> String {
        let name = "\(rulePrefix)\(rules.count)-" + String(hint.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(24))
        rules.append((name, body))
        return name
    }

    /// A GBNF expression for the values `schema` accepts.
    private mutating func expression(_ schema: JSONValue, path: [String]) throws -> String {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else {
            throw SchemaConversionError(path: path, message: "The schema is nested more than \(Self.maxDepth) levels deep.", code: "schema_too_complex")
        }
        switch schema {
        case .bool(true): return "value"
        case .bool(false):
            throw SchemaConversionError(path: path, message: "The schema 'false' accepts no value.", code: "unsupported_schema_feature")
        case .object(let object):
            for key in object.keys.sorted() where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
                throw SchemaConversionError(path: path + [key], message: "The JSON schema keyword '\(key)' is not supported.",
                                            code: "unsupported_schema_feature")
            }
            return try objectExpression(object, path: path)
        default:
            throw SchemaConversionError(path: path, message: "A schema must be an object or a boolean.", code: "invalid_schema")
        }
    }

    private mutating func objectExpression(_ schema: [String: JSONValue], path: [String]) throws -> String {
        if let reference = schema["$ref"] {
            guard case .string(let target) = reference else {
                throw SchemaConversionError(path: path + ["$ref"], message: "'$ref' must be a string.", code: "invalid_schema")
            }
            return try referenceRule(target, path: path + ["$ref"])
        }
        if let constant = schema["const"] { return try literal(constant, path: path + ["const"]) }
        if let values = schema["enum"] {
            guard case .array(let list) = values, !list.isEmpty else {
                throw SchemaConversionError(path: path + ["enum"], message: "'enum' must be a non-empty array.", code: "invalid_schema")
            }
            guard list.count <= Self.maxEnumValues else {
                throw SchemaConversionError(path: path + ["enum"], message: "'enum' has \(list.count) values; at most \(Self.maxEnumValues) are supported.",
                                            code: "schema_too_complex")
            }
            return "( " + (try list.enumerated().map { try literal($1, path: path + ["enum", "\($0)"]) }).joined(separator: " | ") + " )"
        }
        for keyword in ["anyOf", "oneOf"] {
            guard let alternatives = schema[keyword] else { continue }
            guard case .array(let list) = alternatives, !list.isEmpty else {
                throw SchemaConversionError(path: path + [keyword], message: "'\(keyword)' must be a non-empty array of schemas.", code: "invalid_schema")
            }
            var parts: [String] = []
            for (index, alternative) in list.enumerated() {
                parts.append(newRule(keyword, try expression(alternative, path: path + [keyword, "\(index)"])))
            }
            return "( " + parts.joined(separator: " | ") + " )"
        }
        switch schema["type"] {
        case nil:
            if schema["properties"] != nil { return try objectType(schema, path: path) }
            if schema["items"] != nil { return try arrayType(schema, path: path) }
            return "value"
        case .string(let type)?:
            return try typed(type, schema, path: path)
        case .array(let types)?:
            var parts: [String] = []
            for (index, type) in types.enumerated() {
                guard case .string(let name) = type else {
                    throw SchemaConversionError(path: path + ["type", "\(index)"], message: "'type' must name types.", code: "invalid_schema")
                }
                parts.append(try typed(name, schema, path: path))
            }
            guard !parts.isEmpty else {
                throw SchemaConversionError(path: path + ["type"], message: "'type' is an empty list.", code: "invalid_schema")
            }
            return "( " + parts.joined(separator: " | ") + " )"
        default:
            throw SchemaConversionError(path: path + ["type"], message: "'type' must be a string or a list of strings.", code: "invalid_schema")
        }
    }

    private mutating func typed(_ type: String, _ schema: [String: JSONValue], path: [String]) throws -> String {
        switch type {
        case "object": return try objectType(schema, path: path)
        case "array": return try arrayType(schema, path: path)
        case "string": return try stringType(schema, path: path)
        case "number": return "number"
        case "integer": return "integer"
        case "boolean": return "boolean"
        case "null": return "null"
        default:
            throw SchemaConversionError(path: path + ["type"], message: "'\(type)' is not a JSON schema type.", code: "invalid_schema")
        }
    }

    private mutating func objectType(_ schema: [String: JSONValue], path: [String]) throws -> String {
        var properties: [String: JSONValue] = [:]
        switch schema["properties"] {
        case nil: break
        case .object(let object)?: properties = object
        default: throw SchemaConversionError(path: path + ["properties"], message: "'properties' must be an object.", code: "invalid_schema")
        }
        var required: [String] = []
        switch schema["required"] {
        case nil: break
        case .array(let names)?:
            for (index, name) in names.enumerated() {
                guard case .string(let text) = name else {
                    throw SchemaConversionError(path: path + ["required", "\(index)"], message: "'required' must list property names.", code: "invalid_schema")
                }
                if !required.contains(text) { required.append(text) }
            }
        default: throw SchemaConversionError(path: path + ["required"], message: "'required' must be an array.", code: "invalid_schema")
        }
        if properties.isEmpty && required.isEmpty {
            // Only additional properties, if any: any object, or the empty one when they are refused.
            return schema["additionalProperties"] == .bool(false) ? #"( "{" ws "}" )"# : "object"
        }
        guard properties.count + required.count <= Self.maxProperties else {
            throw SchemaConversionError(path: path + ["properties"], message: "More than \(Self.maxProperties) properties in one object are not supported.",
                                        code: "schema_too_complex")
        }
        let optional = properties.keys.filter { !required.contains($0) }.sorted()
        func member(_ name: String) throws -> String {
            let value = try expression(properties[name] ?? .bool(true), path: path + ["properties", name])
            return newRule("kv", "\(try literal(.string(name), path: path)) ws \":\" ws \(value) ws")
        }
        var body = #""{" ws "#
        if !required.isEmpty {
            body += try required.enumerated().map { index, name in (index == 0 ? "" : #""," ws "#) + (try member(name)) }.joined(separator: " ")
            for name in optional { body += #" ( "," ws "# + (try member(name)) + " )?" }
        } else {
            let members = try optional.map { try member($0) }
            // Each optional property may come first; the later ones follow it, each optional.
            let firsts = members.indices.map { first in
                ([members[first]] + members[(first + 1)...].map { #"( "," ws "# + $0 + " )?" }).joined(separator: " ")
            }
            body += "( " + firsts.joined(separator: " | ") + " )?"
        }
        return newRule("object", body + #" "}""#)
    }

    private mutating func arrayType(_ schema: [String: JSONValue], path: [String]) throws -> String {
        let item = try newRule("item", expression(schema["items"] ?? .bool(true), path: path + ["items"]))
        let minimum = try count(schema["minItems"], path: path + ["minItems"]) ?? 0
        let maximum = try count(schema["maxItems"], path: path + ["maxItems"])
        if let maximum, maximum < minimum {
            throw SchemaConversionError(path: path + ["maxItems"], message: "'maxItems' is below 'minItems'.", code: "invalid_schema")
        }
        if maximum == 0 { return #"( "[" ws "]" )"# }
        let restMinimum = max(0, minimum - 1)
        let rest = #"( "," ws "# + item + " ws )" + (maximum.map { "{\(restMinimum),\($0 - 1)}" } ?? "{\(restMinimum),}")
        let items = "\(item) ws \(rest)"
        return newRule("array", #""[" ws "# + (minimum == 0 ? "( \(items) )?" : items) + #" "]""#)
    }

    private mutating func stringType(_ schema: [String: JSONValue], path: [String]) throws -> String {
        if let format = schema["format"] {
            guard case .string(let name) = format else {
                throw SchemaConversionError(path: path + ["format"], message: "'format' must be a string.", code: "invalid_schema")
            }
            let date = #"[0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] )"#
            let time = #"( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )"#
            let hex = "[0-9a-fA-F]"
            let body: String
            switch name {
            case "date": body = date
            case "time": body = time
            case "date-time": body = date + #" "T" "# + time
            case "uuid": body = "\(hex){8} \"-\" \(hex){4} \"-\" \(hex){4} \"-\" \(hex){4} \"-\" \(hex){12}"
            default:
                throw SchemaConversionError(path: path + ["format"], message: "The string format '\(name)' is not supported (date, time, date-time and uuid are).",
                                            code: "unsupported_schema_feature")
            }
            return newRule(name, #""\"" "# + body + #" "\"""#)
        }
        let minimum = try count(schema["minLength"], path: path + ["minLength"]) ?? 0
        let maximum = try count(schema["maxLength"], path: path + ["maxLength"])
        if let maximum, maximum < minimum {
            throw SchemaConversionError(path: path + ["maxLength"], message: "'maxLength' is below 'minLength'.", code: "invalid_schema")
        }
        guard minimum > 0 || maximum != nil else { return "string" }
        let repetition = maximum.map { "{\(minimum),\($0)}" } ?? "{\(minimum),}"
        return newRule("string", #""\"" char"# + repetition + #" "\"""#)
    }

    /// A count keyword (minItems, maxLength, …): an integer within the grammar's repetition limit.
    private func count(_ value: JSONValue?, path: [String]) throws -> Int? {
        guard let value else { return nil }
        guard case .integer(let number) = value, number >= 0 else {
            throw SchemaConversionError(path: path, message: "'\(path.last ?? "")' must be a non-negative integer.", code: "invalid_schema")
        }
        guard number <= Int64(GrammarLimits.maxRepetition) else {
            throw SchemaConversionError(path: path, message: "'\(path.last ?? "")' is \(number); at most \(GrammarLimits.maxRepetition) is supported.",
                                        code: "schema_too_complex")
        }
        return Int(number)
    }

    /// A local reference as a rule of its own, converted once, so that a recursive schema is a recursive grammar.
    private mutating func referenceRule(_ target: String, path: [String]) throws -> String {
        if let name = ruleByReference[target] { return name }
        guard target == "#" || target.hasPrefix("#/") else {
            throw SchemaConversionError(path: path, message: "Only local references ('#/$defs/…') are supported, not '\(target)'.",
                                        code: "unsupported_schema_feature")
        }
        var resolved = root
        for component in target.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) where target != "#" {
            let key = component.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard case .object(let object) = resolved, let next = object[key] else {
                throw SchemaConversionError(path: path, message: "The reference '\(target)' does not resolve in this schema.", code: "invalid_schema")
            }
            resolved = next
        }
        let name = "\(rulePrefix)\(rules.count)-ref"
        rules.append((name, ""))
        let slot = rules.count - 1
        ruleByReference[target] = name
        let body = try expression(resolved, path: path)
        rules[slot].body = body
        return name
    }

    /// A GBNF literal of `value`'s compact JSON text (`JSONValue.jsonText`). JSON text holds no raw control
    /// characters (the encoder escapes them), so only the quote, the backslash and DEL need escaping for GBNF.
    private func literal(_ value: JSONValue, path: [String]) throws -> String {
        guard let json = try? value.jsonText() else {
            throw SchemaConversionError(path: path, message: "This value cannot be written as JSON.", code: "invalid_schema")
        }
        var out = "\""
        for scalar in json.unicodeScalars {
            switch scalar {
            case "\"", "\\": out += "\\" + String(scalar)
            case "\u{7F}": out += "\\x7F"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
