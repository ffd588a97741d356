/// Parses GBNF, llama.cpp's grammar format (grammars/README.md in llama.cpp): `name ::= alternatives` rules,
/// `|` alternation, sequences, `( … )` groups, `*` `+` `?` and `{m}` `{m,}` `{m,n}` repetitions, `"literals"` and
/// `[classes]` (ranges, `^` negation) with the escapes `\x..` `\u....` `\U........` `\t` `\n` `\r` `\\` `\"` `\[` `\]`
/// `\-`, `.` for any character, and `#` comments. Groups and repetitions become generated rules as in llama.cpp's
/// parser (`parse_sequence`, `handle_repetitions`), so `x{0,3}` is `r3 ::= x r2 |`, `r2 ::= x r1 |`, `r1 ::= x |`.
///
/// Refused with a `GrammarError` (a request's 400): syntax errors, unknown escapes, a rule used but not defined or
/// defined twice, no root rule, left recursion (the matcher would expand it forever; llama.cpp refuses it too), a root
/// that derives no finite string, and anything over `GrammarLimits`.
public struct GrammarParser {
    private let source: [UInt8]
    private var position = 0
    private var ruleIndexByName: [String: Int32] = [:]
    private var ruleNames: [String] = []
    /// Each rule's elements once defined: [rule count], nil while only referenced.
    private var rules: [[Grammar.Element]?] = []
    /// Elements emitted so far, removed ones included: bounds the parser's work as well as the grammar's size.
    private var emitted = 0
    private var depth = 0

    public static func parse(_ text: String, rootName: String = "root") throws -> Grammar {
        guard text.utf8.count <= GrammarLimits.maxSourceBytes else {
            throw GrammarError("the grammar has \(text.utf8.count) bytes; at most \(GrammarLimits.maxSourceBytes) are allowed")
        }
        var parser = GrammarParser(source: Array(text.utf8))
        return try parser.parseGrammar(rootName: rootName)
    }

    private init(source: [UInt8]) { self.source = source }

    // MARK: rules

    private mutating func parseGrammar(rootName: String) throws -> Grammar {
        skipSpace(newlines: true)
        while position < source.count { try parseRule() }
        for (index, rule) in rules.enumerated() where rule == nil {
            throw GrammarError("rule '\(ruleNames[index])' is used but never defined")
        }
        guard let root = ruleIndexByName[rootName] else { throw GrammarError("the grammar has no '\(rootName)' rule") }
        var elements: [Grammar.Element] = []
        var starts: [Int32] = []
        elements.reserveCapacity(emitted)
        for rule in rules {
            starts.append(Int32(elements.count))
            elements.append(contentsOf: rule ?? [])
        }
        let grammar = Grammar(elements: elements, ruleStarts: starts, ruleNames: ruleNames, rootRule: root)
        try GrammarAnalysis(grammar).check()
        return grammar
    }

    private mutating func parseRule() throws {
        let name = try parseName()
        skipSpace(newlines: false)
        let index = try symbol(named: name)
        guard rules[Int(index)] == nil else { throw error("rule '\(name)' is defined twice") }
        guard consume("::=") else { throw error("expected '::=' after the rule name '\(name)'") }
        skipSpace(newlines: true)
        let body = try parseAlternatives(ruleName: name, nested: false)
        rules[Int(index)] = body
        if peek() == UInt8(ascii: "\r") { position += peek(1) == UInt8(ascii: "\n") ? 2 : 1 }
        else if peek() == UInt8(ascii: "\n") { position += 1 }
        else if position < source.count { throw error("expected a newline or the end of the grammar") }
        skipSpace(newlines: true)
    }

    private mutating func parseAlternatives(ruleName: String, nested: Bool) throws -> [Grammar.Element] {
        var out: [Grammar.Element] = []
        try parseSequence(into: &out, ruleName: ruleName, nested: nested)
        while peek() == UInt8(ascii: "|") {
            position += 1
            skipSpace(newlines: true)
            try emit(Grammar.Element(.alternative), into: &out)
            try parseSequence(into: &out, ruleName: ruleName, nested: nested)
        }
        try emit(Grammar.Element(.end), into: &out)
        return out
    }

