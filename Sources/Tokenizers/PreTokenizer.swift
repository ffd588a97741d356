/// Splits text into the words that byte-level BPE encodes one at a time, as llama.cpp does for a
/// given `tokenizer.ggml.pre` (docs/TOKENIZERS.md, "Pre-tokenizers"). Hand-written equivalents of
/// llama.cpp's expressions, over Unicode scalars; no regex engine.
///
/// A pre-tokenizer is a list of stages. Each stage splits every piece the previous stage made
/// (the whole text, at first) into consecutive pieces, and sees nothing outside its piece, not
/// even through look-ahead: that is how llama.cpp applies its list of expressions, where the text
/// an expression does not match stays a piece of its own.
struct PreTokenizer: Sendable {
    enum Stage: Sendable, Equatable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        /// (Llama 3 with 3 digits, Qwen2 with 1); `lettersTakeMarks` (Qwen3.5) reads `\p{L}` as `[\p{L}\p{M}]`.
        case llama3(maxDigits: Int, lettersTakeMarks: Bool)
        /// `\p{N}`: every number character alone.
        case eachNumber
        /// `\p{N}+`
        case numberRuns
        /// `[0-9][0-9][0-9]`
        case asciiDigitTriples
        /// `[\p{P}\$\+<=>\^~\|]+`, with `` ` `` too when `backtick` (Falcon).
        case punctuationRuns(backtick: Bool)
        /// `[\r\n]`
        case eachLineBreak
        /// `\s?\p{L}+`
        case blankThenLetters
        /// `\s?\p{P}+`
        case blankThenPunctuation
        /// DeepSeek LLM's `\s?[A-Za-zµÀ-Ö…]+`: Latin, Greek, Cyrillic, Armenian, Georgian, … letters.
        case blankThenDeepSeekLetters
        /// DeepSeek LLM's `\s?[!-/:-~！-／：-～‘-‟　-。]+`
        case blankThenDeepSeekPunctuation
        /// `\s+$`: the blanks that end the piece.
        case trailingBlanks
        /// `[一-龥ࠀ-一가-퟿]+`: U+4E00–U+9FA5, U+0800–U+4E00, U+AC00–U+D7FF.
        case cjkRuns
    }

    /// What llama.cpp does for one `pre` value: its expressions, whether a word that is already a
    /// token skips the merges (`ignore_merges`), and whether BOS is added when the file does not say.
    struct Profile: Sendable {
        let stages: [Stage]
        let ignoresMerges: Bool
        let addsBOSByDefault: Bool
    }

    let stages: [Stage]

    init(stages: [Stage]) {
        self.stages = stages
    }

    /// nil for a pre-tokenizer this module does not implement.
    init?(pre: String?) {
        guard let profile = PreTokenizer.profile(pre: pre) else { return nil }
        stages = profile.stages
    }

    // llama.cpp's table from `pre` to expressions (llama-vocab.cpp, `llm_tokenizer_bpe` and the
    // `tokenizer_pre` checks of `load`), for the families implemented here.
    private static let gpt2Stages: [Stage] = [.gpt2]
    private static let individualDigitStages: [Stage] = [.eachNumber, .gpt2]
    private static let llama3Stages: [Stage] = [.llama3(maxDigits: 3, lettersTakeMarks: false)]
    private static let qwen2Stages: [Stage] = [.llama3(maxDigits: 1, lettersTakeMarks: false)]
    private static let qwen35Stages: [Stage] = [.llama3(maxDigits: 1, lettersTakeMarks: true)]
    private static let falconStages: [Stage] = [.punctuationRuns(backtick: true), .gpt2, .asciiDigitTriples]
    /// What llama.cpp uses for `pre = "default"` or a byte-level vocabulary without `pre`.
    private static let defaultStages: [Stage] = [.punctuationRuns(backtick: false), .gpt2, .numberRuns, .asciiDigitTriples]
    private static let deepSeekLLMStages: [Stage] = [
        .eachLineBreak, .blankThenDeepSeekLetters, .blankThenDeepSeekPunctuation, .trailingBlanks, .cjkRuns, .numberRuns,
    ]
    private static let deepSeekCoderStages: [Stage] = [
        .eachLineBreak, .blankThenLetters, .blankThenPunctuation, .cjkRuns, .eachNumber,
    ]

    static let profiles: [String: Profile] = {
        var table: [String: Profile] = [:]
        func add(_ names: [String], _ stages: [Stage], ignoresMerges: Bool = false, addsBOS: Bool = false) {
            for name in names { table[name] = Profile(stages: stages, ignoresMerges: ignoresMerges, addsBOSByDefault: addsBOS) }
        }
        add(["default"], defaultStages)
        add(["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
             "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4"], gpt2Stages)
        add(["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"], individualDigitStages)
        add(["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"],
            llama3Stages, ignoresMerges: true, addsBOS: true)
        add(["dbrx", "smaug-bpe"], llama3Stages)
        add(["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open"], qwen2Stages)
        add(["qwen35"], qwen35Stages)
        add(["falcon"], falconStages)
        add(["deepseek-llm"], deepSeekLLMStages)
        add(["deepseek-coder"], deepSeekCoderStages)
        return table
    }()

    /// The profile of `pre`; a byte-level vocabulary without `pre` gets llama.cpp's "default".
    static func profile(pre: String?) -> Profile? {
        profiles[pre ?? "default"]
    }

    static var supportedNames: [String] { profiles.keys.sorted() }

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

        scalars.withUnsafeBufferPointer { scalars in
            classes.withUnsafeBufferPointer { classes in
                let text = ScalarText(scalars: scalars, classes: classes)
                withoutActuallyEscaping(body) { body in
                    split(text, stage: 0, 0, scalars.count) { lo, hi in body(starts[lo]..<starts[hi]) }
                }
            }
        }
    }

    private func split(_ text: ScalarText, stage index: Int, _ lo: Int, _ hi: Int, _ emit: (Int, Int) -> Void) {
        guard index < stages.count else {
            emit(lo, hi)
            return
        }
        func next(_ a: Int, _ b: Int) { split(text, stage: index + 1, a, b, emit) }
        switch stages[index] {
        case .gpt2:
            text.splitGPT2(lo, hi, next)
        case let .llama3(maxDigits, lettersTakeMarks):
            text.splitLlama3(lo, hi, maxDigits: maxDigits, lettersTakeMarks: lettersTakeMarks, next)
        case .trailingBlanks:
            var start = hi
            while start > lo && text.classAt(start - 1, hi) & CharacterClass.whitespace != 0 { start -= 1 }
            if lo < start { next(lo, start) }
            if start < hi { next(start, hi) }
        default:
            let stage = stages[index]
            text.splitMatches(lo, hi, next) { text.matchEnd(stage, at: $0, hi) }
        }
    }
}

