import Foundation
import GGUF
import Model
import Testing
import Tokenizers

/// llama.cpp's own tokenizer conformance set: the vocabulary-only files `ggml-vocab-<family>.gguf` with
/// their `.inp` / `.out` cases, fetched into Tests/Fixtures/llamacpp/vocab by
/// Tests/Fixtures/fetch_llamacpp_references.py. Each vocabulary is loaded as a model file is
/// (`Tokenizer(gguf:)`), and every case must give llama.cpp's ids (docs/TOKENIZERS.md, "Conformance").
@Suite struct VocabularyConformanceTests {
    static let directory = Paths.root.appendingPathComponent("Tests/Fixtures/llamacpp/vocab")

    /// The families whose cases must all pass.
    static let families = [
        "qwen2", "llama-bpe", "phi-3", "llama-spm", "deepseek-llm", "deepseek-coder", "falcon", "gpt-2",
        "starcoder", "refact", "command-r", "mpt", "qwen35",
    ]

    /// Vocabularies of the set that Raconteur refuses, with the reason (keep in step with docs/TOKENIZERS.md).
    static let refused: [String: String] = [
        "bert-bge": "bert",  // WordPiece: no BPE merges or scores, a different algorithm
        "nomic-bert-moe": "t5",  // Unigram (XLM-RoBERTa's SentencePiece model with a normalizer)
        "gemma-4": "gemma4",  // BPE over raw UTF-8 with "▁" for blanks, not byte-level: a third BPE variant
    ]

    /// Vocabularies of the set without cases (llama.cpp's own test list leaves them out); they must load.
    static let withoutCases = ["aquila", "baichuan", "gpt-neox"]

    /// Cases allowed to differ from llama.cpp, by family and input text. Keep in step with docs/TOKENIZERS.md.
    static let knownDivergences: [String: Set<String>] = [:]

    static func file(_ name: String, _ suffix: String = "") -> String {
        directory.appendingPathComponent("ggml-vocab-\(name).gguf\(suffix)").path
    }

    static let fixturesPresent = (families.flatMap { [file($0), file($0, ".inp"), file($0, ".out")] }
        + refused.keys.map { file($0) } + withoutCases.map { file($0) })
        .allSatisfy { FileManager.default.fileExists(atPath: $0) }
    static let needsFixtures = Testing.ConditionTrait.enabled(
        if: fixturesPresent, "needs llama.cpp's vocabulary files (python3 Tests/Fixtures/fetch_llamacpp_references.py)")

    /// The cases as llama.cpp's test-tokenizer-0 reads them: inputs separated by a line
    /// `__ggml_vocab_test__` (each input followed by one), one line of ids per input.
    static func cases(_ family: String) throws -> [(text: String, ids: [Int])] {
        let input = try Data(contentsOf: URL(fileURLWithPath: file(family, ".inp")))
        let output = try String(contentsOfFile: file(family, ".out"), encoding: .utf8)
        let texts = splitBytes(Array(input), on: Array("\n__ggml_vocab_test__\n".utf8)).map { String(decoding: $0, as: UTF8.self) }
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        #expect(texts.count == lines.count, "\(family): \(texts.count) inputs, \(lines.count) outputs")
        return zip(texts, lines).map { text, line in
            (text, line.split(separator: " ").compactMap { Int($0) })
        }
    }

