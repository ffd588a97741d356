import Foundation
import GGUF
import Model
import Testing
import Tokenizers

/// Qwen2.5-Coder-0.5B-Instruct's own vocabulary (pre "qwen2", 151,936 tokens, 151,387 merges) through the
/// model loader: chat prompts tokenized as llama-server tokenizes them
/// (Tests/Fixtures/tokenizer_cases/qwen2.5-coder.json, make_qwen2_tokenizer_cases.py), and the time to build it.
@Suite(.serialized) struct Qwen2TokenizerTests {
    static let casesURL = Paths.root.appendingPathComponent("Tests/Fixtures/tokenizer_cases/qwen2.5-coder.json")
    static let modelPath = Paths.model("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    static let needsModel = Testing.ConditionTrait.enabled(
        if: FileManager.default.fileExists(atPath: modelPath),
        "needs models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf (scripts/setup.sh)")

    static func vocabulary() throws -> TokenizerVocabulary {
        try TokenizerVocabulary(gguf: GGUFFile(path: modelPath, storage: .mapped))
    }

    @Test(needsModel)
    func chatPromptsMatchLlamaServer() throws {
        let tokenizer = try Tokenizer(Self.vocabulary())
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.casesURL)) as? [String: Any] ?? [:]
        let cases = json["cases"] as? [[String: Any]] ?? []
        #expect(cases.count >= 10)
        for entry in cases {
            let text = try #require(entry["text"] as? String)
            let ids = try #require(entry["ids"] as? [NSNumber]).map(\.intValue)
            #expect(tokenizer.encode(text) == ids, "\(text.debugDescription)")
            #expect(tokenizer.decode(ids) == text)
        }
        #expect(!tokenizer.addBOS)
        #expect(tokenizer.endOfGenerationIDs.isSuperset(of: [151643, 151645]))  // <|endoftext|>, <|im_end|>
    }

    /// Building the tokenizer (hash table of 151,936 tokens, 151,387 merges, special-token trie) must take a
    /// fraction of a second. The Tokenizers target is compiled with -O in debug builds too, so this is its
    /// release speed; reading the metadata out of the file is timed apart.
    @Test(needsModel)
    func buildsInAFractionOfASecond() throws {
        let clock = ContinuousClock()
        let file = try GGUFFile(path: Self.modelPath, storage: .mapped)
        var vocabulary: TokenizerVocabulary?
        let extraction = clock.measure { vocabulary = try? TokenizerVocabulary(gguf: file) }
        let loaded = try #require(vocabulary)
        #expect(loaded.tokens.count == 151_936)
        #expect(loaded.merges?.count == 151_387)
        var best = Duration.seconds(1000)
        for _ in 0..<3 {
            var tokenizer: Tokenizer?
            let elapsed = clock.measure { tokenizer = try? Tokenizer(loaded) }
            #expect(tokenizer != nil)
            best = min(best, elapsed)
        }
        print("qwen2.5-coder: vocabulary read in \(extraction), tokenizer built in \(best) (best of 3)")
        #expect(best < .milliseconds(500))
    }
}
