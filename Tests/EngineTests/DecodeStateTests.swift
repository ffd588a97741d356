import Foundation
import GGUF
import Model
import Testing
import Tokenizers
@testable import Engine

/// SmolLM2's tokenizer, when the model is fetched.
enum SmolLM2Tokenizer {
    static let shared: Tokenizer? = {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        return try? Tokenizer(gguf: GGUFFile(path: path, storage: .mapped))
    }()
}

/// The one set of stopping rules the scheduler and the generator share (`DecodeState`), on SmolLM2's tokenizer with
/// logits made to pick a chosen token.
@Suite(.enabled(if: SmolLM2Tokenizer.shared != nil, "needs models/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/setup.sh)"))
struct DecodeStateTests {
    var tokenizer: Tokenizer { SmolLM2Tokenizer.shared! }

    /// Logits whose argmax is `token`.
    func logits(picking token: Int) -> [Float] {
        var row = [Float](repeating: 0, count: tokenizer.vocabularySize)
        row[token] = 10
        return row
    }

    func word(_ text: String) -> Int { tokenizer.encode(text).first! }

    func run(_ state: inout DecodeState, _ tokens: [Int]) -> [DecodeState.Step] {
        var steps: [DecodeState.Step] = []
        for token in tokens {
            guard let step = logits(picking: token).withUnsafeBufferPointer({ state.consume($0) }) else { break }
            steps.append(step)
        }
        return steps
    }

    @Test func promptAndCompletionFillTheCapacityAndNoMore() {
        let request = GenerationRequest(promptTokens: [1, 2, 3], maxTokens: 100)
        var state = DecodeState(request: request, tokenizer: tokenizer, capacity: 7)
        let steps = run(&state, Array(repeating: word(" a"), count: 10))
        #expect(steps.count == 4, "3 prompt + 4 completion tokens = the capacity of 7")
        #expect(state.close().reason == .length)
        #expect(state.pendingToken == nil)
    }

    @Test func maxTokensEndsWithLength() {
        var state = DecodeState(request: GenerationRequest(promptTokens: [1], maxTokens: 2), tokenizer: tokenizer, capacity: 100)
        #expect(run(&state, Array(repeating: word(" a"), count: 5)).count == 2)
        #expect(state.close().reason == .length)
    }

    @Test func anEndOfGenerationTokenStopsUnlessIgnored() throws {
        let end = try #require(tokenizer.endOfGenerationIDs.first)
        var state = DecodeState(request: GenerationRequest(promptTokens: [1], maxTokens: 5), tokenizer: tokenizer, capacity: 100)
        let steps = run(&state, [word(" a"), end, word(" a")])
        #expect(steps.count == 2 && steps[1].text.isEmpty)
        #expect(state.close().reason == .stop)
        var ignoring = DecodeState(request: GenerationRequest(promptTokens: [1], maxTokens: 5, ignoreEOS: true),
                                   tokenizer: tokenizer, capacity: 100)
        #expect(run(&ignoring, [word(" a"), end, word(" a")]).count == 3)
    }

    @Test func aStopSequenceEndsWithStopAndHidesItself() {
        var state = DecodeState(request: GenerationRequest(promptTokens: [1], maxTokens: 10, stop: [" b"]),
                                tokenizer: tokenizer, capacity: 100)
        let steps = run(&state, [word(" a"), word(" b"), word(" a")])
        #expect(steps.count == 2)
        let (rest, reason) = state.close()
        #expect(reason == .stop && (steps.map(\.text).joined() + rest) == " a")
    }

    @Test func aFailedOrCancelledSequenceSaysSo() {
        var failed = DecodeState(request: GenerationRequest(promptTokens: [1], maxTokens: 10), tokenizer: tokenizer, capacity: 100)
        _ = run(&failed, [word(" a")])
        failed.end(.error)
        #expect(failed.pendingToken == nil && failed.close().reason == .error)
        var cancelled = DecodeState(request: GenerationRequest(promptTokens: [1], maxTokens: 10), tokenizer: tokenizer, capacity: 100)
        cancelled.end(.cancelled)
        #expect(run(&cancelled, [word(" a")]).isEmpty && cancelled.close().reason == .cancelled)
    }

    @Test func zeroMaxTokensEndsBeforeAnyToken() {
        var state = DecodeState(request: GenerationRequest(promptTokens: [1], maxTokens: 0), tokenizer: tokenizer, capacity: 100)
        #expect(run(&state, [word(" a")]).isEmpty && state.close().reason == .length)
    }
}