    /// The parts of `bytes` between separators, the last one kept only if not empty (as llama.cpp
    /// reads them). Bytes, not Characters: "\r" before a separator's "\n" would make one Character.
    static func splitBytes(_ bytes: [UInt8], on separator: [UInt8]) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var start = 0, position = 0
        while position + separator.count <= bytes.count {
            if bytes[position..<(position + separator.count)].elementsEqual(separator) {
                parts.append(Array(bytes[start..<position]))
                position += separator.count
                start = position
            } else {
                position += 1
            }
        }
        if start < bytes.count { parts.append(Array(bytes[start...])) }
        return parts
    }

    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(gguf: GGUFFile(path: file(name), storage: .mapped))
    }

    /// As test-tokenizer-0 calls it: no BOS/EOS, special tokens not parsed (user-defined ones still are).
    @Test(needsFixtures, arguments: families)
    func everyCaseMatchesLlamaCpp(_ family: String) throws {
        let tokenizer = try Self.tokenizer(family)
        let cases = try Self.cases(family)
        #expect(cases.count >= 45)
        let allowed = Self.knownDivergences[family] ?? []
        var passed = 0
        for (text, ids) in cases where !allowed.contains(text) {
            let encoded = tokenizer.encode(text, addSpecialTokens: false, parseSpecialTokens: false)
            #expect(encoded == ids, "\(family): \(text.debugDescription)")
            if encoded == ids { passed += 1 }
        }
        print("\(family): \(passed) of \(cases.count) cases equal llama.cpp's")
    }

    /// Tests/Fixtures/tokenizer_cases/llamacpp_vocabularies.json (make_vocab_family_cases.py): random strings
    /// over the pre-tokenizers' corners and over every plane, special-token strings parsed and not, and
    /// llama.cpp's standard texts for the three vocabularies it has no cases for, with llama.cpp's ids.
    static let moreCases = Result { () throws -> (families: [String], cases: [(text: String, special: Bool, ids: [[Int]])]) in
        let url = Paths.root.appendingPathComponent("Tests/Fixtures/tokenizer_cases/llamacpp_vocabularies.json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        let families = json["families"] as? [String] ?? []
        let cases = (json["cases"] as? [[String: Any]] ?? []).map { entry in
            (text: entry["text"] as? String ?? "", special: entry["special"] as? Bool ?? false,
             ids: (entry["ids"] as? [[NSNumber]] ?? []).map { $0.map(\.intValue) })
        }
        return (families, cases)
    }

    @Test(needsFixtures, arguments: families + withoutCases)
    func moreCasesMatchLlamaCpp(_ family: String) throws {
        let tokenizer = try Self.tokenizer(family)
        let (families, cases) = try Self.moreCases.get()
        let column = try #require(families.firstIndex(of: family), "\(family) is not in the fixture")
        #expect(cases.count > 150)
        for c in cases {
            let ids = try #require(c.ids.count == families.count ? c.ids[column] : nil, "malformed case \(c.text.debugDescription)")
            let encoded = tokenizer.encode(c.text, addSpecialTokens: c.special, parseSpecialTokens: c.special)
            #expect(encoded == ids, "\(family) special=\(c.special): \(c.text.debugDescription)")
        }
    }

    /// WordPiece, Unigram and Gemma 4's raw-UTF-8 BPE are refused with an error naming the tokenizer.
    @Test(needsFixtures, arguments: refused.keys.sorted())
    func otherAlgorithmsAreRefused(_ name: String) throws {
        let file = try GGUFFile(path: Self.file(name), storage: .mapped)
        do {
            _ = try Tokenizer(gguf: file)
            Issue.record("\(name) loaded")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("'\(Self.refused[name]!)'"), "\(name): \(message)")
            #expect(message.contains("not a supported tokenizer"), "\(name): \(message)")
        }
    }

    /// Aquila and GPT-NeoX have no `pre` (llama.cpp then uses its "default" expressions), Baichuan is SentencePiece.
    @Test(needsFixtures, arguments: withoutCases)
    func vocabulariesWithoutCasesLoad(_ name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        let text = "Hello world, 123 4567!"
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        #expect(!ids.isEmpty)
        #expect(tokenizer.decode(ids) == text)
    }

    /// A byte-level vocabulary whose `pre` Raconteur does not implement is refused, naming the `pre`.
    @Test(needsFixtures)
    func unknownPreTokenizerIsRefused() throws {
        let file = try GGUFFile(path: Self.file("qwen2"), storage: .mapped)
        var vocabulary = try TokenizerVocabulary(gguf: file)
        vocabulary.pre = "gpt-4o"
        #expect(throws: TokenizerError.unsupportedPreTokenizer("gpt-4o")) { try Tokenizer(vocabulary) }
        #expect(TokenizerError.unsupportedPreTokenizer("gpt-4o").description.contains("\"gpt-4o\""))
    }

    /// Llama 3's files carry no add_bos_token: llama.cpp adds BOS for its pre-tokenizer all the same.
    @Test(needsFixtures)
    func llama3AddsBOSByDefault() throws {
        let tokenizer = try Self.tokenizer("llama-bpe")
        #expect(tokenizer.addBOS)
        #expect(tokenizer.encode("Hi").first == 128000)
        #expect(try !Self.tokenizer("qwen2").addBOS)
    }
}
