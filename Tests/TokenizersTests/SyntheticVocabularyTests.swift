import Testing
@testable import Tokenizers

/// Small hand-made vocabularies: errors, special-token priority, byte fallback, space prefix.
@Suite struct SyntheticVocabularyTests {
    /// A SentencePiece vocabulary: <unk>, <s>, </s>, control "ab" and "bcd", user-defined "<u>",
    /// then normal pieces with scores.
    static func sentencePiece(addSpacePrefix: Bool = false, byteTokens: Bool = true) -> TokenizerVocabulary {
        var tokens = ["<unk>", "<s>", "</s>", "ab", "bcd", "<u>"]
        var types: [Int32] = [2, 3, 3, 3, 3, 4]
        var scores: [Float] = [0, 0, 0, 0, 0, 0]
        let pieces: [(String, Float)] = [("a", -1), ("b", -1), ("c", -1), ("d", -1), ("▁", -1), ("h", -1), ("i", -1),
                                         ("▁h", -3), ("hi", -2), ("▁hi", -4), ("cd", -5), ("dc", -2)]
        for (piece, score) in pieces {
            tokens.append(piece)
            types.append(1)
            scores.append(score)
        }
        if byteTokens {
            for byte in 0..<256 {
                tokens.append("<0x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2) + ">")
                types.append(6)
                scores.append(0)
            }
        }
        return TokenizerVocabulary(model: .llama, tokens: tokens, scores: scores, tokenTypes: types,
                                   bosID: 1, eosID: 2, unknownID: 0, addBOS: true, addSpacePrefix: addSpacePrefix)
    }

    /// A byte-level vocabulary: the 256 byte characters, then "he", "hel", "ll", "hell", "hello" and two controls.
    static func byteLevel(pre: String? = "gpt-2") -> TokenizerVocabulary {
        var tokens = (0..<256).map { String(GPT2Bytes.character(for: UInt8($0))) }
        tokens += ["he", "hel", "ll", "hell", "hello", "<|endoftext|>", "<|im_end|>"]
        var types = [Int32](repeating: 1, count: tokens.count)
        types[types.count - 2] = 3
        types[types.count - 1] = 3
        return TokenizerVocabulary(model: .gpt2, pre: pre, tokens: tokens, tokenTypes: types,
                                   merges: ["h e", "he l", "hel l", "hell o", "l l"],
                                   bosID: 256 + 5, eosID: 256 + 5)
    }

    @Test func specialTokensAreTakenLongestFirst() throws {
        let tokenizer = try Tokenizer(Self.sentencePiece())
        let a = try #require(tokenizer.tokenID("a"))
        // "bcd" (longer) claims its occurrence before "ab" is looked for: "a" + "bcd", as llama.cpp.
        #expect(tokenizer.encode("abcd", addSpecialTokens: false) == [a, 4])
        #expect(tokenizer.encode("abab", addSpecialTokens: false) == [3, 3])
        // Without parsing, control tokens are text (though, as in llama.cpp, merging may still
        // reach a control token's text: here "ab" scores best); user-defined ones are still matched.
        #expect(tokenizer.encode("abcd", addSpecialTokens: false, parseSpecialTokens: false) == [3, tokenizer.tokenID("cd")!])
        #expect(tokenizer.encode("a<u>", addSpecialTokens: false, parseSpecialTokens: false) == [a, 5])
        #expect(tokenizer.isSpecial(3) && tokenizer.isSpecial(5) && !tokenizer.isSpecial(a))
    }

    @Test func sentencePieceMergesByScoreWithByteFallback() throws {
        let tokenizer = try Tokenizer(Self.sentencePiece())
        let id = { (text: String) in tokenizer.tokenID(text)! }
        #expect(tokenizer.encode("hi") == [1, id("hi")])
        // "▁h" + "i" loses to "▁" + "hi" (score -2 beats -3), then "▁hi" (-4) forms from them.
        #expect(tokenizer.encode(" hi", addSpecialTokens: false) == [id("▁hi")])
        // "dc" (-2) is taken before "cd" (-5): c|dc|d.
        #expect(tokenizer.encode("cdcd", addSpecialTokens: false) == [id("c"), id("dc"), id("d")])
        // é is not a piece: its two UTF-8 bytes become byte tokens.
        #expect(tokenizer.encode("é", addSpecialTokens: false) == [id("<0xC3>"), id("<0xA9>")])
        #expect(tokenizer.decode(tokenizer.encode("hé hi")) == "<s>hé hi")
        #expect(tokenizer.decode(tokenizer.encode("hé hi"), skipSpecialTokens: true) == "hé hi")
        #expect(tokenizer.tokenBytes(id("<0xC3>")) == [0xC3])
        #expect(tokenizer.tokenBytes(id("▁hi")) == Array(" hi".utf8))
    }

    @Test func missingByteTokensFallBackToUnknown() throws {
        let tokenizer = try Tokenizer(Self.sentencePiece(byteTokens: false))
        #expect(tokenizer.encode("é", addSpecialTokens: false) == [0, 0])
    }

    @Test func spacePrefixIsAddedAndRemoved() throws {
        let tokenizer = try Tokenizer(Self.sentencePiece(addSpacePrefix: true))
        let id = { (text: String) in tokenizer.tokenID(text)! }
        #expect(tokenizer.encode("hi") == [1, id("▁hi")])
        // After a special token the text gets the prefix again.
        #expect(tokenizer.encode("hi<u>hi", addSpecialTokens: false) == [id("▁hi"), 5, id("▁hi")])
        #expect(tokenizer.decode(tokenizer.encode("hi hi"), skipSpecialTokens: true) == "hi hi")
        var decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: true)
        let streamed = tokenizer.encode("hi hi").map { decoder.push($0) }.joined() + decoder.finish()
        #expect(streamed == "hi hi")
    }

