/// The character classes that the pre-tokenizer expressions test (`\p{L}`, `\p{N}`, `\p{P}`,
/// `\p{S}`, `\p{M}`, `\s`), as bits.
///
/// Letters, numbers, punctuation, symbols and marks are the Unicode general categories L*, N*, P*,
/// S* and M*; whitespace is the Unicode White_Space property (the same sets llama.cpp's tables
/// hold: for ASCII, 09–0D and 20 only). A whitespace character has no other class bit, as in
/// llama.cpp, whose regex fallback turns every non-ASCII blank into U+000B before matching.
/// Every scalar also has `defined` set, so a zero value means "past the end of the piece", which
/// matches no class (as llama.cpp's out-of-range flags do).
enum CharacterClass {
    static let letter: UInt8 = 1 << 0
    static let number: UInt8 = 1 << 1
    static let whitespace: UInt8 = 1 << 2
    static let defined: UInt8 = 1 << 3
    static let punctuation: UInt8 = 1 << 4
    static let symbol: UInt8 = 1 << 5
    static let mark: UInt8 = 1 << 6

    private static let ascii: [UInt8] = (0..<128).map { (c: Int) -> UInt8 in
        classify(Unicode.Scalar(UInt8(c)))
    }

    private static func classify(_ value: Unicode.Scalar) -> UInt8 {
        let properties = value.properties
        if value.value < 128 {
            // ASCII blanks are exactly \t \n \v \f \r and space (0x1C–0x1F are not, unlike Python's \s).
            if (0x09...0x0D).contains(value.value) || value.value == 0x20 { return whitespace | defined }
        } else if properties.isWhitespace {
            return whitespace | defined
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter | defined
        case .decimalNumber, .letterNumber, .otherNumber:
            return number | defined
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return punctuation | defined
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return symbol | defined
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return mark | defined
        default:
            return defined
        }
    }

    @inline(__always)
    static func of(_ scalar: UInt32) -> UInt8 {
        if scalar < 128 { return ascii[Int(scalar)] }
        guard let value = Unicode.Scalar(scalar) else { return defined }
        return classify(value)
    }
}