    private mutating func parseSequence(into out: inout [Grammar.Element], ruleName: String, nested: Bool) throws {
        // Where the last complete symbol starts in `out` (nil: none that a repetition could apply to).
        var lastSymbol: Int?
        while position < source.count {
            let c = source[position]
            if c == UInt8(ascii: "\"") {
                position += 1
                lastSymbol = out.count
                while peek() != UInt8(ascii: "\"") {
                    guard position < source.count else { throw error("unterminated string literal") }
                    try emit(Grammar.Element(.char, try parseChar()), into: &out)
                }
                position += 1
                // An empty literal matches the empty string: nothing a repetition could repeat.
                if out.count == lastSymbol { lastSymbol = nil }
                skipSpace(newlines: nested)
            } else if c == UInt8(ascii: "[") {
                position += 1
                var startKind = Grammar.Kind.char
                if peek() == UInt8(ascii: "^") { position += 1; startKind = .charNot }
                let start = out.count
                while peek() != UInt8(ascii: "]") {
                    guard position < source.count else { throw error("unterminated character class") }
                    let codePoint = try parseChar()
                    try emit(Grammar.Element(out.count > start ? .charAlternative : startKind, codePoint), into: &out)
                    if peek() == UInt8(ascii: "-"), peek(1) != UInt8(ascii: "]"), position + 1 < source.count {
                        position += 1
                        let upper = try parseChar()
                        guard upper >= codePoint else { throw error("the range in a character class ends before it starts") }
                        try emit(Grammar.Element(.charRangeUpper, upper), into: &out)
                    }
                }
                guard out.count > start else { throw error("empty character class") }
                position += 1
                lastSymbol = start
                skipSpace(newlines: nested)
            } else if isNameByte(c) {
                let name = try parseName()
                let index = try symbol(named: name)
                lastSymbol = out.count
                try emit(Grammar.Element(.ruleReference, UInt32(index)), into: &out)
                skipSpace(newlines: nested)
            } else if c == UInt8(ascii: "(") {
                position += 1
                depth += 1
                guard depth <= GrammarLimits.maxNestingDepth else {
                    throw error("groups are nested more than \(GrammarLimits.maxNestingDepth) deep")
                }
                skipSpace(newlines: true)
                let index = try generatedSymbol(base: ruleName)
                let body = try parseAlternatives(ruleName: ruleName, nested: true)
                rules[Int(index)] = body
                guard peek() == UInt8(ascii: ")") else { throw error("expected ')'") }
                position += 1
                depth -= 1
                lastSymbol = out.count
                try emit(Grammar.Element(.ruleReference, UInt32(index)), into: &out)
                skipSpace(newlines: nested)
            } else if c == UInt8(ascii: ".") {
                position += 1
                lastSymbol = out.count
                try emit(Grammar.Element(.charAny), into: &out)
                skipSpace(newlines: nested)
            } else if c == UInt8(ascii: "*") || c == UInt8(ascii: "+") || c == UInt8(ascii: "?") || c == UInt8(ascii: "{") {
                guard let symbolStart = lastSymbol else { throw error("'\(Character(UnicodeScalar(c)))' has nothing before it to repeat") }
                position += 1
                let (minimum, maximum): (Int, Int?)
                switch c {
                case UInt8(ascii: "*"): (minimum, maximum) = (0, nil)
                case UInt8(ascii: "+"): (minimum, maximum) = (1, nil)
                case UInt8(ascii: "?"): (minimum, maximum) = (0, 1)
                default: (minimum, maximum) = try parseBraces()
                }
                skipSpace(newlines: nested)
                try repeatSymbol(in: &out, from: symbolStart, minimum: minimum, maximum: maximum, ruleName: ruleName)
                lastSymbol = nil
            } else {
                break
            }
        }
    }

    /// `{m}`, `{m,}` or `{m,n}` after the opening brace.
    private mutating func parseBraces() throws -> (Int, Int?) {
        skipSpace(newlines: false)
        let minimum = try parseCount()
        skipSpace(newlines: false)
        var maximum: Int? = minimum
        if peek() == UInt8(ascii: ",") {
            position += 1
            skipSpace(newlines: false)
            if let c = peek(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                maximum = try parseCount()
                skipSpace(newlines: false)
            } else {
                maximum = nil
            }
        }
        guard peek() == UInt8(ascii: "}") else { throw error("expected '}' to close a repetition") }
        position += 1
        if let maximum, maximum < minimum { throw error("the repetition {\(minimum),\(maximum)} has its maximum below its minimum") }
        return (minimum, maximum)
    }

    private mutating func parseCount() throws -> Int {
        var value = 0
        var digits = 0
        while let c = peek(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
            value = value * 10 + Int(c - UInt8(ascii: "0"))
            digits += 1
            position += 1
            guard value <= GrammarLimits.maxRepetition else {
                throw error("a repetition count above \(GrammarLimits.maxRepetition)")
            }
        }
        guard digits > 0 else { throw error("expected a number in a repetition") }
        return value
    }