    @Test func byteLevelMergesByRank() throws {
        let tokenizer = try Tokenizer(Self.byteLevel())
        #expect(tokenizer.encode("hello") == [256 + 4])
        #expect(tokenizer.encode("hell") == [256 + 3])
        #expect(tokenizer.encode("hel") == [256 + 1])
        // Equal ranks: the leftmost pair first.
        #expect(tokenizer.encode("lll") == [256 + 2, 0x6C])
        // "he l" (rank 1) is taken before "l l" (rank 4), so "hell" + "o" needs no "ll".
        #expect(tokenizer.encode("hellll") == [256 + 3, 256 + 2])
        #expect(tokenizer.encode("hello<|im_end|>") == [256 + 4, 256 + 6])
        #expect(tokenizer.encode("hello<|im_end|>", parseSpecialTokens: false).count > 2)
        #expect(tokenizer.decode(tokenizer.encode("héllo wörld\n")) == "héllo wörld\n")
        #expect(tokenizer.endOfGenerationIDs == [256 + 5, 256 + 6])
        #expect(tokenizer.vocabularySize == 263)
        #expect(tokenizer.bosID == 261 && tokenizer.eosID == 261)
    }

    @Test func preTokenizerSplits() throws {
        func words(_ text: String, _ pre: String) -> [String] {
            let splitter = PreTokenizer(pre: pre)!
            var out: [String] = []
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBufferPointer { buffer in
                let b = UnsafeBufferPointer(buffer)
                splitter.split(b) { out.append(String(decoding: b[$0], as: UTF8.self)) }
            }
            return out
        }
        #expect(words("Hello world's 123  x\n\n y!!", "gpt-2") == ["Hello", " world", "'s", " 123", " ", " x", "\n\n", " y", "!!"])
        #expect(words("In 1969,  a  1", "smollm") == ["In", " ", "1", "9", "6", "9", ",", " ", " a", "  ", "1"])
        #expect(words("don't DON'T", "smollm") == ["don", "'t", " DON", "'", "T"])
        #expect(words("x   ", "gpt-2") == ["x", "   "])
        // Qwen2: every digit alone; a blank goes before a letter run but not before a digit
        #expect(words("Hello world's 123", "qwen2") == ["Hello", " world", "'s", " ", "1", "2", "3"])
        // Llama 3: digits in threes, contractions in any case, line breaks kept together
        #expect(words("12345 DON'T", "llama-bpe") == ["123", "45", " DON", "'T"])
        #expect(words("a\n\n  b", "llama-bpe") == ["a", "\n\n", " ", " b"])
        // DeepSeek Coder: line breaks, letter runs, punctuation runs, CJK runs, then single digits
        #expect(words("Hi 42!\n", "deepseek-coder") == ["Hi", " ", "4", "2", "!", "\n"])
        // Falcon: punctuation runs first, GPT-2 inside the rest, then ASCII digits in threes
        #expect(words("x=1234!", "falcon") == ["x", "=", "123", "4", "!"])
        // A byte-level vocabulary without `pre` gets llama.cpp's "default"
        #expect(PreTokenizer(pre: nil)?.stages == PreTokenizer(pre: "default")?.stages)
    }