/// The scalars of a text and their classes, with the matchers of the pre-tokenizer stages.
/// Positions are scalar indices; `hi` is the end of the piece being split.
private struct ScalarText {
    let scalars: UnsafeBufferPointer<UInt32>
    let classes: UnsafeBufferPointer<UInt8>

    @inline(__always) func classAt(_ p: Int, _ hi: Int) -> UInt8 { p < hi ? classes[p] : 0 }
    @inline(__always) func isLineBreak(_ p: Int, _ hi: Int) -> Bool { p < hi && (scalars[p] == 0x0A || scalars[p] == 0x0D) }

    /// llama.cpp's regex fallback: leftmost matches left to right; the text between them is a piece too.
    /// `matchEnd(p)` is the end of the match that starts at p, or p if none does.
    func splitMatches(_ lo: Int, _ hi: Int, _ emit: (Int, Int) -> Void, _ matchEnd: (Int) -> Int) {
        var gapStart = lo
        var p = lo
        while p < hi {
            let end = matchEnd(p)
            if end > p {
                if gapStart < p { emit(gapStart, p) }
                emit(p, end)
                p = end
                gapStart = end
            } else {
                p += 1
            }
        }
        if gapStart < hi { emit(gapStart, hi) }
    }

    /// The end of the run of scalars from p that satisfy `member`.
    @inline(__always) func run(from p: Int, _ hi: Int, _ member: (Int) -> Bool) -> Int {
        var end = p
        while end < hi && member(end) { end += 1 }
        return end
    }