    /// llama.cpp's `handle_repetitions`: the symbol at `out[start...]` repeated `minimum` times, then up to
    /// `maximum - minimum` optional copies as a chain of generated rules (one right-recursive rule when unbounded).
    private mutating func repeatSymbol(in out: inout [Grammar.Element], from start: Int, minimum: Int, maximum: Int?,
                                       ruleName: String) throws {
        let symbol = Array(out[start...])
        if minimum == 0 {
            out.removeLast(out.count - start)
        } else if minimum > 1 {
            // Both factors are bounded (maxRepetition, maxElements), so the product cannot overflow.
            try charge((minimum - 1) * symbol.count)
            for _ in 1..<minimum { out.append(contentsOf: symbol) }
        }
        let optionalCopies = maximum.map { $0 - minimum } ?? 1
        var previous: Int32?
        for copy in 0..<optionalCopies {
            let index = try generatedSymbol(base: ruleName)
            var body = symbol
            if maximum == nil {
                body.append(Grammar.Element(.ruleReference, UInt32(index)))
            } else if copy > 0, let previous {
                body.append(Grammar.Element(.ruleReference, UInt32(previous)))
            }
            body.append(Grammar.Element(.alternative))
            body.append(Grammar.Element(.end))
            try charge(body.count)
            rules[Int(index)] = body
            previous = index
        }
        if let previous { try emit(Grammar.Element(.ruleReference, UInt32(previous)), into: &out) }
    }

    // MARK: symbols

    private mutating func symbol(named name: String) throws -> Int32 {
        if let index = ruleIndexByName[name] { return index }
        return try newSymbol(name)
    }

    private mutating func generatedSymbol(base: String) throws -> Int32 {
        var name = "\(base)#\(rules.count)"   // `#` cannot occur in a written name
        while ruleIndexByName[name] != nil { name += "_" }
        return try newSymbol(name)
    }

    private mutating func newSymbol(_ name: String) throws -> Int32 {
        guard rules.count < GrammarLimits.maxRules else {
            throw GrammarError("the grammar needs more than \(GrammarLimits.maxRules) rules (groups and repetitions count as rules)")
        }
        let index = Int32(rules.count)
        ruleIndexByName[name] = index
        ruleNames.append(name)
        rules.append(nil)
        return index
    }

    // MARK: lexical

    private mutating func emit(_ element: Grammar.Element, into out: inout [Grammar.Element]) throws {
        try charge(1)
        out.append(element)
    }

    private mutating func charge(_ count: Int) throws {
        emitted += count
        guard emitted <= GrammarLimits.maxElements else {
            throw GrammarError("the grammar compiles to more than \(GrammarLimits.maxElements) elements (repetitions are expanded)")
        }
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < source.count ? source[position + offset] : nil
    }

    private mutating func consume(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard position + bytes.count <= source.count, Array(source[position..<(position + bytes.count)]) == bytes else { return false }
        position += bytes.count
        return true
    }

    private func isNameByte(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
    }

    private mutating func parseName() throws -> String {
        let start = position
        while let c = peek(), isNameByte(c) { position += 1 }
        guard position > start else { throw error("expected a rule name") }
        return String(decoding: source[start..<position], as: UTF8.self)
    }

    /// Spaces, tabs and `#` comments; newlines too where a rule may continue on the next line (inside groups).
    private mutating func skipSpace(newlines: Bool) {
        while let c = peek() {
            if c == UInt8(ascii: "#") {
                while let d = peek(), d != UInt8(ascii: "\n"), d != UInt8(ascii: "\r") { position += 1 }
            } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || (newlines && (c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r"))) {
                position += 1
            } else {
                return
            }
        }
    }

    /// One character of a literal or class: an escape or one UTF-8 encoded code point.
    private mutating func parseChar() throws -> UInt32 {
        guard let c = peek() else { throw error("unexpected end of the grammar") }
        if c == UInt8(ascii: "\\") {
            guard let e = peek(1) else { throw error("unexpected end of the grammar after '\\'") }
            position += 2
            switch e {
            case UInt8(ascii: "x"): return try parseHex(digits: 2)
            case UInt8(ascii: "u"): return try parseHex(digits: 4)
            case UInt8(ascii: "U"): return try parseHex(digits: 8)
            case UInt8(ascii: "t"): return 9
            case UInt8(ascii: "n"): return 10
            case UInt8(ascii: "r"): return 13
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "-"):
                return UInt32(e)
            default:
                position -= 2
                throw error("unknown escape '\\\(Character(UnicodeScalar(e)))'")
            }
        }
        // The source came from a String, so it is valid UTF-8.
        let length = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4
        guard position + length <= source.count else { throw error("truncated UTF-8") }
        var value = length == 1 ? UInt32(c) : UInt32(c) & (0xFF >> (length + 1))
        for i in 1..<length { value = value << 6 | UInt32(source[position + i] & 0x3F) }
        position += length
        return value
    }

