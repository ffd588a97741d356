import Foundation
@testable import Server
import Testing

/// The request bodies of Fuzz/Corpus/requests (the seeds of the request fuzz target, docs/FUZZING.md) in the normal
/// test run: each must stay standard JSON that decodes as the request type its name gives, so that the fuzzer's
/// mutations start from bodies that reach validation rather than from ones the JSON check already refuses.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus/requests")

    static func seeds(_ prefix: String) throws -> [(name: String, data: Data)] {
        try FileManager.default.contentsOfDirectory(atPath: corpus.path)
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }
            .sorted()
            .map { ($0, try Data(contentsOf: corpus.appendingPathComponent($0))) }
    }

    @Test func completionSeedsDecodeAndValidate() throws {
        let seeds = try Self.seeds("completion-")
        #expect(seeds.count >= 4)
        for seed in seeds {
            try StrictJSON.validate(Array(seed.data))
            let request = try JSONDecoder().decode(CompletionRequest.self, from: seed.data)
            #expect(throws: Never.self, "\(seed.name)") {
                _ = try request.validate()
                _ = try request.options.grammarConstraint()
            }
        }
    }

    @Test func chatSeedsDecodeAndValidate() throws {
        let seeds = try Self.seeds("chat-")
        #expect(seeds.count >= 3)
        for seed in seeds {
            try StrictJSON.validate(Array(seed.data))
            let request = try JSONDecoder().decode(ChatCompletionRequest.self, from: seed.data)
            #expect(throws: Never.self, "\(seed.name)") {
                _ = try request.chatMessages()
                _ = try request.options.validate()
                _ = try request.validateLogprobs()
                _ = try request.options.grammarConstraint()
            }
        }
    }

    @Test func feedbackAndRealignSeedsAreJSONObjects() throws {
        let seeds = try Self.seeds("feedback-") + Self.seeds("realign")
        #expect(seeds.count >= 3)
        for seed in seeds {
            try StrictJSON.validate(Array(seed.data))
            #expect(try JSONSerialization.jsonObject(with: seed.data) is [String: Any], "\(seed.name)")
        }
        let realign = try JSONDecoder().decode(RealignRequest.self, from: try #require(Self.seeds("realign").first).data)
        var settings = RealignSettings()
        try realign.overrides.apply(to: &settings)
        #expect(settings.method == "cagrad" && settings.training.rank == 4)
    }
}