    /// `\s?X+`: a blank is taken only when an X follows it.
    @inline(__always) func blankThen(at p: Int, _ hi: Int, _ member: (Int) -> Bool) -> Int {
        if member(p) { return run(from: p, hi, member) }
        if classes[p] & CharacterClass.whitespace != 0 && p + 1 < hi && member(p + 1) { return run(from: p + 1, hi, member) }
        return p
    }

    func matchEnd(_ stage: PreTokenizer.Stage, at p: Int, _ hi: Int) -> Int {
        switch stage {
        case .eachNumber:
            return classes[p] & CharacterClass.number != 0 ? p + 1 : p
        case .numberRuns:
            return run(from: p, hi) { classes[$0] & CharacterClass.number != 0 }
        case .asciiDigitTriples:
            guard p + 2 < hi else { return p }
            for q in p..<(p + 3) where !(0x30...0x39).contains(scalars[q]) { return p }
            return p + 3
        case let .punctuationRuns(backtick):
            return run(from: p, hi) { q in
                if classes[q] & CharacterClass.punctuation != 0 { return true }
                switch scalars[q] {
                case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true  // $ + < = > ^ ~ |
                case 0x60: return backtick
                default: return false
                }
            }
        case .eachLineBreak:
            return isLineBreak(p, hi) ? p + 1 : p
        case .blankThenLetters:
            return blankThen(at: p, hi) { classes[$0] & CharacterClass.letter != 0 }
        case .blankThenPunctuation:
            return blankThen(at: p, hi) { classes[$0] & CharacterClass.punctuation != 0 }
        case .blankThenDeepSeekLetters:
            return blankThen(at: p, hi) { DeepSeekRanges.isLetter(scalars[$0], classes[$0]) }
        case .blankThenDeepSeekPunctuation:
            return blankThen(at: p, hi) { DeepSeekRanges.isPunctuation(scalars[$0], classes[$0]) }
        case .cjkRuns:
            return run(from: p, hi) { DeepSeekRanges.isCJK(scalars[$0], classes[$0]) }
        case .gpt2, .llama3, .trailingBlanks:
            return p  // split by their own functions
        }
    }

    /// GPT-2's expression over lo..<hi, as llama.cpp's hand-written version runs it.
    func splitGPT2(_ lo: Int, _ hi: Int, _ emit: (Int, Int) -> Void) {
        let letter = CharacterClass.letter, number = CharacterClass.number, space = CharacterClass.whitespace
        let wordClasses = letter | number | space
        @inline(__always) func isOther(_ c: UInt8) -> Bool { c & wordClasses == 0 && c != 0 }

        var pos = lo
        while pos < hi {
            let scalar = scalars[pos]
            // 's|'t|'re|'ve|'m|'ll|'d
            if let length = contraction(at: pos, hi, caseInsensitive: false) {
                emit(pos, pos + length)
                pos += length
                continue
            }
            let start = pos
            let leadingBlank = scalar == 0x20
            var c = leadingBlank ? classAt(pos + 1, hi) : classes[pos]
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
            if c & letter != 0 || c & number != 0 || isOther(c) {
                if leadingBlank { pos += 1 }
                if c & letter != 0 {
                    while c & letter != 0 { pos += 1; c = classAt(pos, hi) }
                } else if c & number != 0 {
                    while c & number != 0 { pos += 1; c = classAt(pos, hi) }
                } else {
                    while isOther(c) { pos += 1; c = classAt(pos, hi) }
                }
                emit(start, pos)
                continue
            }
            var whitespace = 0
            while classAt(pos + whitespace, hi) & space != 0 { whitespace += 1 }
            if whitespace > 1 && pos + whitespace < hi {
                pos += whitespace - 1  // `\s+(?!\S)`: the last blank prefixes the next word
            } else if whitespace > 0 {
                pos += whitespace  // `\s+`
            } else {
                pos += 1
            }
            emit(start, pos)
        }
    }

