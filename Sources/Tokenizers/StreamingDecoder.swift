/// Turns a stream of ids into text without ever emitting half a UTF-8 character.
///
/// Bytes are held back only while they are the start of a character that later bytes may
/// complete; everything else, invalid bytes included, is emitted at once (invalid bytes as
/// U+FFFD). The concatenation of every `push` and the final `finish` equals `decode` of all ids.
public struct StreamingDecoder: Sendable {
    public let tokenizer: Tokenizer
    public let skipSpecialTokens: Bool
    private var pending: [UInt8] = []
    private var atStart = true

    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// The newly completed text, possibly "".
    public mutating func push(_ id: Int) -> String {
        guard tokenizer.isValid(id), !(skipSpecialTokens && tokenizer.isSkippable(id)) else { return "" }
        let before = pending.count
        tokenizer.appendPiece(id, to: &pending)
        if atStart && tokenizer.addSpacePrefix && !tokenizer.isSpecial(id) {
            // decode() drops the blank that add_space_prefix put before the text
            if pending.count > before && pending[before] == 0x20 { pending.remove(at: before) }
            atStart = false
        }
        let complete = StreamingDecoder.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is left; bytes of an unfinished character become U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// How many leading bytes can be emitted now: all but a trailing, so far valid, incomplete sequence.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        // Find the last byte that is not a continuation byte, within the last 4 bytes.
        var lead = n - 1
        while lead >= 0 && lead > n - 4 && bytes[lead] & 0xC0 == 0x80 { lead -= 1 }
        guard lead >= 0 else { return n }
        let first = bytes[lead]
        let needed: Int
        switch first {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return n  // ASCII, or a byte that can never start a character
        }
        let have = n - lead
        if have >= needed { return n }
        // Held back only if what is there can still become a valid character.
        if have >= 2 {
            let second = bytes[lead + 1]
            let low: UInt8, high: UInt8
            switch first {
            case 0xE0: (low, high) = (0xA0, 0xBF)
            case 0xED: (low, high) = (0x80, 0x9F)
            case 0xF0: (low, high) = (0x90, 0xBF)
            case 0xF4: (low, high) = (0x80, 0x8F)
            default: (low, high) = (0x80, 0xBF)
            }
            if second < low || second > high { return n }
        }
        return lead
    }
}
