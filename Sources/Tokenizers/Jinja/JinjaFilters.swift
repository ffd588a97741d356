import Foundation

/// The filters this interpreter has: jinja2's built-ins that chat templates use, and transformers' `tojson`.
/// A template naming any other is refused at load (jinja2 also checks filter names when it compiles).
enum JinjaFilters {
    /// jinja2's own built-in filters: one of these that this interpreter lacks is refused at load; a name jinja2
    /// does not know either is refused at load too, except inside an `if` or a conditional expression, where
    /// jinja2 defers the error to when it is used (and so does this interpreter).
    static let jinjaBuiltins: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join", "last",
        "length", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr", "replace", "reverse",
        "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title", "tojson", "trim",
        "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
    ]
    static let names: Set<String> = [
        "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float", "indent",
        "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr",
        "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum", "title", "tojson",
        "trim", "unique", "upper", "wordcount",
    ]
}

extension JinjaInterpreter {
    func applyFilter(_ filter: JinjaFilterCall, to value: JinjaValue, scope: JinjaScope) throws -> JinjaValue {
        let arguments = JinjaArguments(positional: try filter.arguments.map { try evaluate($0, scope: scope) },
                                       keywords: try filter.keywords.map { ($0.0, try evaluate($0.1, scope: scope)) },
                                       line: filter.line)
        return try applyFilter(filter.name, to: value, arguments)
    }