    /// The length of `'s|'t|'re|'ve|'m|'ll|'d` at pos (ASCII letters only, also in upper case
    /// when `caseInsensitive`: llama.cpp's lower-case table maps nothing else onto these letters).
    @inline(__always) func contraction(at pos: Int, _ hi: Int, caseInsensitive: Bool) -> Int? {
        guard scalars[pos] == 0x27, pos + 1 < hi else { return nil }
        func lower(_ s: UInt32) -> UInt32 { caseInsensitive && (0x41...0x5A).contains(s) ? s + 0x20 : s }
        let next = lower(scalars[pos + 1])
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }  // s t m d
        guard pos + 2 < hi else { return nil }
        let after = lower(scalars[pos + 2])
        if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65) || (next == 0x6C && after == 0x6C) {
            return 3  // re ve ll
        }
        return nil
    }

    /// The Llama 3 / Qwen2 / Qwen3.5 expression over lo..<hi, as llama.cpp's hand-written versions run it.
    func splitLlama3(_ lo: Int, _ hi: Int, maxDigits: Int, lettersTakeMarks: Bool, _ emit: (Int, Int) -> Void) {
        let number = CharacterClass.number, space = CharacterClass.whitespace
        let letters = lettersTakeMarks ? CharacterClass.letter | CharacterClass.mark : CharacterClass.letter
        let nonOther = space | letters | number
        @inline(__always) func isOther(_ c: UInt8) -> Bool { c & nonOther == 0 && c != 0 }

        var pos = lo
        while pos < hi {
            let start = pos
            let scalar = scalars[pos]
            let c = classes[pos]
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if let length = contraction(at: pos, hi, caseInsensitive: true) {
                emit(pos, pos + length)
                pos += length
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+  (one leading character of any other kind, blanks included)
            if !(scalar == 0x0A || scalar == 0x0D || c & number != 0) {
                if c & letters != 0 || classAt(pos + 1, hi) & letters != 0 {
                    pos += 1
                    while classAt(pos, hi) & letters != 0 { pos += 1 }
                    emit(start, pos)
                    continue
                }
            }
            // \p{N}{1,maxDigits}
            if c & number != 0 {
                var chunkStart = pos
                while classAt(pos, hi) & number != 0 {
                    pos += 1
                    if pos - chunkStart >= maxDigits {
                        emit(chunkStart, pos)
                        chunkStart = pos
                    }
                }
                if chunkStart < pos { emit(chunkStart, pos) }
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let afterBlank = scalar == 0x20 ? classAt(pos + 1, hi) : c
            if isOther(afterBlank) || (scalar == 0x20 && afterBlank == 0) {
                // (A blank that ends the piece is taken here alone, as in llama.cpp; the blank rules
                // below would give the same word.)
                if scalar == 0x20 { pos += 1 }
                while isOther(classAt(pos, hi)) { pos += 1 }
                while isLineBreak(pos, hi) { pos += 1 }
                emit(start, pos)
                continue
            }
            var blanks = 0
            var lineBreakEnd = -1
            while classAt(pos + blanks, hi) & space != 0 {
                if isLineBreak(pos + blanks, hi) { lineBreakEnd = pos + blanks + 1 }
                blanks += 1
            }
            if lineBreakEnd >= 0 {
                pos = lineBreakEnd  // \s*[\r\n]+
            } else if blanks > 1 && pos + blanks < hi {
                pos += blanks - 1  // \s+(?!\S)
            } else if blanks > 0 {
                pos += blanks  // \s+
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
