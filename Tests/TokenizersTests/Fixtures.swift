import Foundation
import Testing
@testable import Tokenizers

/// Test data: the models' tokenizer metadata dumped to JSON by Tests/Fixtures/gen_tokenizer_vocab.py
/// (run by Tests/Fixtures/make_fixtures.py), and the committed conformance cases of
/// Tests/Fixtures/tokenizer_cases/ (expected ids from llama.cpp).
enum Fixtures {
    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixturesDirectory = repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// A model's tokenizer and the raw metadata it was made from.
    struct Model: @unchecked Sendable {
        let name: String
        let vocabulary: TokenizerVocabulary
        let tokenizer: Tokenizer
        let json: [String: Any]
    }

    static func loadJSON(_ url: URL) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw Missing(description: "\(url.path) is missing: run `python3 Tests/Fixtures/make_fixtures.py` first")
        }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Missing(description: "\(url.path) is not a JSON object")
        }
        return object
    }

    static func vocabulary(from json: [String: Any]) throws -> TokenizerVocabulary {
        guard let modelName = json["model"] as? String, let model = TokenizerVocabulary.Model(rawValue: modelName),
              let tokens = json["tokens"] as? [String] else {
            throw Missing(description: "tokenizer fixture lacks model or tokens")
        }
        func int(_ key: String) -> Int? { (json[key] as? NSNumber)?.intValue }
        func bool(_ key: String) -> Bool? { (json[key] as? NSNumber)?.boolValue }
        return TokenizerVocabulary(
            model: model,
            pre: json["pre"] as? String,
            tokens: tokens,
            scores: (json["scores"] as? [NSNumber])?.map { $0.floatValue },
            tokenTypes: (json["token_types"] as? [NSNumber])?.map { $0.int32Value },
            merges: json["merges"] as? [String],
            bosID: int("bos_id"),
            eosID: int("eos_id"),
            unknownID: int("unknown_id"),
            paddingID: int("padding_id"),
            addBOS: bool("add_bos") ?? model.defaultAddBOS,
            addEOS: bool("add_eos") ?? model.defaultAddEOS,
            addSpacePrefix: bool("add_space_prefix") ?? model.defaultAddSpacePrefix,
            chatTemplate: json["chat_template"] as? String
        )
    }

    private static func load(_ name: String) -> Result<Model, any Error> {
        Result {
            let json = try loadJSON(fixturesDirectory.appendingPathComponent("generated/tokenizer_\(name).json"))
            let vocabulary = try vocabulary(from: json)
            return Model(name: name, vocabulary: vocabulary, tokenizer: try Tokenizer(vocabulary), json: json)
        }
    }

    private static let smollm2Result = load("smollm2")
    private static let gemma3Result = load("gemma3")

    static func smollm2() throws -> Model { try smollm2Result.get() }
    static func gemma3() throws -> Model { try gemma3Result.get() }
    static func model(_ name: String) throws -> Model { name == "smollm2" ? try smollm2() : try gemma3() }

    /// One tokenization case with llama.cpp's answer.
    struct Case: Sendable {
        let text: String
        let addSpecial: Bool
        let parseSpecial: Bool
        let ids: [Int]
    }

    struct Cases: Sendable {
        let cases: [Case]
        let referenceCases: [(prompt: String, tokens: [Int])]
        let referenceSource: String
        /// llama.cpp's piece of every token that appears.
        let pieces: [Int: [UInt8]]
        /// Whole files (Debian's license texts): path, size in bytes, ids.
        let fileCases: [(path: String, bytes: Int, ids: [Int])]
        /// The ids llama.cpp ends a generation on.
        let endOfGenerationIDs: Set<Int>
    }

    static func cases(_ name: String) throws -> Cases {
        let json = try loadJSON(fixturesDirectory.appendingPathComponent("tokenizer_cases/\(name).json"))
        let cases = (json["cases"] as? [[String: Any]] ?? []).map { c in
            Case(text: c["text"] as! String, addSpecial: c["add_special"] as! Bool,
                 parseSpecial: c["parse_special"] as! Bool, ids: (c["ids"] as! [NSNumber]).map(\.intValue))
        }
        let reference = (json["reference_cases"] as? [[String: Any]] ?? []).map { c in
            (prompt: c["prompt"] as! String, tokens: (c["prompt_tokens"] as! [NSNumber]).map(\.intValue))
        }
        var pieces: [Int: [UInt8]] = [:]
        for (key, value) in json["pieces_hex"] as? [String: String] ?? [:] {
            pieces[Int(key)!] = hexBytes(value)
        }
        let endOfGeneration = Set((json["end_of_generation_ids"] as? [NSNumber] ?? []).map(\.intValue))
        let files = (json["file_cases"] as? [[String: Any]] ?? []).map { c in
            (path: c["path"] as! String, bytes: (c["bytes"] as! NSNumber).intValue,
             ids: (c["ids"] as! [NSNumber]).map(\.intValue))
        }
        return Cases(cases: cases, referenceCases: reference,
                     referenceSource: json["reference_source"] as? String ?? "", pieces: pieces,
                     fileCases: files, endOfGenerationIDs: endOfGeneration)
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { i in
            UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16)!
        }
    }

    /// A llama.cpp reference file of Tests/Fixtures/reference (greedy_*.json).
    static func reference(_ file: String) -> URL {
        fixturesDirectory.appendingPathComponent("reference/\(file)")
    }
}