    func applyFilter(_ name: String, to original: JinjaValue, _ arguments: JinjaArguments) throws -> JinjaValue {
        let line = arguments.line
        switch name {
        case "safe":
            if original.isUndefined { return .markup("") }
            return .markup(original.pythonString)
        case "escape", "e":
            if case .markup = original { return original }
            return .markup(JinjaInterpreter.htmlEscape(original.pythonString))
        case "string":
            if case .markup = original { return original }
            return .string(original.pythonString)
        default:
            break
        }
        let value = original.plain
        func text() -> String { value.pythonString }
        func flag(_ index: Int, _ name: String) -> Bool { arguments.value(index, name)?.truthy ?? false }
        switch name {
        case "trim":
            let characters = arguments.value(0, "chars").flatMap { $0.isNone ? nil : $0.pythonString }
            return .string(PythonText.strip(text(), characters: characters))
        case "length", "count":
            switch value {
            case .undefined: return .int(0)
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let a), .tuple(let a): return .int(a.count)
            case .dict(let d): return .int(d.count)
            case .iterator(let i) where i.hasLength: return .int(i.items.count)
            default: throw typeError("object of type '\(value.typeName)' has no len()", value, line: line)
            }
        case "tojson":
            let indentValue = arguments.value(1, "indent")
            var indent: String?
            switch indentValue {
            case .int(let n)?:
                // Each line repeats the indent: an indent past the output bound cannot render.
                guard n <= limits.maximumOutputBytes else {
                    throw TemplateError(kind: .limit, message: "tojson indent \(n) exceeds the output bound", line: line)
                }
                indent = String(repeating: " ", count: max(0, n))
            case .string(let s)?: indent = s
            default: indent = nil
            }
            var itemSeparator = indent == nil ? ", " : ",", keySeparator = ": "
            if let separators = arguments.value(2, "separators"), !separators.isNone {
                let parts = try separators.iterated(line: line)
                guard parts.count == 2 else { throw TemplateError(kind: .render, message: "tojson separators must be a pair", line: line) }
                itemSeparator = parts[0].pythonString
                keySeparator = parts[1].pythonString
            }
            var writer = PythonJSONWriter(ensureASCII: flag(0, "ensure_ascii"), indent: indent, itemSeparator: itemSeparator,
                                          keySeparator: keySeparator, sortKeys: flag(3, "sort_keys"), line: line,
                                          maximumBytes: limits.maximumOutputBytes)
            let json = try writer.write(value)
            try charge(json.utf8.count, line: line)
            return .string(json)
        case "items":
            switch value {
            case .undefined: return .list([])
            case .dict(let d): return .iterator(JinjaIterator(kind: .generator("do_items"), items: d.pairs.map { .tuple([$0.key, $0.value]) }))
            default: throw TemplateError(kind: .render, message: "Can only get item pairs from a mapping.", line: line)
            }
        case "upper": return .string(text().uppercased())
        case "lower": return .string(text().lowercased())
        case "capitalize": return .string(PythonCase.capitalize(text()))
        case "title": return .string(PythonCase.jinjaTitle(text()))
        case "replace":
            guard let old = arguments.value(0, "old"), let new = arguments.value(1, "new") else {
                throw TemplateError(kind: .render, message: "replace() needs old and new", line: line)
            }
            var count = -1
            if case .int(let n)? = arguments.value(2, "count")?.number { count = n }
            let result = PythonCase.replace(text(), old.pythonString, new.pythonString, count: count)
            try charge(result.utf8.count, line: line)
            return .string(result)
        case "join":
            var items = try value.iterated(line: line)
            if let attribute = arguments.value(1, "attribute"), !attribute.isNone {
                items = try items.map { try lookupPath($0, attribute, line: line) }
            }
            let separator = arguments.value(0, "d")?.pythonString ?? ""
            let joined = items.map(\.pythonString).joined(separator: separator)
            try charge(joined.utf8.count, line: line)
            return .string(joined)
        case "first":
            if case .undefined = value { return .undefined("No first item, sequence was empty.") }
            return try value.iterated(line: line).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            switch value {
            case .list, .tuple, .string, .dict, .undefined:
                return try value.iterated(line: line).last ?? .undefined("No last item, sequence was empty.")
            case .iterator(let i) where i.hasLength:
                return try value.iterated(line: line).last ?? .undefined("No last item, sequence was empty.")
            default: throw TemplateError(kind: .render, message: "'\(value.typeName)' object is not reversible", line: line)
            }
        case "default", "d":
            let fallback = arguments.value(0, "default_value") ?? .string("")
            if value.isUndefined || (flag(1, "boolean") && !value.truthy) { return fallback }
            return value
        case "int":
            let fallback = arguments.value(0, "default") ?? .int(0)
            switch value {
            case .int(let i): return .int(i)
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d):
                guard d.isFinite, Swift.abs(d) < 9.2e18 else { return fallback }
                return .int(Int(d))
            case .string(let s):
                let trimmed = PythonText.strip(s).replacingOccurrences(of: "_", with: "")
                if let i = Int(trimmed) { return .int(i) }
                if let d = Double(trimmed), d.isFinite, Swift.abs(d) < 9.2e18 { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            let fallback = arguments.value(0, "default") ?? .double(0)
            switch value {
            case .int(let i): return .double(Double(i))
            case .bool(let b): return .double(b ? 1 : 0)
            case .double(let d): return .double(d)
            case .string(let s): return Double(PythonText.strip(s)).map { .double($0) } ?? fallback
            default: return fallback
            }
        case "abs":
            switch value.number {
            case .int(let i)?:
                guard i != Int.min else { throw overflow(line) }
                return .int(Swift.abs(i))
            case .double(let d)?: return .double(Swift.abs(d))
            case nil: throw typeError("bad operand type for abs(): '\(value.typeName)'", value, line: line)
            }
        case "round":
            guard let number = value.number else { throw typeError("round() needs a number", value, line: line) }
            var precision = 0
            if case .int(let p)? = arguments.value(0, "precision")?.number { precision = max(-20, min(p, 20)) }
            let method = arguments.value(1, "method")?.pythonString ?? "common"
            let scale = Foundation.pow(10.0, Double(precision))
            let scaled = number.double * scale
            let rounded: Double
            switch method {
            case "ceil": rounded = scaled.rounded(.up)
            case "floor": rounded = scaled.rounded(.down)
            default: rounded = scaled.rounded(.toNearestOrEven)   // Python's round() halves to even
            }
            return .double(rounded / scale)
        case "list":
            switch value {
            case .list: return value
            default: return .list(try value.iterated(line: line))
            }
        case "reverse":
            if case .string(let s) = value { return .string(PythonText.string(s.unicodeScalars.reversed())) }
            return .iterator(JinjaIterator(kind: .generator("reversed"), items: try value.iterated(line: line).reversed()))
        case "wordcount":
            return .int(text().split(whereSeparator: { $0.unicodeScalars.allSatisfy(PythonText.isSpace) }).count)
        case "indent":
            var indentation = "    "
            if let width = arguments.value(0, "width") {
                if case .string(let s) = width { indentation = s }
                else if case .int(let n)? = width.number { indentation = String(repeating: " ", count: max(0, min(n, 1024))) }
            }
            let lines = PythonText.splitLines(text() + "\n")
            var result: String
            if flag(2, "blank") {
                result = lines.joined(separator: "\n" + indentation)
            } else {
                result = lines.first ?? ""
                for line in lines.dropFirst() { result += "\n" + (line.isEmpty ? line : indentation + line) }
            }
            if flag(1, "first") { result = indentation + result }
            try charge(result.utf8.count, line: line)
            return .string(result)
        case "attr":
            guard let attributeName = arguments.value(0, "name") else { throw TemplateError(kind: .render, message: "attr() needs a name", line: line) }
            return try attribute(of: value, attributeName.pythonString, line: line)
        case "map":
            let items = value.truthy ? try value.iterated(line: line) : []
            if let attributeName = arguments.value(-1, "attribute") {
                let fallback = arguments.value(-1, "default")
                return .iterator(JinjaIterator(kind: .generator("do_map"), items: try items.map { item in
                    let found = try lookupPath(item, attributeName, line: line)
                    if found.isUndefined, let fallback { return fallback }
                    return found
                }))
            }
            guard case .string(let filterName)? = arguments.positional.first else {
                throw TemplateError(kind: .render, message: "map() needs a filter name or attribute=", line: line)
            }
            guard JinjaFilters.names.contains(filterName) else {
                throw TemplateError(kind: .render, message: "No filter named '\(filterName)'.", line: line)
            }
            let rest = JinjaArguments(positional: Array(arguments.positional.dropFirst()), keywords: arguments.keywords, line: line)
            return .iterator(JinjaIterator(kind: .generator("do_map"), items: try items.map { try applyFilter(filterName, to: $0, rest) }))
        case "select", "reject", "selectattr", "rejectattr":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var positional = arguments.positional
            var attributeName: JinjaValue?
            if byAttribute {
                guard !positional.isEmpty else { throw TemplateError(kind: .render, message: "\(name)() needs an attribute", line: line) }
                attributeName = positional.removeFirst()
            }
            var testName: String?
            if !positional.isEmpty {
                guard case .string(let test) = positional.removeFirst() else {
                    throw TemplateError(kind: .render, message: "\(name)() needs a test name", line: line)
                }
                guard JinjaTests.names.contains(test) else { throw TemplateError(kind: .render, message: "No test named '\(test)'.", line: line) }
                testName = test
            }
            let candidates = value.truthy ? try value.iterated(line: line) : []
            return .iterator(JinjaIterator(kind: .generator("select_or_reject"), items: try candidates.filter { item in
                let subject = try attributeName.map { try lookupPath(item, $0, line: line) } ?? item
                let passed = try testName.map { try applyTest($0, to: subject, arguments: positional, line: line) } ?? subject.truthy
                return passed == keep
            }))
        case "dictsort":
            guard case .dict(let dict) = value else {
                throw typeError("dictsort needs a mapping", value, line: line)
            }
            let caseSensitive = flag(0, "case_sensitive")
            let byValue = arguments.value(1, "by")?.pythonString == "value"
            let reverse = flag(2, "reverse")
            let pairs: [JinjaValue] = dict.pairs.map { .tuple([$0.key, $0.value]) }
            return .list(try sorted(pairs, reverse: reverse) { pair in
                guard case .tuple(let parts) = pair else { return pair }
                return caseSensitive ? parts[byValue ? 1 : 0] : PythonCase.foldedForSort(parts[byValue ? 1 : 0])
            })
        case "sort", "unique", "min", "max":
            let caseSensitive = name == "sort" ? flag(1, "case_sensitive") : flag(0, "case_sensitive")
            let attributeName = arguments.value(name == "sort" ? 2 : 1, "attribute")
            let items = try value.iterated(line: line)
            let key: (JinjaValue) throws -> JinjaValue = { item in
                let subject = try attributeName.map { try self.lookupPath(item, $0, line: line) } ?? item
                return caseSensitive ? subject : PythonCase.foldedForSort(subject)
            }
            switch name {
            case "sort": return .list(try sorted(items, reverse: flag(0, "reverse"), key: key))
            case "unique":
                var seen: [JinjaValue] = [], result: [JinjaValue] = []
                for item in items {
                    let k = try key(item)
                    if !seen.contains(where: { JinjaValue.equal($0, k) }) { seen.append(k); result.append(item) }
                }
                return .iterator(JinjaIterator(kind: .generator("do_unique"), items: result))
            default:
                let ordered = try sorted(items, reverse: false, key: key)
                return (name == "min" ? ordered.first : ordered.last) ?? .undefined("No aggregated item, sequence was empty.")
            }
        case "sum":
            var total = arguments.value(1, "start") ?? .int(0)
            for item in try value.iterated(line: line) {
                let subject = try arguments.value(0, "attribute").map { try lookupPath(item, $0, line: line) } ?? item
                total = try binary("+", total, subject, line: line)
            }
            return total
        default:
            throw TemplateError(kind: .render, message: "No filter named '\(name)'.", line: line)
        }
    }

