/// The body of `POST /v1/completions`: OpenAI's legacy completions. The fields chat shares (sampling, stop,
/// streaming, llama.cpp's extensions) are in `options`, decoded from the same object.
public struct CompletionRequest: Decodable, Sendable, IntegerFields {
    public var prompt: PromptInput
    public var maxTokens: Int?
    /// Alternatives to report per token, 0...5 (0 reports only the chosen token's logprob).
    public var logprobs: Int?
    public var echo: Bool?
    // Accepted only at their no-op values, so a client that relies on them hears that they are not supported.
    public var bestOf: Int?
    public var suffix: String?
    public var options: GenerationOptions

    private enum CodingKeys: String, CodingKey {
        case prompt, logprobs, echo, suffix
        case maxTokens = "max_tokens"
        case bestOf = "best_of"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        prompt = try container.decode(PromptInput.self, forKey: .prompt)
        maxTokens = try container.decodeIfPresent(Int.self, forKey: .maxTokens)
        logprobs = try container.decodeIfPresent(Int.self, forKey: .logprobs)
        echo = try container.decodeIfPresent(Bool.self, forKey: .echo)
        bestOf = try container.decodeIfPresent(Int.self, forKey: .bestOf)
        suffix = try container.decodeIfPresent(String.self, forKey: .suffix)
        options = try GenerationOptions(from: decoder)
    }

    static let integerFields = ["max_tokens", "logprobs", "best_of"] + GenerationOptions.integerFields
    /// OpenAI's default when `max_tokens` is left out.
    static let defaultMaxTokens = 16
    static let maxLogprobs = 5

    /// Checks what only completions have; returns the stop sequences from the shared options.
    func validate() throws -> [String] {
        if let bestOf, bestOf != 1, bestOf != (options.n ?? 1) {
            throw APIError.invalidValue("best_of", "'best_of' is not supported; use 'n'.", code: "unsupported_parameter")
        }
        if let suffix, !suffix.isEmpty {
            throw APIError.invalidValue("suffix", "'suffix' is not supported.", code: "unsupported_parameter")
        }
        if let logprobs, !(0...Self.maxLogprobs).contains(logprobs) {
            throw APIError.invalidValue("logprobs", "Invalid 'logprobs': must be between 0 and \(Self.maxLogprobs), got \(logprobs).")
        }
        guard prompt.count > 0 else {
            throw APIError.invalidValue("prompt", "Invalid 'prompt': it must not be an empty array.")
        }
        return try options.validate()
    }
}
