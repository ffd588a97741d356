import Foundation
import Testing
@testable import Tokenizers

/// Tokenizations that must equal llama.cpp's: the reference prompts of Tests/Fixtures/reference and the
/// conformance cases of Tests/Fixtures/tokenizer_cases (made by make_tokenizer_cases.py).
///
/// Known divergences from llama.cpp: none at present. (docs/TOKENIZERS.md lists the places where
/// one could appear: Unicode-version differences in letter/number classes, and the order of
/// equal-length special tokens, which llama.cpp leaves to an unstable sort.)
@Suite struct LlamaCppConformanceTests {
    /// Cases allowed to differ, by model and text. Keep in step with docs/TOKENIZERS.md.
    static let knownDivergences: [String: Set<String>] = [:]

    static let models = ["smollm2", "gemma3"]

    @Test(arguments: models)
    func referencePrompts(_ name: String) throws {
        let model = try Fixtures.model(name)
        let cases = try Fixtures.cases(name)
        #expect(cases.referenceCases.count >= 8)
        for reference in cases.referenceCases {
            let ids = model.tokenizer.encode(reference.prompt)
            #expect(ids == reference.tokens, "\(name): \(reference.prompt.debugDescription)")
        }
    }

    /// The tokenizer cases' copy of the reference prompts equals the llama.cpp reference it was taken from.
    @Test(arguments: models)
    func referenceCopyIsCurrent(_ name: String) throws {
        let cases = try Fixtures.cases(name)
        let file = (cases.referenceSource as NSString).lastPathComponent
        let json = try Fixtures.loadJSON(Fixtures.reference(file))
        let reference = (json["cases"] as! [[String: Any]]).map {
            ($0["prompt"] as! String, ($0["prompt_tokens"] as! [NSNumber]).map(\.intValue))
        }
        #expect(!reference.isEmpty)
        #expect(reference.map(\.0) == cases.referenceCases.map(\.prompt))
        #expect(reference.map(\.1) == cases.referenceCases.map(\.tokens))
    }

    @Test(arguments: models)
    func conformanceCases(_ name: String) throws {
        let model = try Fixtures.model(name)
        let cases = try Fixtures.cases(name)
        #expect(cases.cases.count > 100)
        let allowed = Self.knownDivergences[name] ?? []
        for c in cases.cases where !allowed.contains(c.text) {
            let ids = model.tokenizer.encode(c.text, addSpecialTokens: c.addSpecial, parseSpecialTokens: c.parseSpecial)
            #expect(ids == c.ids, "\(name) add_special=\(c.addSpecial) parse_special=\(c.parseSpecial): \(c.text.debugDescription)")
        }
    }

    /// Whether this machine has the license texts the file cases were made from, of the recorded sizes
    /// (Debian's /usr/share/common-licenses, from the base-files package). Unreadable case files count as
    /// present, so that the test runs and reports them.
    static let licenseFilesArePresent = models.allSatisfy { name in
        guard let cases = try? Fixtures.cases(name) else { return true }
        return cases.fileCases.allSatisfy { FileManager.default.contents(atPath: $0.path)?.count == $0.bytes }
    }

    /// Whole license texts (the perplexity reference tokenizes MPL-2.0).
    @Test(.enabled(if: licenseFilesArePresent, "needs Debian's /usr/share/common-licenses/{MPL-2.0,Apache-2.0} as recorded"),
          arguments: models)
    func licenseFiles(_ name: String) throws {
        let model = try Fixtures.model(name)
        let cases = try Fixtures.cases(name)
        #expect(!cases.fileCases.isEmpty)
        for file in cases.fileCases {
            let data = try #require(FileManager.default.contents(atPath: file.path), "\(file.path)")
            #expect(data.count == file.bytes, "\(file.path)")
            let text = String(decoding: data, as: UTF8.self)
            #expect(model.tokenizer.encode(text) == file.ids, "\(name): \(file.path)")
            #expect(Array(model.tokenizer.decode(file.ids, skipSpecialTokens: true).utf8) == Array(data), "\(name): \(file.path)")
        }
    }

    @Test(arguments: models)
    func tokenBytesMatchLlamaCppPieces(_ name: String) throws {
        let model = try Fixtures.model(name)
        let cases = try Fixtures.cases(name)
        #expect(!cases.pieces.isEmpty)
        for (id, piece) in cases.pieces.sorted(by: { $0.key < $1.key }) {
            #expect(model.tokenizer.tokenBytes(id) == piece, "\(name) token \(id)")
        }
    }

    /// SmolLM2: <|endoftext|>, <|im_end|>, <reponame> (a FIM token); Gemma 3: <eos>, <end_of_turn>, </s>.
    @Test(arguments: models)
    func endOfGenerationMatchesLlamaCpp(_ name: String) throws {
        let model = try Fixtures.model(name)
        let expected = try Fixtures.cases(name).endOfGenerationIDs
        #expect(!expected.isEmpty)
        #expect(model.tokenizer.endOfGenerationIDs == expected)
        #expect(expected.allSatisfy { model.tokenizer.isSpecial($0) })
    }

    /// Texts that do not survive decode(encode(x)), as in llama.cpp:
    /// - SmolLM2 has no tokens for the bytes 0x04, 0x06, 0x13, 0x14, 0x16, 0x1D and 0xF1, 0xF2
    ///   (nor for 0xC0, 0xC1, 0xF5–0xFF, which UTF-8 never uses), so they are dropped: the
    ///   control characters vanish and a character of the planes U+40000–U+BFFFF decodes as U+FFFD;
    /// - a SentencePiece vocabulary (Gemma) writes spaces as "▁" (U+2581), so a "▁" in the text
    ///   decodes as a space.
    static func roundTripException(_ tokenizer: Tokenizer, _ text: String) -> Bool {
        if let byteLevel = tokenizer.byteLevel {
            return text.utf8.contains { byteLevel.byteTokens[Int($0)] < 0 }
        }
        return text.unicodeScalars.contains("\u{2581}")
    }

    /// decode(encode(x)) == x, byte for byte, for every conformance text but the exceptions above.
    @Test(arguments: models)
    func roundTrip(_ name: String) throws {
        let tokenizer = try Fixtures.model(name).tokenizer
        let cases = try Fixtures.cases(name)
        let exceptions = Set(cases.cases.map(\.text).filter { Self.roundTripException(tokenizer, $0) })
        #expect(!exceptions.isEmpty, "the exceptions are not exercised")
        for c in cases.cases where !exceptions.contains(c.text) {
            let plain = tokenizer.encode(c.text, addSpecialTokens: false, parseSpecialTokens: c.parseSpecial)
            #expect(Array(tokenizer.decode(plain).utf8) == Array(c.text.utf8), "\(name): \(c.text.debugDescription)")
            // With BOS (Gemma) and the specials skipped, only text that contains no special token survives whole.
            let withSpecials = tokenizer.encode(c.text, addSpecialTokens: true, parseSpecialTokens: c.parseSpecial)
            let body = tokenizer.addBOS ? withSpecials.dropFirst() : withSpecials[...]
            if !body.contains(where: { tokenizer.isSkippable($0) }) {
                #expect(Array(tokenizer.decode(withSpecials, skipSpecialTokens: true).utf8) == Array(c.text.utf8),
                        "\(name): \(c.text.debugDescription)")
            }
        }
    }
}