    /// jinja2's attribute getter for `map(attribute=)`, `selectattr`, `sort(attribute=)`: a dotted path whose
    /// integer parts index, each step through getitem.
    func lookupPath(_ value: JinjaValue, _ path: JinjaValue, line: Int?) throws -> JinjaValue {
        if case .int = path { return try item(of: value, path, line: line) }
        var current = value
        for part in path.pythonString.split(separator: ".", omittingEmptySubsequences: false) {
            let key: JinjaValue = Int(part).map { .int($0) } ?? .string(String(part))
            current = try item(of: current, key, line: line)
        }
        return current
    }

    /// A stable sort by a key with Python's `<` (mixed kinds fail as in Python).
    func sorted(_ items: [JinjaValue], reverse: Bool, key: (JinjaValue) throws -> JinjaValue) throws -> [JinjaValue] {
        let keyed = try items.map { (key: try key($0), item: $0) }
        var failure: TemplateError?
        let order = keyed.indices.sorted { i, j in
            do {
                if try less(keyed[i].key, keyed[j].key, line: nil) { return !reverse }
                if try less(keyed[j].key, keyed[i].key, line: nil) { return reverse }
            } catch {
                failure = error as? TemplateError
            }
            return i < j
        }
        if let failure { throw failure }
        return order.map { keyed[$0].item }
    }
}

