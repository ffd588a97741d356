/// Text ↔ token ids for a GGUF vocabulary, reproducing llama.cpp's tokenizer: byte-level BPE
/// (`gpt2`) and SentencePiece-style BPE with scores (`llama`), special tokens parsed from the
/// text, BOS/EOS added as the vocabulary asks. Immutable after construction; safe to share.
public final class Tokenizer: Sendable {
    /// Per-token attribute bits (this tokenizer's own numbering).
    enum Attribute {
        static let normal: UInt8 = 1 << 0
        static let unknown: UInt8 = 1 << 1
        static let control: UInt8 = 1 << 2
        static let userDefined: UInt8 = 1 << 3
        static let unused: UInt8 = 1 << 4
        static let byte: UInt8 = 1 << 5
        /// Matched whole in the text before BPE.
        static let special: UInt8 = unknown | control | userDefined
        /// Left out by `decode(skipSpecialTokens: true)` (llama.cpp's "special" pieces).
        static let skippable: UInt8 = unknown | control
    }

    let model: TokenizerVocabulary.Model
    /// Whether `encode` starts with BOS when asked to add special tokens (the model's `add_bos_token`).
    public let addBOS: Bool
    let addEOS: Bool
    let addSpacePrefix: Bool
    public let bosID: Int?
    public let eosID: Int?
    /// Ids that end a generation: eos plus end-of-turn tokens such as <|im_end|>, <end_of_turn>, <|endoftext|>.
    public let endOfGenerationIDs: Set<Int>
    /// The token that closes an assistant turn: the first of the family's end-of-turn texts that the vocabulary
    /// has (`TokenizerVocabulary.endOfTurnTexts`, or `EndOfGeneration.turnClosers` when the family is unknown).
    public let endOfTurnID: Int?
    /// See `TokenizerVocabulary.chatTemplateFallback`.
    public let chatTemplateFallback: ChatTemplate?

    let table: ByteStringTable
    let attributes: [UInt8]
    /// The bytes of every token's piece, back to back; token i's are pieceStarts[i]..<pieceStarts[i+1].
    let pieceBytes: [UInt8]
    let pieceStarts: [Int32]
    let specialTokens: SpecialTokenMatcher
    let preTokenizer: PreTokenizer?
    let byteLevel: ByteLevelBPE?
    let sentencePiece: SentencePieceBPE?

    public init(_ vocabulary: TokenizerVocabulary) throws {
        let tokens = vocabulary.tokens
        let count = tokens.count
        guard count > 0 else { throw TokenizerError.emptyVocabulary }
        if let scores = vocabulary.scores, scores.count != count {
            throw TokenizerError.lengthMismatch(field: "scores", expected: count, actual: scores.count)
        }
        if let types = vocabulary.tokenTypes, types.count != count {
            throw TokenizerError.lengthMismatch(field: "tokenTypes", expected: count, actual: types.count)
        }
        for (field, id) in [("bosID", vocabulary.bosID), ("eosID", vocabulary.eosID),
                            ("unknownID", vocabulary.unknownID), ("paddingID", vocabulary.paddingID)] {
            if let id, !(0..<count).contains(id) {
                throw TokenizerError.tokenIDOutOfRange(field: field, id: id, vocabularySize: count)
            }
        }
        if vocabulary.addBOS && vocabulary.bosID == nil { throw TokenizerError.missingSpecialToken(field: "bosID") }
        if vocabulary.addEOS && vocabulary.eosID == nil { throw TokenizerError.missingSpecialToken(field: "eosID") }

        model = vocabulary.model
        addBOS = vocabulary.addBOS
        addEOS = vocabulary.addEOS
        addSpacePrefix = vocabulary.model == .llama && vocabulary.addSpacePrefix
        bosID = vocabulary.bosID
        eosID = vocabulary.eosID

        var table = ByteStringTable(minimumCapacity: count)
        var utf8: [[UInt8]] = []
        utf8.reserveCapacity(count)
        for (id, token) in tokens.enumerated() {
            let bytes = Array(token.utf8)
            table.insert(bytes, value: Int32(id))
            utf8.append(bytes)
        }
        self.table = table

        var attributes = [UInt8](repeating: Attribute.normal, count: count)
        if let types = vocabulary.tokenTypes {
            for (id, type) in types.enumerated() {
                switch TokenType(rawValue: type) {
                case .normal: attributes[id] = Attribute.normal
                case .unknown: attributes[id] = Attribute.unknown
                case .control: attributes[id] = Attribute.control
                case .userDefined: attributes[id] = Attribute.userDefined
                case .unused: attributes[id] = Attribute.unused
                case .byte: attributes[id] = Attribute.byte
                case .undefined, nil: attributes[id] = 0
                }
            }
        }
        let endOfGeneration = EndOfGeneration.ids(lookup: { table.lookup(Array($0.utf8)) }, eosID: vocabulary.eosID,
                                                  familyEndOfTurn: vocabulary.endOfTurnTexts ?? [])
        for id in endOfGeneration.ids.union(endOfGeneration.markedControl) {
            attributes[id] |= Attribute.control
        }
        self.attributes = attributes
        endOfGenerationIDs = endOfGeneration.ids
        endOfTurnID = (vocabulary.endOfTurnTexts ?? EndOfGeneration.turnClosers).lazy.compactMap { text -> Int? in
            let id = table.lookup(Array(text.utf8))
            return id >= 0 ? Int(id) : nil
        }.first
        chatTemplateFallback = vocabulary.chatTemplateFallback

        var candidates: [(id: Int, bytes: [UInt8], alwaysParsed: Bool)] = []
        for id in 0..<count where attributes[id] & Attribute.special != 0 {
            candidates.append((id, utf8[id], attributes[id] & Attribute.skippable == 0))
        }
        let stripping = Tokenizer.blankStrippingTokens(vocabulary, specialIDs: candidates.map(\.id), lookup: { table.lookup(Array($0.utf8)) })
        specialTokens = SpecialTokenMatcher(candidates: candidates, stripsBefore: stripping.before,
                                            stripsAfter: stripping.after)

        switch vocabulary.model {
        case .gpt2:
            guard let merges = vocabulary.merges, !merges.isEmpty else { throw TokenizerError.missingMerges }
            guard let profile = PreTokenizer.profile(pre: vocabulary.pre) else {
                throw TokenizerError.unsupportedPreTokenizer(vocabulary.pre ?? "")
            }
            preTokenizer = PreTokenizer(stages: profile.stages)
            byteLevel = try ByteLevelBPE(merges: merges, table: table, ignoresMerges: profile.ignoresMerges)
            sentencePiece = nil
        case .llama:
            preTokenizer = nil
            byteLevel = nil
            sentencePiece = SentencePieceBPE(scores: vocabulary.scores, tokenCount: count, table: table,
                                             unknownID: vocabulary.unknownID)
        }

        (pieceBytes, pieceStarts) = Tokenizer.pieces(utf8, attributes: attributes, model: vocabulary.model)
    }

