/// A syntax check of a request body against RFC 8259 before it reaches Foundation's decoder, which accepts more
/// than JSON (trailing commas, for one) and recurses without a bound. What passes here is exactly one JSON value,
/// nested at most `maxDepth` arrays and objects deep; nothing is built, so the check costs one pass over the bytes.
enum StrictJSON {
    /// Deep enough for any request this server takes (a JSON schema inside a request nests a few dozen levels).
    static let maxDepth = 64

    struct SyntaxError: Error, Equatable, CustomStringConvertible {
        var message: String
        /// Byte offset into the body.
        var offset: Int
        var description: String { "\(message) at byte \(offset)" }
    }

    /// Reads the bytes in place when they are contiguous (a request body's buffer is), copying them only otherwise.
    static func validate(_ bytes: some Collection<UInt8>, maxDepth: Int = StrictJSON.maxDepth) throws(SyntaxError) {
        func scan(_ buffer: UnsafeBufferPointer<UInt8>) -> SyntaxError? {
            var scanner = Scanner(bytes: buffer, maxDepth: maxDepth)
            do throws(SyntaxError) { try scanner.document() } catch { return error }
            return nil
        }
        let failure: SyntaxError? = bytes.withContiguousStorageIfAvailable(scan) ?? Array(bytes).withUnsafeBufferPointer(scan)
        if let failure { throw failure }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxDepth: Int
        var index = 0
        var depth = 0

        init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        mutating func document() throws(SyntaxError) {
            skipWhitespace()
            try value()
            skipWhitespace()
            if index < bytes.count { throw fail("unexpected data after the JSON value") }
        }

        private func fail(_ message: String) -> SyntaxError { SyntaxError(message: message, offset: index) }

        private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        private mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        private mutating func value() throws(SyntaxError) {
            guard let byte = current else { throw fail("unexpected end of the body, a value was expected") }
            switch byte {
            case UInt8(ascii: "{"): try container(close: UInt8(ascii: "}"), isObject: true)
            case UInt8(ascii: "["): try container(close: UInt8(ascii: "]"), isObject: false)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw fail("unexpected character '\(Self.printable(byte))', a value was expected")
            }
        }

        /// An object or array; members are separated by exactly one comma, with none after the last.
        private mutating func container(close: UInt8, isObject: Bool) throws(SyntaxError) {
            depth += 1
            guard depth <= maxDepth else { throw fail("nesting deeper than \(maxDepth) levels") }
            index += 1
            skipWhitespace()
            if current == close {
                index += 1
                depth -= 1
                return
            }
            while true {
                if isObject {
                    guard current == UInt8(ascii: "\"") else {
                        throw fail(current == close ? "trailing comma before '\(Self.printable(close))'" : "an object key (a string) was expected")
                    }
                    try string()
                    skipWhitespace()
                    guard current == UInt8(ascii: ":") else { throw fail("':' was expected after an object key") }
                    index += 1
                    skipWhitespace()
                } else if current == close {
                    throw fail("trailing comma before ']'")
                }
                try value()
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                    continue
                }
                guard current == close else { throw fail("',' or '\(Self.printable(close))' was expected") }
                index += 1
                depth -= 1
                return
            }
        }

        private mutating func string() throws(SyntaxError) {
            index += 1   // the opening quote
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current else { break }
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 1
                    case UInt8(ascii: "u"):
                        index += 1
                        for _ in 0..<4 {
                            guard let hex = current, Self.isHexDigit(hex) else { throw fail("\\u must be followed by four hex digits") }
                            index += 1
                        }
                    default:
                        throw fail("invalid escape '\\\(Self.printable(escaped))' in a string")
                    }
                case 0x00..<0x20:
                    throw fail("unescaped control character U+00\(Self.hex(byte)) in a string")
                default:
                    index += 1
                }
            }
            throw fail("unterminated string")
        }

        private mutating func literal(_ word: StaticString) throws(SyntaxError) {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw fail("invalid literal, '\(word)' was expected") }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
                throw fail("invalid literal, '\(word)' was expected")
            }
            index += count
        }

        /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        private mutating func number() throws(SyntaxError) {
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, Self.isDigit(first) else { throw fail("a digit was expected in a number") }
            index += 1
            if first == UInt8(ascii: "0"), let next = current, Self.isDigit(next) {
                throw fail("a number must not have leading zeros")
            }
            skipDigits()
            if current == UInt8(ascii: ".") {
                index += 1
                guard let digit = current, Self.isDigit(digit) else { throw fail("a digit was expected after '.'") }
                skipDigits()
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let digit = current, Self.isDigit(digit) else { throw fail("a digit was expected in the exponent") }
                skipDigits()
            }
        }

        private mutating func skipDigits() {
            while let byte = current, Self.isDigit(byte) { index += 1 }
        }

        private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

        private static func isHexDigit(_ byte: UInt8) -> Bool {
            isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }

        private static func hex(_ byte: UInt8) -> String {
            let digits = Array("0123456789ABCDEF")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
        }

        /// A byte as it may appear in a message: printable ASCII as itself, anything else as its code.
        private static func printable(_ byte: UInt8) -> String {
            (0x21..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "0x" + hex(byte)
        }
    }
}
