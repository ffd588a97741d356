/// Python methods of str, dict and list that templates call (`content.strip()`, `message.get('x')`). Methods
/// that mutate a list or dict fail, as in transformers' ImmutableSandboxedEnvironment.
extension JinjaInterpreter {
    func callMethod(_ receiver: JinjaValue, _ name: String, _ arguments: JinjaArguments) throws -> JinjaValue {
        let line = arguments.line
        switch receiver {
        case .string(let text): return try callStringMethod(text, name, arguments)
        case .dict(let dict):
            switch name {
            case "get":
                guard let key = arguments.value(0, "key") else { return arguments.value(1, "default") ?? .none }
                return dict[value: key] ?? arguments.value(1, "default") ?? .none
            case "items": return .iterator(JinjaIterator(kind: .dictItems, items: dict.pairs.map { .tuple([$0.key, $0.value]) }))
            case "keys": return .iterator(JinjaIterator(kind: .dictKeys, items: dict.keys))
            case "values": return .iterator(JinjaIterator(kind: .dictValues, items: dict.pairs.map(\.value)))
            case "copy": return receiver
            default: throw unsafe(name, receiver, line: line)
            }
        case .list(let items), .tuple(let items):
            switch name {
            case "count": return .int(items.filter { JinjaValue.equal($0, arguments.positional.first ?? .none) }.count)
            case "index":
                let needle = arguments.positional.first ?? .none
                guard let found = items.firstIndex(where: { JinjaValue.equal($0, needle) }) else {
                    throw TemplateError(kind: .render, message: "\(needle.pythonRepr) is not in list", line: line)
                }
                return .int(found)
            case "copy": return receiver
            default: throw unsafe(name, receiver, line: line)
            }
        default:
            throw TemplateError(kind: .render, message: "'\(receiver.typeName)' object has no method '\(name)'", line: line)
        }
    }

    private func unsafe(_ name: String, _ receiver: JinjaValue, line: Int?) -> TemplateError {
        TemplateError(kind: .render, message: "access to attribute '\(name)' of '\(receiver.typeName)' object is unsafe.", line: line)
    }

    private func callStringMethod(_ text: String, _ name: String, _ arguments: JinjaArguments) throws -> JinjaValue {
        let line = arguments.line
        func string(_ index: Int, _ key: String) throws -> String? {
            guard let value = arguments.value(index, key), !value.isNone else { return nil }
            guard case .string(let s) = value else {
                throw typeError("\(name)() argument must be str, not \(value.typeName)", value, line: line)
            }
            return s
        }
        func prefixes() throws -> [String] {
            switch arguments.positional.first {
            case .string(let s)?: return [s]
            case .tuple(let items)?, .list(let items)?: return items.map(\.pythonString)
            default: throw TemplateError(kind: .render, message: "\(name)() needs a string or a tuple of strings", line: line)
            }
        }
        switch name {
        case "strip": return .string(PythonText.strip(text, characters: try string(0, "chars")))
        case "lstrip": return .string(PythonText.strip(text, characters: try string(0, "chars"), trailing: false))
        case "rstrip": return .string(PythonText.strip(text, characters: try string(0, "chars"), leading: false))
        case "split", "rsplit":
            var limit = -1
            if case .int(let n)? = arguments.value(1, "maxsplit")?.number { limit = n }
            let separator = try string(0, "sep")
            if separator == "" { throw TemplateError(kind: .render, message: "empty separator", line: line) }
            return .list(PythonSplit.split(text, separator: separator, limit: limit, fromRight: name == "rsplit").map { .string($0) })
        case "startswith":
            return .bool(try prefixes().contains { text.unicodeScalars.starts(with: $0.unicodeScalars) })
        case "endswith":
            return .bool(try prefixes().contains { text.unicodeScalars.reversed().starts(with: $0.unicodeScalars.reversed()) })
        case "upper": return .string(text.uppercased())
        case "lower", "casefold": return .string(text.lowercased())
        case "title": return .string(PythonCase.pythonTitle(text))
        case "capitalize": return .string(PythonCase.capitalize(text))
        case "replace":
            guard let old = try string(0, "old"), let new = try string(1, "new") else {
                throw TemplateError(kind: .render, message: "replace() needs old and new strings", line: line)
            }
            var count = -1
            if case .int(let n)? = arguments.value(2, "count")?.number { count = n }
            let result = PythonCase.replace(text, old, new, count: count)
            try charge(result.utf8.count, line: line)
            return .string(result)
        case "format":
            let result = try PythonFormat.format(text, arguments, line: line)
            try charge(result.utf8.count, line: line)
            return .string(result)
        case "join":
            let items = try (arguments.positional.first ?? .list([])).iterated(line: line)
            let parts = try items.map { item -> String in
                guard case .string(let s) = item else {
                    throw TemplateError(kind: .render, message: "sequence item: expected str instance, \(item.typeName) found", line: line)
                }
                return s
            }
            let joined = parts.joined(separator: text)
            try charge(joined.utf8.count, line: line)
            return .string(joined)
        case "find", "rfind", "index", "count":
            let needle = Array((try string(0, "sub") ?? "").unicodeScalars)
            let haystack = Array(text.unicodeScalars)
            var positions: [Int] = []
            if needle.count <= haystack.count {
                var index = 0
                while index + needle.count <= haystack.count {
                    if Array(haystack[index..<index + needle.count]) == needle {
                        positions.append(index)
                        index += max(needle.count, 1)
                    } else {
                        index += 1
                    }
                }
            }
            if name == "count" { return .int(positions.count) }
            if name == "index" && positions.isEmpty { throw TemplateError(kind: .render, message: "substring not found", line: line) }
            if needle.isEmpty { return .int(name == "rfind" ? haystack.count : 0) }
            return .int((name == "rfind" ? positions.last : positions.first) ?? -1)
        case "splitlines": return .list(PythonText.splitLines(text).map { .string($0) })
        case "isdigit": return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.numericType == .digit || $0.properties.numericType == .decimal })
        case "isalpha": return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic })
        case "isalnum": return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        case "isspace": return .bool(!text.isEmpty && text.unicodeScalars.allSatisfy(PythonText.isSpace))
        case "islower": return .bool(text == text.lowercased() && text != text.uppercased())
        case "isupper": return .bool(text == text.uppercased() && text != text.lowercased())
        default:
            throw TemplateError(kind: .render, message: "'str' object has no method '\(name)'", line: line)
        }
    }
}