    /// The special tokens that remove the blanks before / after them in the text: llama.cpp's
    /// LSTRIP / RSTRIP attributes, which it sets by model and pre-tokenizer name
    /// (`llama_vocab::impl::load`): every special token of a model named like Phi-3 strips after
    /// it, except <unk>, <s> and <|endoftext|>; <mask> of the jina-v2 vocabularies and [MASK] of
    /// ModernBERT strip before them.
    static func blankStrippingTokens(_ vocabulary: TokenizerVocabulary, specialIDs: [Int],
                                     lookup: (String) -> Int32) -> (before: Set<Int>, after: Set<Int>) {
        func id(_ text: String) -> Int? {
            let id = lookup(text)
            return id >= 0 ? Int(id) : nil
        }
        let name = (vocabulary.modelName ?? "").lowercased()
        let pre = vocabulary.pre ?? ""
        if ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains(where: { pre.contains($0) }) {
            return (Set([id("<mask>")].compactMap { $0 }), [])
        }
        if name.contains("phi-3") || name.contains("phi3") {
            var after = Set(specialIDs)
            if let end = id("</s>") { after.insert(end) }
            for text in ["<unk>", "<s>", "<|endoftext|>"] {
                if let kept = id(text) { after.remove(kept) }
            }
            return ([], after)
        }
        if name.contains("modern-bert") {
            return (Set([id("[MASK]")].compactMap { $0 }), [])
        }
        return ([], [])
    }

