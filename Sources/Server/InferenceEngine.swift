import Engine
import Model
import Tokenizers

/// The loaded model, its continuous-batching scheduler and its adapters: what the routes tokenize, generate and
/// score with.
final class InferenceEngine: Sendable {
    let served: ServedModel
    let scheduler: Scheduler
    let adapters: AdapterCatalog

    init(served: ServedModel, scheduler: Scheduler, adapters: AdapterCatalog) {
        self.served = served
        self.scheduler = scheduler
        self.adapters = adapters
    }

    var tokenizer: Tokenizer { served.tokenizer }
    var contextLimit: Int { scheduler.contextLimit }
    var vocabularySize: Int { served.model.config.vocabularySize }

    /// Queues a generation; the scheduler's refusals become the API's errors (429 for a full queue).
    func submit(_ request: GenerationRequest, promptParam: String) throws -> AsyncStream<GenerationEvent> {
        do {
            return try scheduler.submit(request)
        } catch let error as SchedulerError {
            switch error {
            case .queueFull(let limit):
                throw APIError.queueFull(limit: limit)
            case .promptTooLong(let tokens, let limit):
                throw APIError.contextLengthExceeded(param: promptParam, promptTokens: tokens, maxTokens: 0, limit: limit)
            case .emptyPrompt:
                throw APIError.invalidValue(promptParam, "Invalid '\(promptParam)': it must contain at least one token.")
            case .shutDown:
                throw APIError.shuttingDown
            }
        } catch ModelError.invalidToken(let token) {
            throw APIError.invalidValue(promptParam, "Invalid '\(promptParam)': token id \(token) is not in the vocabulary.")
        }
    }

    /// log p(token | the tokens before it) for every prompt token after the first, with `topCount` alternatives each:
    /// what `echo` with `logprobs` reports for the prompt.
    func scorePrompt(_ tokens: [Int], topCount: Int, adapters: [AdapterTerm]) async throws -> [TokenLogprobs] {
        guard tokens.count > 1 else { return [] }
        let model = served.model
        return try await runBlocking {
            try Evaluation.teacherForcedLogprobs(model: model, tokens: tokens, scoreFrom: 1, topCount: topCount, adapters: adapters)
        }
    }

    /// The text of one token, for logprobs (a token that ends inside a character shows U+FFFD).
    func tokenText(_ token: Int) -> String {
        String(decoding: tokenizer.tokenBytes(token), as: UTF8.self)
    }
}