    @Test func badVocabulariesAreRejected() {
        func error(_ vocabulary: TokenizerVocabulary) -> TokenizerError? {
            do {
                _ = try Tokenizer(vocabulary)
                return nil
            } catch {
                return error as? TokenizerError
            }
        }
        var v = Self.sentencePiece()
        v.tokens = []
        v.scores = nil
        v.tokenTypes = nil
        #expect(error(v) == .emptyVocabulary)
        v = Self.sentencePiece()
        v.scores = [1]
        #expect(error(v) == .lengthMismatch(field: "scores", expected: v.tokens.count, actual: 1))
        v = Self.sentencePiece()
        v.bosID = 100_000
        #expect(error(v) == .tokenIDOutOfRange(field: "bosID", id: 100_000, vocabularySize: v.tokens.count))
        v = Self.sentencePiece()
        v.bosID = nil
        #expect(error(v) == .missingSpecialToken(field: "bosID"))
        var b = Self.byteLevel()
        b.merges = nil
        #expect(error(b) == .missingMerges)
        b = Self.byteLevel(pre: "gpt-4o")
        #expect(error(b) == .unsupportedPreTokenizer("gpt-4o"))
        // llama.cpp knows GPT-2's pre-tokenizer as "gpt-2" only, and refuses "gpt2"
        b = Self.byteLevel(pre: "gpt2")
        #expect(error(b) == .unsupportedPreTokenizer("gpt2"))
        b = Self.byteLevel()
        b.merges = ["he"]
        #expect(error(b) == .malformedMerge(index: 0, merge: "he"))
        b = Self.byteLevel()
        b.merges = ["q z"]
        #expect(error(b) == .mergeTokenMissing(index: 0, merge: "q z"))
        #expect(TokenizerError.unsupportedPreTokenizer("gpt-4o").description.contains("qwen2"))
    }

    /// A byte without a token is left out, as llama.cpp does (SmolLM2 lacks some control bytes).
    @Test func bytesWithoutTokensAreDropped() throws {
        var vocabulary = Self.byteLevel()
        vocabulary.tokens[0x41] = "not a byte"
        let tokenizer = try Tokenizer(vocabulary)
        #expect(tokenizer.encode("A") == [])
        #expect(tokenizer.encode("BAB") == [0x42, 0x42])
    }

    @Test func invalidIDsDecodeToNothing() throws {
        let tokenizer = try Tokenizer(Self.byteLevel())
        #expect(tokenizer.decode([-1, 1_000_000, 256 + 4]) == "hello")
        #expect(tokenizer.tokenBytes(-5).isEmpty)
        #expect(!tokenizer.isSpecial(1_000_000))
        #expect(tokenizer.tokenID("nope") == nil)
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