/// `str.split` / `str.rsplit`: with no separator, runs of whitespace split and ends are dropped.
enum PythonSplit {
    static func split(_ text: String, separator: String?, limit: Int, fromRight: Bool) -> [String] {
        let scalars = Array(text.unicodeScalars)
        if let separator {
            let pattern = Array(separator.unicodeScalars)
            var cuts: [Int] = []   // start indices of separators used
            if fromRight {
                var index = scalars.count - pattern.count
                while index >= 0, limit < 0 || cuts.count < limit {
                    if Array(scalars[index..<index + pattern.count]) == pattern { cuts.insert(index, at: 0); index -= pattern.count } else { index -= 1 }
                }
            } else {
                var index = 0
                while index + pattern.count <= scalars.count, limit < 0 || cuts.count < limit {
                    if Array(scalars[index..<index + pattern.count]) == pattern { cuts.append(index); index += pattern.count } else { index += 1 }
                }
            }
            var parts: [String] = [], start = 0
            for cut in cuts {
                parts.append(PythonText.string(scalars[start..<cut]))
                start = cut + pattern.count
            }
            parts.append(PythonText.string(scalars[start...]))
            return parts
        }
        // Whitespace runs.
        var words: [(Int, Int)] = []
        var index = 0
        while index < scalars.count {
            while index < scalars.count, PythonText.isSpace(scalars[index]) { index += 1 }
            guard index < scalars.count else { break }
            let start = index
            while index < scalars.count, !PythonText.isSpace(scalars[index]) { index += 1 }
            words.append((start, index))
        }
        guard limit >= 0, words.count > limit + 0 else { return words.map { PythonText.string(scalars[$0.0..<$0.1]) } }
        if fromRight {
            let kept = words.suffix(limit)
            let headEnd = kept.first.map { $0.0 } ?? scalars.count
            var head = PythonText.strip(PythonText.string(scalars[..<headEnd]), leading: true, trailing: true)
            if limit == 0 { head = PythonText.strip(text) }
            return (head.isEmpty ? [] : [head]) + kept.map { PythonText.string(scalars[$0.0..<$0.1]) }
        }
        let kept = words.prefix(limit)
        let tailStart = words[limit].0
        return kept.map { PythonText.string(scalars[$0.0..<$0.1]) } + [PythonText.strip(PythonText.string(scalars[tailStart...]), leading: false)]
    }
}

/// `str.format` with `{}`, `{0}`, `{name}`, `!s`/`!r` and `{{ }}`; format specs are not supported (an error).
enum PythonFormat {
    static func format(_ template: String, _ arguments: JinjaArguments, line: Int?) throws -> String {
        var out = ""
        var automatic = 0
        let scalars = Array(template.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "}" {
                guard index + 1 < scalars.count, scalars[index + 1] == "}" else {
                    throw TemplateError(kind: .render, message: "Single '}' encountered in format string", line: line)
                }
                out += "}"
                index += 2
                continue
            }
            guard scalar == "{" else { out.unicodeScalars.append(scalar); index += 1; continue }
            if index + 1 < scalars.count, scalars[index + 1] == "{" { out += "{"; index += 2; continue }
            guard let close = scalars[index...].firstIndex(of: "}") else {
                throw TemplateError(kind: .render, message: "Single '{' encountered in format string", line: line)
            }
            var field = PythonText.string(scalars[(index + 1)..<close])
            index = close + 1
            var conversion: Character?
            if let bang = field.firstIndex(of: "!") {
                conversion = field[field.index(after: bang)...].first
                field = String(field[..<bang])
            }
            if field.contains(":") { throw TemplateError(kind: .render, message: "unsupported construct: format spec in str.format", line: line) }
            let value: JinjaValue
            if field.isEmpty {
                guard automatic < arguments.positional.count else {
                    throw TemplateError(kind: .render, message: "Replacement index \(automatic) out of range for positional args tuple", line: line)
                }
                value = arguments.positional[automatic]
                automatic += 1
            } else if let position = Int(field) {
                guard position >= 0, position < arguments.positional.count else {
                    throw TemplateError(kind: .render, message: "Replacement index \(position) out of range for positional args tuple", line: line)
                }
                value = arguments.positional[position]
            } else {
                guard let keyword = arguments.keywords.last(where: { $0.0 == field }) else {
                    throw TemplateError(kind: .render, message: "KeyError: '\(field)'", line: line)
                }
                value = keyword.1
            }
            out += conversion == "r" ? value.pythonRepr : value.pythonString
        }
        return out
    }
}
