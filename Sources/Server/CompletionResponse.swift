import Engine

/// A choice of a `/v1/completions` response or chunk. `completion_id` is Raconteur's addition: the id feedback
/// refers to this completion by.
struct CompletionChoice: Encodable, Sendable {
    var index: Int
    var text: String
    @EncodedAsNull var logprobs: CompletionLogprobs?
    @EncodedAsNull var finishReason: String?
    var completionID: String

    private enum CodingKeys: String, CodingKey {
        case index, text, logprobs, finishReason = "finish_reason", completionID = "completion_id"
    }
}

/// The legacy completions logprobs: parallel arrays over the tokens of the choice's text.
struct CompletionLogprobs: Encodable, Sendable {
    var tokens: [String] = []
    /// nil for the first prompt token, which has no context to be scored in.
    var tokenLogprobs: [Float?] = []
    var topLogprobs: [[String: Float]?] = []
    /// Offset of each token in the choice's text, in characters (Unicode scalars).
    var textOffset: [Int] = []

    private enum CodingKeys: String, CodingKey {
        case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
    }

    /// Adds one token; `offset` is where its text starts and is advanced past it.
    mutating func append(token: Int, logprobs: TokenLogprobs?, offset: inout Int, engine: InferenceEngine) {
        let text = engine.tokenText(token)
        tokens.append(text)
        tokenLogprobs.append(logprobs.map { finiteLogprob($0.logprob) })
        topLogprobs.append(logprobs.map { report in
            var top: [String: Float] = [:]
            // Two tokens can share a text; keep the likelier, as a JSON object has one entry per key.
            for alternative in report.top {
                let key = engine.tokenText(alternative.token)
                top[key] = max(top[key] ?? -.infinity, finiteLogprob(alternative.logprob))
            }
            return top
        })
        textOffset.append(offset)
        offset += text.unicodeScalars.count
    }
}

/// JSON has no -infinity: a token the model rules out entirely reports a very negative finite logprob.
func finiteLogprob(_ value: Float) -> Float {
    value.isFinite ? value : -9999
}

extension FinishReason {
    /// OpenAI's `finish_reason`. A generation cancelled by the engine itself means the server is shutting down.
    func apiValue() throws -> String {
        switch self {
        case .stop: return "stop"
        case .length: return "length"
        case .cancelled: throw APIError.shuttingDown
        case .error: throw APIError.internalError("The model failed while computing this request; its generation was stopped.")
        case .grammarError:
            // The request's grammar is at fault (too ambiguous to match within GrammarLimits), not the server.
            throw APIError(status: .badRequest, message: "The output's grammar allowed no further token, or needed more matching work than this server allows per step (too ambiguous); its generation was stopped.",
                           type: "invalid_request_error", code: "grammar_too_complex")
        }
    }
}
