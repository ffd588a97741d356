/// What every OpenAI completion object and stream chunk shares around its choices: `id`, `object`, `created`,
/// `model`, `system_fingerprint`, and `usage` when known (always in a whole response, last in a stream when asked for).
struct CompletionObject<Choice: Encodable & Sendable>: Encodable, Sendable {
    var id: String
    /// "text_completion", "chat.completion" or "chat.completion.chunk".
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: UsageBlock?
    /// The adapters that produced the choices (Raconteur's addition).
    var mixture: MixtureReport?
    /// OpenAI's field, always null here: no fingerprint of a backend configuration is offered.
    @EncodedAsNull var systemFingerprint: String? = nil

    private enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage, mixture, systemFingerprint = "system_fingerprint"
    }
}

/// `usage` of a response.
struct UsageBlock: Encodable, Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int { promptTokens + completionTokens }

    private enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(totalTokens, forKey: .totalTokens)
    }
}