    /// What each token stands for, as llama.cpp's `token_to_piece` with special pieces rendered.
    private static func pieces(_ utf8: [[UInt8]], attributes: [UInt8], model: TokenizerVocabulary.Model)
        -> ([UInt8], [Int32]) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.reduce(0) { $0 + $1.count })
        var starts: [Int32] = [0]
        starts.reserveCapacity(utf8.count + 1)
        let blank: [UInt8] = [0xE2, 0x96, 0x81]  // "▁"
        for (id, text) in utf8.enumerated() {
            let attribute = attributes[id]
            if attribute & Attribute.special != 0 {
                bytes.append(contentsOf: text)
            } else if attribute & Attribute.byte != 0, model == .llama, let byte = Tokenizer.byteValue(text) {
                bytes.append(byte)
            } else if attribute & (Attribute.normal | Attribute.byte) != 0 {
                switch model {
                case .gpt2:
                    GPT2Bytes.appendDecoded(text, to: &bytes)
                case .llama:
                    var i = 0
                    while i < text.count {
                        if i + 2 < text.count && text[i] == blank[0] && text[i + 1] == blank[1] && text[i + 2] == blank[2] {
                            bytes.append(0x20)
                            i += 3
                        } else {
                            bytes.append(text[i])
                            i += 1
                        }
                    }
                }
            }
            // unused and undefined tokens render as nothing, as in llama.cpp
            starts.append(Int32(bytes.count))
        }
        return (bytes, starts)
    }

    /// The byte of a `<0xNN>` token.
    static func byteValue(_ text: [UInt8]) -> UInt8? {
        guard text.count == 6, text[0] == UInt8(ascii: "<"), text[1] == UInt8(ascii: "0"),
              text[2] == UInt8(ascii: "x"), text[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: text[3..<5], as: UTF8.self), radix: 16)
    }

    public var vocabularySize: Int { attributes.count }

    public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecialTokens: Bool = true) -> [Int] {
        var output: [Int] = []
        if addSpecialTokens && addBOS, let bosID { output.append(bosID) }
        let bytes = Array(text.utf8)
        if !bytes.isEmpty {
            output.reserveCapacity(bytes.count / 3 + 4)
            bytes.withUnsafeBufferPointer { buffer in
                let pieces = specialTokens.partition(buffer, parseSpecial: parseSpecialTokens)
                switch model {
                case .gpt2:
                    encodeByteLevel(buffer, pieces, into: &output)
                case .llama:
                    encodeSentencePiece(buffer, pieces, into: &output)
                }
            }
        }
        if addSpecialTokens && addEOS, let eosID { output.append(eosID) }
        return output
    }

    private func encodeByteLevel(_ bytes: UnsafeBufferPointer<UInt8>, _ pieces: [SpecialTokenMatcher.Piece],
                                 into output: inout [Int]) {
        guard let preTokenizer, let byteLevel else { return }
        for piece in pieces {
            switch piece {
            case let .token(id):
                output.append(id)
            case let .text(range):
                let fragment = UnsafeBufferPointer(rebasing: bytes[range])
                preTokenizer.split(fragment) { word in
                    byteLevel.encode(UnsafeBufferPointer(rebasing: fragment[word]), table: table, into: &output)
                }
            }
        }
    }

    private func encodeSentencePiece(_ bytes: UnsafeBufferPointer<UInt8>, _ pieces: [SpecialTokenMatcher.Piece],
                                     into output: inout [Int]) {
        guard let sentencePiece else { return }
        var previousWasSpecial = true
        var escaped: [UInt8] = []
        for piece in pieces {
            switch piece {
            case let .token(id):
                output.append(id)
                previousWasSpecial = true
            case let .text(range):
                escaped.removeAll(keepingCapacity: true)
                escaped.reserveCapacity(range.count * 2 + 3)
                if addSpacePrefix && previousWasSpecial { escaped.append(contentsOf: [0xE2, 0x96, 0x81]) }
                for byte in bytes[range] {
                    if byte == 0x20 {
                        escaped.append(contentsOf: [0xE2, 0x96, 0x81])  // " " → "▁"
                    } else {
                        escaped.append(byte)
                    }
                }
                escaped.withUnsafeBufferPointer { sentencePiece.encode($0, table: table, into: &output) }
                previousWasSpecial = false
            }
        }
    }

    /// The text of `ids`. Invalid UTF-8 (for example half of a character) becomes U+FFFD.
    /// `skipSpecialTokens` leaves out control and unknown tokens (bos, eos, <|im_start|>, …);
    /// user-defined tokens (Gemma's "\n\n", "<table>", …) are text and always kept.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        var stripLeadingBlank = addSpacePrefix
        for id in ids where isValid(id) {
            if skipSpecialTokens && attributes[id] & Attribute.skippable != 0 { continue }
            var start = Int(pieceStarts[id])
            let end = Int(pieceStarts[id + 1])
            if stripLeadingBlank && attributes[id] & Attribute.special == 0 {
                // The blank that encode prefixed to the text (add_space_prefix).
                if start < end && pieceBytes[start] == 0x20 { start += 1 }
                stripLeadingBlank = false
            }
            bytes.append(contentsOf: pieceBytes[start..<end])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Exact bytes of a token's text: byte-level BPE mapped back to bytes, `<0xNN>` → the byte,
    /// "▁" → space; special tokens give their text; unused tokens nothing. Empty for an invalid id.
    public func tokenBytes(_ id: Int) -> [UInt8] {
        guard isValid(id) else { return [] }
        return Array(pieceBytes[Int(pieceStarts[id])..<Int(pieceStarts[id + 1])])
    }

    /// Control, user-defined and unknown tokens: the ones matched whole in text before BPE.
    public func isSpecial(_ id: Int) -> Bool {
        isValid(id) && attributes[id] & Attribute.special != 0
    }

    /// The id of the token whose vocabulary text is exactly `text`.
    public func tokenID(_ text: String) -> Int? {
        let id = table.lookup(Array(text.utf8))
        return id >= 0 ? Int(id) : nil
    }

    func isValid(_ id: Int) -> Bool { id >= 0 && id < attributes.count }

    /// Whether decode(skipSpecialTokens: true) leaves the token out.
    func isSkippable(_ id: Int) -> Bool { isValid(id) && attributes[id] & Attribute.skippable != 0 }

    func appendPiece(_ id: Int, to bytes: inout [UInt8]) {
        guard isValid(id) else { return }
        bytes.append(contentsOf: pieceBytes[Int(pieceStarts[id])..<Int(pieceStarts[id + 1])])
    }
}
