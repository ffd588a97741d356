/// Splits text into the words that byte-level BPE encodes one at a time, as llama.cpp does for a
/// given `tokenizer.ggml.pre`. Hand-written equivalents of the regexes, over Unicode scalars.
///
/// - `gpt2`: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// - `smollm` (and the StarCoder family): first `\p{N}` (every number character is a word of its
///   own), then the GPT-2 expression inside each piece. The pieces bound the GPT-2 look-ahead:
///   in "a  1" the two spaces stay together because the digit starts a new piece.
struct PreTokenizer: Sendable {
    enum Kind: Sendable {
        case gpt2
        case gpt2IndividualDigits
    }

    let kind: Kind

    static let gpt2Names: Set<String> = ["gpt2", "gpt-2", "default", "mpt", "olmo"]
    static let individualDigitNames: Set<String> = ["smollm", "starcoder", "refact", "command-r", "codeshell"]
    static var supportedNames: Set<String> { gpt2Names.union(individualDigitNames) }

    /// nil for a pre-tokenizer this module does not implement; a missing name means GPT-2.
    init?(pre: String?) {
        guard let pre else {
            kind = .gpt2
            return
        }
        if PreTokenizer.gpt2Names.contains(pre) {
            kind = .gpt2
        } else if PreTokenizer.individualDigitNames.contains(pre) {
            kind = .gpt2IndividualDigits
        } else {
            return nil
        }
    }

    /// Calls `body` with the byte range of each word of `bytes` (valid UTF-8), in order.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        var scalars: [UInt32] = []
        var classes: [UInt8] = []
        var starts: [Int] = []
        scalars.reserveCapacity(bytes.count)
        classes.reserveCapacity(bytes.count)
        starts.reserveCapacity(bytes.count + 1)
        var i = 0
        while i < bytes.count {
            let (scalar, length) = UTF8Scalars.decode(bytes, at: i)
            scalars.append(scalar)
            classes.append(CharacterClass.of(scalar))
            starts.append(i)
            i += length
        }
        starts.append(bytes.count)

        withoutActuallyEscaping(body) { body in
            let emit = { (lo: Int, hi: Int) in body(starts[lo]..<starts[hi]) }
            splitScalars(scalars, classes, emit)
        }
    }

    private func splitScalars(_ scalars: [UInt32], _ classes: [UInt8], _ emit: (Int, Int) -> Void) {
        switch kind {
        case .gpt2:
            PreTokenizer.splitGPT2(scalars, classes, 0, scalars.count, emit)
        case .gpt2IndividualDigits:
            var pieceStart = 0
            for p in 0..<scalars.count where classes[p] & CharacterClass.number != 0 {
                if pieceStart < p { PreTokenizer.splitGPT2(scalars, classes, pieceStart, p, emit) }
                emit(p, p + 1)
                pieceStart = p + 1
            }
            if pieceStart < scalars.count {
                PreTokenizer.splitGPT2(scalars, classes, pieceStart, scalars.count, emit)
            }
        }
    }

    /// The GPT-2 expression over scalars lo..<hi; nothing past `hi` is seen (not even by look-ahead).
    private static func splitGPT2(
        _ scalars: [UInt32], _ classes: [UInt8], _ lo: Int, _ hi: Int, _ emit: (Int, Int) -> Void
    ) {
        let letter = CharacterClass.letter, number = CharacterClass.number, space = CharacterClass.whitespace
        let wordClasses = letter | number | space
        let apostrophe: UInt32 = 0x27, blank: UInt32 = 0x20
        @inline(__always) func classAt(_ p: Int) -> UInt8 { p < hi ? classes[p] : 0 }
        @inline(__always) func isOther(_ c: UInt8) -> Bool { c & wordClasses == 0 && c != 0 }

        var pos = lo
        while pos < hi {
            let scalar = scalars[pos]
            // 's|'t|'re|'ve|'m|'ll|'d
            if scalar == apostrophe && pos + 1 < hi {
                let next = scalars[pos + 1]
                if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 {  // s t m d
                    emit(pos, pos + 2)
                    pos += 2
                    continue
                }
                if pos + 2 < hi {
                    let after = scalars[pos + 2]
                    if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65) || (next == 0x6C && after == 0x6C) {
                        emit(pos, pos + 3)  // re ve ll
                        pos += 3
                        continue
                    }
                }
            }
            let start = pos
            let leadingBlank = scalar == blank
            var c = leadingBlank ? classAt(pos + 1) : classes[pos]
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
            if c & letter != 0 || c & number != 0 || isOther(c) {
                if leadingBlank { pos += 1 }
                if c & letter != 0 {
                    while c & letter != 0 { pos += 1; c = classAt(pos) }
                } else if c & number != 0 {
                    while c & number != 0 { pos += 1; c = classAt(pos) }
                } else {
                    while isOther(c) { pos += 1; c = classAt(pos) }
                }
                emit(start, pos)
                continue
            }
            var whitespace = 0
            while classAt(pos + whitespace) & space != 0 { whitespace += 1 }
            if whitespace > 1 && pos + whitespace < hi {
                // `\s+(?!\S)`: leave the last blank to prefix the next word
                pos += whitespace - 1
            } else if whitespace > 0 {
                pos += whitespace  // `\s+`
            } else {
                pos += 1
            }
            emit(start, pos)
        }
    }
}

/// UTF-8 decoding of valid input, one scalar at a time.
enum UTF8Scalars {
    @inline(__always)
    static func sequenceLength(lead: UInt8) -> Int {
        if lead < 0x80 { return 1 }
        if lead < 0xE0 { return 2 }
        if lead < 0xF0 { return 3 }
        return 4
    }

    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        let lead = bytes[i]
        let length = min(sequenceLength(lead: lead), bytes.count - i)
        switch length {
        case 1:
            return (UInt32(lead), 1)
        case 2:
            return ((UInt32(lead & 0x1F) << 6) | UInt32(bytes[i + 1] & 0x3F), 2)
        case 3:
            return ((UInt32(lead & 0x0F) << 12) | (UInt32(bytes[i + 1] & 0x3F) << 6) | UInt32(bytes[i + 2] & 0x3F), 3)
        default:
            return ((UInt32(lead & 0x07) << 18) | (UInt32(bytes[i + 1] & 0x3F) << 12)
                | (UInt32(bytes[i + 2] & 0x3F) << 6) | UInt32(bytes[i + 3] & 0x3F), 4)
        }
    }
}
