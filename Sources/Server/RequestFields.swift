import Engine

/// `prompt` of /v1/completions: a string, an array of strings, an array of token ids, or an array of such arrays.
public enum PromptInput: Decodable, Sendable, Equatable, JSONTypeDescribing {
    case texts([String])
    case tokenLists([[Int]])

    static var jsonTypeDescription: String {
        "a string, an array of strings, an array of token ids or an array of arrays of token ids"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .texts([text])
        } else if let texts = try? container.decode([String].self) {
            self = .texts(texts)
        } else if let tokens = try? container.decode([Int].self) {
            self = .tokenLists([tokens])
        } else if let lists = try? container.decode([[Int]].self) {
            self = .tokenLists(lists)
        } else {
            throw DecodingError.typeMismatch(PromptInput.self, .init(codingPath: decoder.codingPath,
                                                                      debugDescription: Self.jsonTypeDescription))
        }
    }

    var count: Int {
        switch self {
        case .texts(let texts): return texts.count
        case .tokenLists(let lists): return lists.count
        }
    }
}

/// `stop`: one string or a list of strings.
public struct StopSequences: Decodable, Sendable, Equatable, JSONTypeDescribing {
    public var values: [String]

    static var jsonTypeDescription: String { "a string or an array of strings" }

    public init(_ values: [String]) { self.values = values }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) {
            values = [one]
        } else if let many = try? container.decode([String].self) {
            values = many
        } else {
            throw DecodingError.typeMismatch(StopSequences.self, .init(codingPath: decoder.codingPath,
                                                                        debugDescription: Self.jsonTypeDescription))
        }
    }
}

public struct StreamOptions: Decodable, Sendable, Equatable {
    /// Send a last chunk with no choices and the usage block.
    public var includeUsage: Bool?

    private enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}

/// The sampling fields /v1/completions and /v1/chat/completions share, validated the same way for both.
protocol SamplingFields {
    var temperature: Double? { get }
    var topP: Double? { get }
    var n: Int? { get }
    var stop: StopSequences? { get }
    var seed: Int? { get }
    var presencePenalty: Double? { get }
    var frequencyPenalty: Double? { get }
    var ignoreEOS: Bool? { get }
    /// llama.cpp's extensions.
    var topK: Int? { get }
    var minP: Double? { get }
    var repeatPenalty: Double? { get }
}

extension SamplingFields {
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
    func validateSampling() throws -> [String] {
        try Self.check(temperature, "temperature", in: 0...2)
        try Self.check(topP, "top_p", in: 0...1)
        try Self.check(presencePenalty, "presence_penalty", in: -2...2)
        try Self.check(frequencyPenalty, "frequency_penalty", in: -2...2)
        try Self.check(minP, "min_p", in: 0...1)
        try Self.check(repeatPenalty, "repeat_penalty", in: 0.01...10)
        if let topK, topK < 0 {
            throw APIError.invalidValue("top_k", "Invalid 'top_k': \(topK) is less than the minimum of 0.")
        }
        let stops = stop?.values ?? []
        if stops.count > 4 {
            throw APIError.invalidValue("stop", "Invalid 'stop': at most 4 stop sequences are allowed, got \(stops.count).")
        }
        return stops.filter { !$0.isEmpty }
    }

    /// `n`, checked against the server's limit on choices per request (n × prompts).
    func validatedChoiceCount(prompts: Int, limit: Int) throws -> Int {
        let choices = n ?? 1
        guard choices >= 1 else {
            throw APIError.invalidValue("n", "Invalid 'n': \(choices) is less than the minimum of 1.")
        }
        guard choices * prompts <= limit else {
            throw APIError.invalidValue("n", "Invalid 'n': \(choices) choices for \(prompts) prompt(s) exceed this server's limit of \(limit) choices per request.")
        }
        return choices
    }

    static func check(_ value: Double?, _ name: String, in range: ClosedRange<Double>) throws {
        guard let value else { return }
        guard value.isFinite, range.contains(value) else {
            let bound = value < range.lowerBound ? "less than the minimum of \(range.lowerBound)" : "greater than the maximum of \(range.upperBound)"
            throw APIError.invalidValue(name, "Invalid '\(name)': \(value) is \(value.isFinite ? bound : "not a finite number").")
        }
    }
}

/// Checks `max_tokens` against the server's cap and the context; nil asks for as many tokens as fit.
func validatedMaxTokens(_ requested: Int?, param: String, promptTokens: Int, contextLimit: Int, cap: Int,
                        promptParam: String) throws -> Int {
    guard promptTokens < contextLimit else {
        throw APIError.contextLengthExceeded(param: promptParam, promptTokens: promptTokens, maxTokens: 0, limit: contextLimit)
    }
    guard let requested else { return min(cap, contextLimit - promptTokens) }
    guard requested >= 0 else {
        throw APIError.invalidValue(param, "Invalid '\(param)': \(requested) is less than the minimum of 0.")
    }
    guard requested <= cap else {
        throw APIError.invalidValue(param, "Invalid '\(param)': \(requested) is greater than this server's maximum of \(cap).")
    }
    guard promptTokens + requested <= contextLimit else {
        throw APIError.contextLengthExceeded(param: param, promptTokens: promptTokens, maxTokens: requested, limit: contextLimit)
    }
    return requested
}
