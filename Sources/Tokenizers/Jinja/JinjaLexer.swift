/// One token of a template, as jinja2's lexer produces them.
struct JinjaToken: Equatable {
    enum Kind: Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case operator_(String)
        case end
    }

    let kind: Kind
    let line: Int
}

/// Splits a template into text and tag tokens with the whitespace rules of the environment transformers uses:
/// `trim_blocks` (the first newline after a block or comment tag is dropped), `lstrip_blocks` (spaces and tabs
/// from the start of a line up to a block or comment tag are dropped), `-`/`+` markers on tags, a single
/// trailing newline of the source dropped (`keep_trailing_newline=False`), newlines normalised to `\n`. The
/// rules follow jinja2's `lexer.py` (docs/TOKENIZERS.md, "Chat templates").
struct JinjaLexer {
    private var scalars: [Unicode.Scalar]
    private var position = 0
    private var line = 1
    private var tokens: [JinjaToken] = []
    /// Whether the previous match ended with a newline (jinja2's `line_starting`), for `lstrip_blocks`.
    private var lineStarting = true

    static let maximumSourceScalars = 1 << 20

    init(source: String) throws {
        guard source.unicodeScalars.count <= Self.maximumSourceScalars else {
            throw TemplateError(kind: .limit, message: "the template is longer than \(Self.maximumSourceScalars) characters")
        }
        var normalised: [Unicode.Scalar] = []
        normalised.reserveCapacity(source.unicodeScalars.count)
        var previousWasCR = false
        for scalar in source.unicodeScalars {
            if scalar == "\r" {
                normalised.append("\n")
                previousWasCR = true
                continue
            }
            if scalar == "\n" && previousWasCR { previousWasCR = false; continue }
            previousWasCR = false
            normalised.append(scalar)
        }
        if normalised.last == "\n" { normalised.removeLast() }
        scalars = normalised
    }

    static func tokenize(_ source: String) throws -> [JinjaToken] {
        var lexer = try JinjaLexer(source: source)
        try lexer.run()
        return lexer.tokens
    }

    private func at(_ offset: Int) -> Unicode.Scalar? {
        let index = position + offset
        return index < scalars.count ? scalars[index] : nil
    }

