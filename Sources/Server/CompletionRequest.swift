/// The body of `POST /v1/completions`: OpenAI's legacy completions plus llama.cpp's extensions
/// (`ignore_eos`, `top_k`, `min_p`, `repeat_penalty`). Fields Raconteur adds later (`tradeoff`, `adapters`)
/// sit beside these, as llama.cpp's do.
public struct CompletionRequest: Decodable, Sendable, SamplingFields, IntegerFields {
    public var model: String?
    public var prompt: PromptInput
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var n: Int?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    /// Alternatives to report per token, 0...5 (0 reports only the chosen token's logprob).
    public var logprobs: Int?
    public var echo: Bool?
    public var stop: StopSequences?
    public var seed: Int?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var user: String?
    public var ignoreEOS: Bool?
    public var topK: Int?
    public var minP: Double?
    public var repeatPenalty: Double?
    // Accepted only at their no-op values, so a client that relies on them hears so.
    public var bestOf: Int?
    public var suffix: String?
    public var logitBias: [String: Double]?

    private enum CodingKeys: String, CodingKey {
        case model, prompt, temperature, n, stream, logprobs, echo, stop, seed, user, suffix
        case maxTokens = "max_tokens"
        case topP = "top_p"
        case streamOptions = "stream_options"
        case presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
        case ignoreEOS = "ignore_eos"
        case topK = "top_k"
        case minP = "min_p"
        case repeatPenalty = "repeat_penalty"
        case bestOf = "best_of"
        case logitBias = "logit_bias"
    }

    static let integerFields = ["max_tokens", "n", "logprobs", "seed", "top_k", "best_of"]

    /// OpenAI's default when `max_tokens` is left out.
    static let defaultMaxTokens = 16
    static let maxLogprobs = 5

    func validateUnsupported() throws {
        if let bestOf, bestOf != 1, bestOf != (n ?? 1) {
            throw APIError.invalidValue("best_of", "'best_of' is not supported; use 'n'.", code: "unsupported_parameter")
        }
        if let suffix, !suffix.isEmpty {
            throw APIError.invalidValue("suffix", "'suffix' is not supported.", code: "unsupported_parameter")
        }
        if let logitBias, !logitBias.isEmpty {
            throw APIError.invalidValue("logit_bias", "'logit_bias' is not supported.", code: "unsupported_parameter")
        }
    }
}
