import Testing
@testable import Tokenizers

@Suite struct StreamingDecoderTests {
    static let texts = [
        "emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 and 🤖!",
        "CJK 你好，世界！ 日本語のテキスト 한국어 텍스트 𠀋𡈽",
        "math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ∑∫√∞ and café",
        "<|im_start|>user\n🦜 squawk<|im_end|>\n<start_of_turn>model\n鸚鵡<end_of_turn>",
    ]

    /// Pushes every id; returns the chunks (the last one from finish()).
    static func stream(_ ids: [Int], _ tokenizer: Tokenizer, skipSpecialTokens: Bool = false) -> [String] {
        var decoder = StreamingDecoder(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens)
        var chunks = ids.map { decoder.push($0) }
        chunks.append(decoder.finish())
        return chunks
    }

    @Test(arguments: ["smollm2", "gemma3"])
    func splitCharactersAreHeldBack(_ name: String) throws {
        let tokenizer = try Fixtures.model(name).tokenizer
        var sawSplitCharacter = false
        for text in Self.texts {
            let ids = tokenizer.encode(text)
            for skip in [false, true] {
                let chunks = Self.stream(ids, tokenizer, skipSpecialTokens: skip)
                #expect(Array(chunks.joined().utf8) == Array(tokenizer.decode(ids, skipSpecialTokens: skip).utf8), "\(name): \(text)")
                #expect(!chunks.contains { $0.unicodeScalars.contains("\u{FFFD}") }, "\(name): \(text)")
            }
            let plain = tokenizer.encode(text, addSpecialTokens: false)
            #expect(Array(Self.stream(plain, tokenizer).joined().utf8) == Array(text.utf8), "\(name): \(text)")
            // Some token must end inside a character, or this test shows nothing.
            for id in ids where !tokenizer.tokenBytes(id).isEmpty {
                if String(validating: tokenizer.tokenBytes(id), as: UTF8.self) == nil { sawSplitCharacter = true }
            }
        }
        #expect(sawSplitCharacter, "\(name): no token split a character")
    }

    @Test func invalidBytesBecomeReplacementCharacters() throws {
        let tokenizer = try Fixtures.gemma3().tokenizer
        let f0 = try #require(tokenizer.tokenID("<0xF0>"))
        let x9f = try #require(tokenizer.tokenID("<0x9F>"))
        let a = try #require(tokenizer.tokenID("a"))
        for ids in [[f0, a], [f0, x9f, a], [x9f, a], [f0], [f0, x9f], [a, f0, f0, a]] {
            let chunks = Self.stream(ids, tokenizer)
            #expect(Array(chunks.joined().utf8) == Array(tokenizer.decode(ids).utf8), "\(ids)")
        }
        // An unfinished character is held until it can no longer complete.
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        #expect(decoder.push(f0) == "")
        #expect(decoder.push(x9f) == "")
        #expect(decoder.push(a) == "\u{FFFD}a")
        #expect(decoder.push(f0) == "")
        #expect(decoder.finish() == "\u{FFFD}")
        #expect(decoder.finish() == "")
    }

    @Test func completePrefixLength() {
        let cases: [([UInt8], Int)] = [
            ([], 0), ([0x61], 1), ([0x61, 0xE4], 1), ([0x61, 0xE4, 0xBD], 1), ([0xE4, 0xBD, 0xA0], 3),
            ([0xF0, 0x9F, 0x98], 0), ([0xF0, 0x9F, 0x98, 0x80], 4), ([0x80], 1), ([0xC0], 1),
            ([0xE0, 0x80], 2),  // overlong: can never complete
            ([0xED, 0xA0], 2),  // surrogate: can never complete
            ([0xF4, 0x90], 2),  // above U+10FFFF
            ([0xF5], 1), ([0x61, 0xC3], 1),
        ]
        for (bytes, expected) in cases {
            #expect(StreamingDecoder.completePrefixLength(bytes) == expected, "\(bytes)")
        }
    }
}
