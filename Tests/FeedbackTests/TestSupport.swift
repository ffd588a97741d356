import Foundation
@testable import Feedback

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("feedback-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

enum Fixtures {
    static let objectives = ["concise", "detailed"]

    static func completion(id: String, prompt: String = "Tell me about owls.", text: String) -> CompletionRecord {
        CompletionRecord(
            id: id, created: Date(timeIntervalSince1970: 1_790_000_000.25), model: "smollm2-135m-instruct",
            prompt: prompt, text: text, finishReason: "stop", promptTokens: 7, completionTokens: 12,
            tradeoff: ["concise": 0.7, "detailed": 0.3],
            adapters: [AdapterUse(name: "raco-w0.75", version: 2, scale: 0.8), AdapterUse(name: "raco-w0.50", version: 1, scale: 0.2)],
            sampling: .object(["temperature": .double(0.8), "top_p": .double(0.95), "seed": .unsignedInteger(UInt64.max),
                               "max_tokens": .integer(64)]),
            endpoint: .chat)
    }

    /// Two completions of one prompt, recorded, for id-based feedback.
    static func storeWithTwoCompletions() async throws -> FeedbackStore {
        let store = try FeedbackStore.temporary()
        try await store.recordCompletions([
            completion(id: "cmpl-a", text: "Owls hunt at night."),
            completion(id: "cmpl-b", text: "Owls are nocturnal birds of prey with silent flight and keen hearing."),
        ])
        return store
    }

    static func addTextPair(_ store: FeedbackStore, _ index: Int) async throws -> PreferencePair {
        try await store.addFeedback(prompt: "prompt \(index)", chosen: "short \(index)", rejected: "long answer \(index)",
                                    labels: ["concise": 1, "detailed": -1], objectives: objectives)
    }
}
