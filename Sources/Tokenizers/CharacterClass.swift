/// The character classes that the pre-tokenizer regexes test (`\p{L}`, `\p{N}`, `\s`), as bits.
///
/// Letters and numbers are the Unicode general categories L* and N*; whitespace is the Unicode
/// White_Space property (the same set llama.cpp uses). Every scalar also has `defined` set, so a
/// zero value means "past the end of the chunk", which matches no class (as llama.cpp's
/// out-of-range flags do).
enum CharacterClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let defined: UInt8 = 8

    private static let ascii: [UInt8] = (0..<128).map { (c: Int) -> UInt8 in
        switch c {
        case 0x41...0x5A, 0x61...0x7A: return letter | defined
        case 0x30...0x39: return number | defined
        case 0x09...0x0D, 0x20: return whitespace | defined
        default: return defined
        }
    }

    @inline(__always)
    static func of(_ scalar: UInt32) -> UInt8 {
        if scalar < 128 { return ascii[Int(scalar)] }
        guard let value = Unicode.Scalar(scalar) else { return defined }
        let properties = value.properties
        if properties.isWhitespace { return whitespace | defined }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter | defined
        case .decimalNumber, .letterNumber, .otherNumber:
            return number | defined
        default:
            return defined
        }
    }
}