    private mutating func parseHex(digits: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let c = peek() else { throw error("expected \(digits) hexadecimal digits") }
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("expected \(digits) hexadecimal digits")
            }
            value = value << 4 | digit
            position += 1
        }
        guard value <= 0x10FFFF else { throw error("the escape \\U\(String(value, radix: 16)) is not a Unicode code point") }
        return value
    }

    private func error(_ message: String) -> GrammarError {
        // Line and column of the error, 1-based, for a grammar author.
        var line = 1, column = 1
        for byte in source[..<min(position, source.count)] {
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
        }
        return GrammarError("\(message) (line \(line), column \(column))")
    }
}

/// Whole-grammar checks, each linear in the grammar's size: which rules derive the empty string, left recursion
/// (a rule reaching itself through nullable prefixes), and whether the root derives any finite string at all.
struct GrammarAnalysis {
    let grammar: Grammar
    /// Each alternative's element range: [alternatives] of (rule, first element, end element).
    private var alternatives: [(rule: Int, start: Int, end: Int)] = []

    init(_ grammar: Grammar) {
        self.grammar = grammar
        for rule in grammar.ruleStarts.indices {
            var start = Int(grammar.ruleStarts[rule])
            var p = start
            while true {
                if grammar.endsSequence(p) {
                    alternatives.append((rule, start, p))
                    if grammar.elements[p].kind == .end { break }
                    start = p + 1
                }
                p += 1
            }
        }
    }

    func check() throws {
        let nullable = derivable(charactersAllowed: false)
        if let rule = leftRecursiveRule(nullable: nullable) {
            throw GrammarError("rule '\(grammar.ruleNames[rule])' is left-recursive")
        }
        let productive = derivable(charactersAllowed: true)
        guard productive[Int(grammar.rootRule)] else {
            throw GrammarError("the grammar accepts no finite string (its root never finishes)")
        }
    }

    /// Rules that derive some string (`charactersAllowed`) or the empty string (not): a worklist over the
    /// alternatives, each waiting on the references it still has unresolved.
    private func derivable(charactersAllowed: Bool) -> [Bool] {
        let ruleCount = grammar.ruleStarts.count
        var result = [Bool](repeating: false, count: ruleCount)
        var waiting = [Int](repeating: 0, count: alternatives.count)
        var users = [[Int]](repeating: [], count: ruleCount)     // alternatives that reference each rule
        var ready: [Int] = []
        for (index, alternative) in alternatives.enumerated() {
            var blocked = false
            for p in alternative.start..<alternative.end {
                let element = grammar.elements[p]
                if element.kind == .ruleReference {
                    waiting[index] += 1
                    users[Int(element.value)].append(index)
                } else if !charactersAllowed && element.kind != .charRangeUpper && element.kind != .charAlternative {
                    blocked = true
                }
            }
            if blocked { waiting[index] = -1 } else if waiting[index] == 0 { ready.append(index) }
        }
        while let index = ready.popLast() {
            let rule = alternatives[index].rule
            guard !result[rule] else { continue }
            result[rule] = true
            for user in users[rule] where waiting[user] > 0 {
                waiting[user] -= 1
                if waiting[user] == 0 { ready.append(user) }
            }
        }
        return result
    }

    /// A rule on a cycle of "may begin with" edges (through nullable prefixes), found by an iterative depth-first search.
    private func leftRecursiveRule(nullable: [Bool]) -> Int? {
        let ruleCount = grammar.ruleStarts.count
        var edges = [[Int]](repeating: [], count: ruleCount)
        for alternative in alternatives {
            for p in alternative.start..<alternative.end {
                let element = grammar.elements[p]
                if element.kind == .ruleReference {
                    edges[alternative.rule].append(Int(element.value))
                    if !nullable[Int(element.value)] { break }
                } else if element.kind != .charRangeUpper && element.kind != .charAlternative {
                    break
                }
            }
        }
        // 0: unvisited, 1: on the current path, 2: done.
        var colour = [UInt8](repeating: 0, count: ruleCount)
        for start in 0..<ruleCount where colour[start] == 0 {
            var path: [(rule: Int, next: Int)] = [(start, 0)]
            colour[start] = 1
            while let top = path.last {
                if top.next < edges[top.rule].count {
                    path[path.count - 1].next += 1
                    let target = edges[top.rule][top.next]
                    if colour[target] == 1 { return target }
                    if colour[target] == 0 {
                        colour[target] = 1
                        path.append((target, 0))
                    }
                } else {
                    colour[top.rule] = 2
                    path.removeLast()
                }
            }
        }
        return nil
    }
}