    private func matches(_ text: String, at index: Int) -> Bool {
        var i = index
        for scalar in text.unicodeScalars {
            guard i < scalars.count, scalars[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    private mutating func emit(_ kind: JinjaToken.Kind) { tokens.append(JinjaToken(kind: kind, line: line)) }

    private mutating func advance(_ count: Int) {
        for i in position..<min(position + count, scalars.count) where scalars[i] == "\n" { line += 1 }
        position = min(position + count, scalars.count)
    }

    private mutating func run() throws {
        while position < scalars.count {
            // The next tag start: `{{`, `{%` or `{#`.
            var tagStart = position
            var opener: Unicode.Scalar?
            while tagStart + 1 < scalars.count {
                if scalars[tagStart] == "{", ["{", "%", "#"].contains(scalars[tagStart + 1]) {
                    opener = scalars[tagStart + 1]
                    break
                }
                tagStart += 1
            }
            guard let opener else {
                emitText(Array(scalars[position...]))
                advance(scalars.count - position)
                break
            }
            var text = Array(scalars[position..<tagStart])
            let sign = tagStart + 2 < scalars.count ? scalars[tagStart + 2] : nil
            if sign == "-" {
                while let last = text.last, PythonText.isSpace(last) { text.removeLast() }
            } else if sign != "+" && opener != "{" {
                let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
                if lineStart > 0 || lineStarting {
                    let tail = text[lineStart...]
                    if !tail.isEmpty && tail.allSatisfy(PythonText.isSpace) { text.removeSubrange(lineStart...) }
                }
            }
            emitText(text)
            advance(tagStart - position)
            let signLength = (sign == "-" || sign == "+") ? 1 : 0
            switch opener {
            case "#":
                advance(2 + signLength)
                try skipComment()
            case "%":
                emit(.blockBegin)
                advance(2 + signLength)
                try lexTag(closer: "%}", trimsNewline: true)
            default:
                emit(.variableBegin)
                advance(2 + signLength)
                try lexTag(closer: "}}", trimsNewline: false)
            }
        }
        emit(.end)
    }

    private mutating func emitText(_ text: [Unicode.Scalar]) {
        guard !text.isEmpty else { return }
        var string = String.UnicodeScalarView()
        string.append(contentsOf: text)
        emit(.text(String(string)))
    }

    /// Consumes the closing marker `+X`, `-X` plus following whitespace, or `X` plus one newline under
    /// `trim_blocks`; returns false when the position holds none.
    private mutating func consumeCloser(_ closer: String, trimsNewline: Bool) -> Bool {
        if at(0) == "+" && matches(closer, at: position + 1) {
            advance(3)
            lineStarting = false
            return true
        }
        if at(0) == "-" && matches(closer, at: position + 1) {
            advance(3)
            var last: Unicode.Scalar = closer.unicodeScalars.last!
            while let next = at(0), PythonText.isSpace(next) { last = next; advance(1) }
            lineStarting = last == "\n"
            return true
        }
        if matches(closer, at: position) {
            advance(2)
            lineStarting = false
            if trimsNewline && at(0) == "\n" { advance(1); lineStarting = true }
            return true
        }
        return false
    }

    private mutating func skipComment() throws {
        let startLine = line
        while position < scalars.count {
            if consumeCloser("#}", trimsNewline: true) { return }
            advance(1)
        }
        throw TemplateError(kind: .syntax, message: "missing end of comment tag", line: startLine)
    }

    private mutating func lexTag(closer: String, trimsNewline: Bool) throws {
        var balance: [Unicode.Scalar] = []
        let startLine = line
        while position < scalars.count {
            if balance.isEmpty && consumeCloser(closer, trimsNewline: trimsNewline) {
                emit(closer == "%}" ? .blockEnd : .variableEnd)
                return
            }
            let scalar = scalars[position]
            if PythonText.isSpace(scalar) { advance(1); continue }
            if isDigit(scalar) { try lexNumber(); continue }
            if scalar == "_" || scalar.properties.isAlphabetic {
                var end = position
                while end < scalars.count, scalars[end] == "_" || scalars[end].properties.isAlphabetic || isDigit(scalars[end]) { end += 1 }
                var name = String.UnicodeScalarView()
                name.append(contentsOf: scalars[position..<end])
                emit(.name(String(name)))
                advance(end - position)
                continue
            }
            if scalar == "'" || scalar == "\"" { try lexString(quote: scalar); continue }
            let two = position + 1 < scalars.count ? String(String.UnicodeScalarView([scalar, scalars[position + 1]])) : ""
            if ["//", "**", "==", "!=", ">=", "<="].contains(two) {
                emit(.operator_(two))
                advance(2)
                continue
            }
            guard "+-/*%~[](){}<>=.:|,;".unicodeScalars.contains(scalar) else {
                throw TemplateError(kind: .syntax, message: "unexpected character '\(Character(scalar))'", line: line)
            }
            switch scalar {
            case "(": balance.append(")")
            case "[": balance.append("]")
            case "{": balance.append("}")
            case ")", "]", "}":
                guard let expected = balance.popLast(), expected == scalar else {
                    throw TemplateError(kind: .syntax, message: "unexpected '\(Character(scalar))'", line: line)
                }
            default: break
            }
            emit(.operator_(String(Character(scalar))))
            advance(1)
        }
        throw TemplateError(kind: .syntax, message: "unexpected end of template: a tag opened here is not closed", line: startLine)
    }

    private func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 0x30 && scalar.value <= 0x39 }

    /// jinja2's integer and float literals: digits with `_` separators, a fraction and/or an exponent.
    private mutating func lexNumber() throws {
        var text = ""
        var isFloat = false
        func digits() {
            while let next = at(0) {
                if isDigit(next) { text.unicodeScalars.append(next); advance(1) }
                else if next == "_", let after = at(1), isDigit(after) { advance(1) }
                else { break }
            }
        }
        digits()
        if at(0) == ".", let after = at(1), isDigit(after) {
            isFloat = true
            text += "."
            advance(1)
            digits()
        }
        if at(0) == "e" || at(0) == "E" {
            var lookahead = 1
            if at(1) == "+" || at(1) == "-" { lookahead = 2 }
            if let digit = at(lookahead), isDigit(digit) {
                isFloat = true
                text += "e"
                if lookahead == 2 { text.unicodeScalars.append(at(1)!) }
                advance(lookahead)
                digits()
            }
        }
        if isFloat {
            guard let value = Double(text), value.isFinite else {
                throw TemplateError(kind: .syntax, message: "invalid number \(text)", line: line)
            }
            emit(.float(value))
        } else {
            guard let value = Int(text) else {
                throw TemplateError(kind: .syntax, message: "integer literal \(text) is too large", line: line)
            }
            emit(.integer(value))
        }
    }

    /// A quoted string, unescaped as Python's `unicode-escape` codec does (what jinja2 applies).
    private mutating func lexString(quote: Unicode.Scalar) throws {
        let startLine = line
        advance(1)
        var out = String.UnicodeScalarView()
        while let scalar = at(0) {
            if scalar == quote {
                advance(1)
                emit(.string(String(out)))
                return
            }
            if scalar != "\\" {
                out.append(scalar)
                advance(1)
                continue
            }
            guard let escape = at(1) else { break }
            advance(2)
            switch escape {
            case "\n": break
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var value = escape.value - 0x30
                var count = 1
                while count < 3, let next = at(0), ("0"..."7").contains(next) {
                    value = value * 8 + next.value - 0x30
                    advance(1)
                    count += 1
                }
                out.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            case "x", "u", "U":
                let width = escape == "x" ? 2 : escape == "u" ? 4 : 8
                var hex = ""
                for offset in 0..<width {
                    guard let digit = at(offset), digit.properties.isASCIIHexDigit else {
                        throw TemplateError(kind: .syntax, message: "truncated \\\(Character(escape)) escape in a string", line: line)
                    }
                    hex.unicodeScalars.append(digit)
                }
                advance(width)
                guard let code = UInt32(hex, radix: 16), let decoded = Unicode.Scalar(code) else {
                    throw TemplateError(kind: .syntax, message: "invalid \\\(Character(escape)) escape in a string", line: line)
                }
                out.append(decoded)
            default:
                out.append("\\")
                out.append(escape)
            }
        }
        throw TemplateError(kind: .syntax, message: "unterminated string", line: startLine)
    }
}