/// Python's case operations used by filters and string methods.
enum PythonCase {
    /// `str.capitalize`: the first character upper-cased (title case), the rest lower-cased.
    static func capitalize(_ text: String) -> String {
        guard let first = text.first else { return text }
        return String(first).uppercased() + String(text.dropFirst()).lowercased()
    }

    /// jinja2's `title` filter: each word (split before `-`, whitespace, `(`, `{`, `[`, `<`) starts upper-case,
    /// the rest lower-case.
    static func jinjaTitle(_ text: String) -> String {
        var out = ""
        var atWordStart = true
        for character in text {
            let isSeparator = character == "-" || character == "(" || character == "{" || character == "[" || character == "<"
                || character.unicodeScalars.allSatisfy(PythonText.isSpace)
            if isSeparator {
                out.append(character)
                atWordStart = true
            } else if atWordStart {
                out += String(character).uppercased()
                atWordStart = false
            } else {
                out += String(character).lowercased()
            }
        }
        return out
    }

    /// `str.title`: a letter after a non-letter is upper-cased, other letters lower-cased.
    static func pythonTitle(_ text: String) -> String {
        var out = ""
        var previousCased = false
        for character in text {
            let isCased = character.isLetter
            out += previousCased ? String(character).lowercased() : String(character).uppercased()
            previousCased = isCased
        }
        return out
    }

