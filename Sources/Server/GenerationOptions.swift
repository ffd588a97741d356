import Engine
import Feedback

/// The fields /v1/completions and /v1/chat/completions share: model, sampling, stopping and streaming. Both request
/// types decode it from the same JSON object, so a field added here (a trade-off, adapters) reaches both routes.
public struct GenerationOptions: Decodable, Sendable {
    public var model: String?
    public var temperature: Double?
    public var topP: Double?
    public var n: Int?
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var stop: StopSequences?
    public var seed: Int?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var user: String?
    // llama.cpp's extensions.
    public var ignoreEOS: Bool?
    public var topK: Int?
    public var minP: Double?
    public var repeatPenalty: Double?
    /// Accepted only when empty, so a client that relies on it hears that it is not supported.
    public var logitBias: [String: Double]?
    // Raconteur's extensions: how the adapters are chosen.
    /// Weights over the configured objectives (normalised to the simplex), resolved to the trained adapter grid.
    public var tradeoff: [String: Double]?
    /// An explicit mixture of loaded adapters.
    public var adapters: [AdapterChoice]?
    /// OpenAI's `store`: false keeps this request's prompt and answers out of the feedback store (feedback can then
    /// name them only by text, not by completion id).
    public var store: Bool?
    // Structured output and tool calls are not implemented yet: a request that asks for them is refused rather than
    // answered with free text (`refuseUnsupportedFields`).
    var responseFormat: JSONValue?
    var tools: JSONValue?
    var toolChoice: JSONValue?
    var parallelToolCalls: JSONValue?
    var grammar: JSONValue?
    var jsonSchema: JSONValue?

    public struct AdapterChoice: Decodable, Sendable {
        public var id: String
        public var scale: Double?
    }

    private enum CodingKeys: String, CodingKey {
        case model, temperature, n, stream, stop, seed, user
        case topP = "top_p"
        case streamOptions = "stream_options"
        case presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
        case ignoreEOS = "ignore_eos"
        case topK = "top_k"
        case minP = "min_p"
        case repeatPenalty = "repeat_penalty"
        case logitBias = "logit_bias"
        case tradeoff, adapters, store
        case responseFormat = "response_format", tools, toolChoice = "tool_choice", parallelToolCalls = "parallel_tool_calls"
        case grammar, jsonSchema = "json_schema"
    }

    static let integerFields = ["n", "seed", "top_k"]

    var isStreaming: Bool { stream == true }
    var includesUsageInStream: Bool { streamOptions?.includeUsage == true }

    /// Sampling parameters for the choice with this index: with a seed, choice i samples with seed + i,
    /// so the n choices of one request differ and the same request gives the same n choices again.
    func samplingParameters(choiceIndex: Int) -> SamplingParameters {
        SamplingParameters(
            temperature: Float(temperature ?? 1),
            topK: topK ?? 0,
            topP: Float(topP ?? 1),
            minP: Float(minP ?? 0),
            repetitionPenalty: Float(repeatPenalty ?? 1),
            presencePenalty: Float(presencePenalty ?? 0),
            frequencyPenalty: Float(frequencyPenalty ?? 0),
            seed: seed.map { UInt64(bitPattern: Int64($0)) &+ UInt64(choiceIndex) }
        )
    }

    /// Checks ranges (OpenAI's, and llama.cpp's for its extensions) and returns the stop sequences.
    func validate() throws -> [String] {
        try Self.check(temperature, "temperature", in: 0...2)
        try Self.check(topP, "top_p", in: 0...1)
        try Self.check(presencePenalty, "presence_penalty", in: -2...2)
        try Self.check(frequencyPenalty, "frequency_penalty", in: -2...2)
        try Self.check(minP, "min_p", in: 0...1)
        try Self.check(repeatPenalty, "repeat_penalty", in: 0.01...10)
        if let topK, topK < 0 {
            throw APIError.invalidValue("top_k", "Invalid 'top_k': \(topK) is less than the minimum of 0.")
        }
        if let logitBias, !logitBias.isEmpty {
            throw APIError.invalidValue("logit_bias", "'logit_bias' is not supported.", code: "unsupported_parameter")
        }
        try refuseUnsupportedFields()
        let stops = stop?.values ?? []
        if stops.count > 4 {
            throw APIError.invalidValue("stop", "Invalid 'stop': at most 4 stop sequences are allowed, got \(stops.count).")
        }
        return stops
    }

    /// 400 `unsupported_parameter` for structured output and tool calls, which this server does not do yet, so that
    /// a client never takes free text for output that follows its schema. The values that ask for nothing (a `text`
    /// response format, an empty tool list, `tool_choice: "none"`, null) pass.
    func refuseUnsupportedFields() throws {
        func refuse(_ field: String) throws -> Never {
            throw APIError.invalidValue(field, "'\(field)' is not supported by this server yet.", code: "unsupported_parameter")
        }
        switch responseFormat {
        case nil, .null?: break
        case .object(let format)? where format["type"] == .string("text") && format.count == 1: break
        default: try refuse("response_format")
        }
        switch tools {
        case nil, .null?, .array([])?: break
        default: try refuse("tools")
        }
        switch toolChoice {
        case nil, .null?, .string("none")?: break
        default: try refuse("tool_choice")
        }
        if let parallelToolCalls, parallelToolCalls != .null { try refuse("parallel_tool_calls") }
        if let grammar, grammar != .null { try refuse("grammar") }
        if let jsonSchema, jsonSchema != .null { try refuse("json_schema") }
    }

    /// `n`, checked against the server's limit on choices per request (n × prompts).
    func validatedChoiceCount(prompts: Int, limit: Int) throws -> Int {
        let choices = n ?? 1
        guard choices >= 1 else {
            throw APIError.invalidValue("n", "Invalid 'n': \(choices) is less than the minimum of 1.")
        }
        // Each factor is bounded before the product, which then cannot overflow.
        guard choices <= limit, prompts <= limit, choices * prompts <= limit else {
            throw APIError.invalidValue("n", "Invalid 'n': \(choices) choices for \(prompts) prompt(s) exceed this server's limit of \(limit) choices per request.")
        }
        return choices
    }

    private static func check(_ value: Double?, _ name: String, in range: ClosedRange<Double>) throws {
        guard let value else { return }
        guard value.isFinite, range.contains(value) else {
            let bound = value < range.lowerBound ? "less than the minimum of \(range.lowerBound)" : "greater than the maximum of \(range.upperBound)"
            throw APIError.invalidValue(name, "Invalid '\(name)': \(value) is \(value.isFinite ? bound : "not a finite number").")
        }
    }
}
