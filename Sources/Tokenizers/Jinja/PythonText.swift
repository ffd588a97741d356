/// Python's text rules that jinja2's output depends on: `str.isspace`, `repr` of strings and floats, `json.dumps`,
/// `str.splitlines`. Templates are written against Python, so these decide the bytes of a rendering.
enum PythonText {
    /// `str.isspace`: Unicode White_Space plus the information separators U+001C–U+001F.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
    }

    static func strip(_ text: String, characters: String? = nil, leading: Bool = true, trailing: Bool = true) -> String {
        let set = characters.map { Set($0.unicodeScalars) }
        func strips(_ scalar: Unicode.Scalar) -> Bool { set.map { $0.contains(scalar) } ?? isSpace(scalar) }
        let scalars = Array(text.unicodeScalars)
        var start = 0, end = scalars.count
        if leading { while start < end, strips(scalars[start]) { start += 1 } }
        if trailing { while end > start, strips(scalars[end - 1]) { end -= 1 } }
        return string(scalars[start..<end])
    }

    static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// `str.splitlines()`: splits on \n, \r, \r\n, \v, \f, \x1c–\x1e, \x85, U+2028, U+2029; no empty last line.
    static func splitLines(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var lines: [String] = []
        var start = 0, index = 0
        while index < scalars.count {
            let value = scalars[index].value
            if [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029].contains(value) {
                lines.append(string(scalars[start..<index]))
                if value == 0x0D, index + 1 < scalars.count, scalars[index + 1] == "\n" { index += 1 }
                start = index + 1
            }
            index += 1
        }
        if start < scalars.count { lines.append(string(scalars[start...])) }
        return lines
    }

    /// `repr(float)`: the shortest digits that round-trip, positional for exponents −4 … 15, else `d.ddde+XX`.
    static func floatRepr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description also gives the shortest round-trip digits; take them apart and lay them out as Python.
        var text = "\(Swift.abs(value))"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        var integerPart = text, fraction = ""
        if let dot = text.firstIndex(of: ".") {
            integerPart = String(text[..<dot])
            fraction = String(text[text.index(after: dot)...])
        }
        var digits = integerPart + fraction
        var pointPosition = integerPart.count + exponent   // digits before the decimal point
        let leadingZeros = digits.prefix { $0 == "0" }.count
        digits.removeFirst(leadingZeros)
        pointPosition -= leadingZeros
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        if digits.isEmpty { digits = "0" }
        let decimalExponent = pointPosition - 1
        var out = value < 0 ? "-" : ""
        if decimalExponent >= -4 && decimalExponent < 16 {
            if pointPosition <= 0 {
                out += "0." + String(repeating: "0", count: -pointPosition) + digits
            } else if pointPosition >= digits.count {
                out += digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
            } else {
                let split = digits.index(digits.startIndex, offsetBy: pointPosition)
                out += digits[..<split] + "." + digits[split...]
            }
        } else {
            out += String(digits.first!)
            if digits.count > 1 { out += "." + digits.dropFirst() }
            out += "e" + (decimalExponent < 0 ? "-" : "+")
            let magnitude = Swift.abs(decimalExponent)
            out += magnitude < 10 ? "0\(magnitude)" : "\(magnitude)"
        }
        return out
    }

    /// Whether Python's `str.isprintable` holds for a character (what `repr` leaves unescaped).
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// `repr(str)`: single quotes unless the text holds a single quote and no double quote.
    static func stringRepr(_ text: String) -> String {
        let quote: Unicode.Scalar = text.unicodeScalars.contains("'") && !text.unicodeScalars.contains("\"") ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case quote, "\\":
                out.append("\\"); out.append(scalar)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            default:
                if isPrintable(scalar) {
                    out.append(scalar)
                } else if scalar.value < 0x100 {
                    out.append(contentsOf: "\\x\(hex(scalar.value, width: 2))".unicodeScalars)
                } else if scalar.value < 0x10000 {
                    out.append(contentsOf: "\\u\(hex(scalar.value, width: 4))".unicodeScalars)
                } else {
                    out.append(contentsOf: "\\U\(hex(scalar.value, width: 8))".unicodeScalars)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// A JSON string as `json.dumps` writes it; `ensureASCII` escapes everything beyond ASCII as `\uXXXX`
    /// (astral characters as surrogate pairs).
    static func jsonString(_ text: String, ensureASCII: Bool) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) {
                    if scalar.value >= 0x10000 {
                        let v = scalar.value - 0x10000
                        out += "\\u" + hex(0xD800 + (v >> 10), width: 4) + "\\u" + hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + hex(scalar.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