    /// `str.replace(old, new, count)`; an empty `old` inserts `new` between characters, as Python does.
    static func replace(_ text: String, _ old: String, _ new: String, count: Int) -> String {
        if count == 0 { return text }
        let source = Array(text.unicodeScalars), pattern = Array(old.unicodeScalars)
        var out = String.UnicodeScalarView()
        var replaced = 0
        if pattern.isEmpty {
            for scalar in source {
                if count < 0 || replaced < count { out.append(contentsOf: new.unicodeScalars); replaced += 1 }
                out.append(scalar)
            }
            if count < 0 || replaced < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        var index = 0
        while index < source.count {
            if (count < 0 || replaced < count), index + pattern.count <= source.count, Array(source[index..<index + pattern.count]) == pattern {
                out.append(contentsOf: new.unicodeScalars)
                index += pattern.count
                replaced += 1
            } else {
                out.append(source[index])
                index += 1
            }
        }
        return String(out)
    }

    /// jinja2's `ignore_case` for sorting: strings lower-cased, other values unchanged.
    static func foldedForSort(_ value: JinjaValue) -> JinjaValue {
        if case .string(let s) = value { return .string(s.lowercased()) }
        return value
    }
}

/// `json.dumps` as transformers' `tojson` calls it (ensure_ascii, indent, separators, sort_keys).
struct PythonJSONWriter {
    let ensureASCII: Bool
    let indent: String?
    let itemSeparator: String
    let keySeparator: String
    let sortKeys: Bool
    let line: Int?
    let maximumBytes: Int
    private var depth = 0

    init(ensureASCII: Bool, indent: String?, itemSeparator: String, keySeparator: String, sortKeys: Bool, line: Int?,
         maximumBytes: Int = Int.max) {
        self.maximumBytes = maximumBytes
        self.ensureASCII = ensureASCII
        self.indent = indent
        self.itemSeparator = itemSeparator
        self.keySeparator = keySeparator
        self.sortKeys = sortKeys
        self.line = line
    }

    mutating func write(_ value: JinjaValue) throws -> String {
        var out = ""
        try write(value, into: &out)
        return out
    }

    private func newline(_ level: Int) -> String {
        guard let indent else { return "" }
        return "\n" + String(repeating: indent, count: level)
    }

    private func checkSize(_ out: String) throws {
        if out.utf8.count > maximumBytes {
            throw TemplateError(kind: .limit, message: "tojson output exceeds \(maximumBytes) bytes", line: line)
        }
    }

    /// json.dumps turns number, boolean and None keys into strings.
    private func jsonKey(_ key: JinjaValue) throws -> String {
        switch key {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .none: return "null"
        case .double(let d): return PythonText.floatRepr(d)
        default: throw TemplateError(kind: .render, message: "keys must be str, int, float, bool or None, not \(key.typeName)", line: line)
        }
    }

    private mutating func write(_ original: JinjaValue, into out: inout String) throws {
        let value = original.plain
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += PythonText.floatRepr(d) }
        case .string(let s): out += PythonText.jsonString(s, ensureASCII: ensureASCII)
        case .list(let items), .tuple(let items):
            if items.isEmpty { out += "[]"; return }
            depth += 1
            defer { depth -= 1 }
            guard depth <= 256 else { throw TemplateError(kind: .limit, message: "tojson: value nested too deeply", line: line) }
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += itemSeparator }
                out += newline(depth)
                try checkSize(out)
                try write(item, into: &out)
            }
            out += newline(depth - 1) + "]"
        case .dict(let dict):
            if dict.count == 0 { out += "{}"; return }
            depth += 1
            defer { depth -= 1 }
            guard depth <= 256 else { throw TemplateError(kind: .limit, message: "tojson: value nested too deeply", line: line) }
            out += "{"
            var pairs = try dict.pairs.map { (key: try jsonKey($0.key), value: $0.value) }
            if sortKeys { pairs.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } }
            for (index, pair) in pairs.enumerated() {
                if index > 0 { out += itemSeparator }
                out += newline(depth)
                try checkSize(out)
                out += PythonText.jsonString(pair.key, ensureASCII: ensureASCII) + keySeparator
                try write(pair.value, into: &out)
            }
            out += newline(depth - 1) + "}"
        case .undefined(let why):
            throw TemplateError(kind: .render, message: "Object of type Undefined is not JSON serializable (\(why))", line: line)
        default:
            throw TemplateError(kind: .render, message: "Object of type \(value.typeName) is not JSON serializable", line: line)
        }
    }
}
