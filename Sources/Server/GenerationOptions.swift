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
    // Structured output: OpenAI's `response_format`, llama.cpp's `grammar` (GBNF) and `json_schema` (see
    // `grammarConstraint`).
    var responseFormat: JSONValue?
    var grammar: JSONValue?
    var jsonSchema: JSONValue?
    // Tool calls: read by the chat route (`ToolCallSettings`); refused by completions (`refuseUnsupportedFields`).
    var tools: JSONValue?
    var toolChoice: JSONValue?
    var parallelToolCalls: JSONValue?

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

    /// Checks ranges (OpenAI's, and llama.cpp's for its extensions) and returns the stop sequences. `toolsAllowed`:
    /// the route reads the tool-call fields itself (chat).
    func validate(toolsAllowed: Bool = false) throws -> [String] {
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
        if !toolsAllowed { try refuseUnsupportedFields() }
        let stops = stop?.values ?? []
        if stops.count > 4 {
            throw APIError.invalidValue("stop", "Invalid 'stop': at most 4 stop sequences are allowed, got \(stops.count).")
        }
        return stops
    }

    /// 400 `unsupported_parameter` for tool calls on a route without them (completions), so that a client never takes
    /// free text for a tool call. The values that ask for nothing (an empty tool list, `tool_choice: "none"`, null) pass.
    func refuseUnsupportedFields() throws {
        func refuse(_ field: String) throws -> Never {
            throw APIError.invalidValue(field, "'\(field)' is not supported by this server yet.", code: "unsupported_parameter")
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
    }

    /// The grammar every choice decodes under, from at most one of: `response_format` `json_object` (any JSON
    /// object; llama.cpp's `schema` member narrows it) or `json_schema` (OpenAI's `{"name", "schema", "strict"}`),
    /// llama.cpp's `grammar` (GBNF text) and `json_schema` (a schema). nil for free text. A grammar that does not
    /// compile, and a schema keyword the converter does not support, are 400s naming the field.
    func grammarConstraint() throws -> GrammarConstraint? {
        var sources: [(param: String, compile: () throws -> String)] = []
        switch responseFormat {
        case nil, .null?: break
        case .object(let format)?:
            switch format["type"] {
            case .string("text")?: break
            case .string("json_object")?:
                if let schema = format["schema"], schema != .null {
                    sources.append(("response_format.schema", { try Self.schemaGrammar(schema, param: "response_format.schema") }))
                } else {
                    sources.append(("response_format", { JSONGrammar.object }))
                }
            case .string("json_schema")?:
                guard case .object(let wrapper)? = format["json_schema"] else {
                    throw APIError.invalidValue("response_format.json_schema",
                                                "Invalid 'response_format.json_schema': expected an object with 'name' and 'schema'.")
                }
                let schema = wrapper["schema"] ?? .bool(true)
                sources.append(("response_format.json_schema.schema",
                                { try Self.schemaGrammar(schema, param: "response_format.json_schema.schema") }))
            default:
                throw APIError.invalidValue("response_format.type",
                                            "Invalid 'response_format.type': expected 'text', 'json_object' or 'json_schema'.")
            }
        default:
            throw APIError.invalidValue("response_format", "Invalid 'response_format': expected an object.")
        }
        switch grammar {
        case nil, .null?: break
        case .string(let text)?: sources.append(("grammar", { text }))
        default: throw APIError.invalidValue("grammar", "Invalid 'grammar': expected GBNF text (a string).")
        }
        if let jsonSchema, jsonSchema != .null {
            sources.append(("json_schema", { try Self.schemaGrammar(jsonSchema, param: "json_schema") }))
        }
        guard let source = sources.first else { return nil }
        guard sources.count == 1 else {
            throw APIError.invalidValue(sources[1].param, "Send only one of 'response_format' (json_object, json_schema), 'grammar' and 'json_schema'.")
        }
        let text = try source.compile()
        do {
            return try GrammarConstraint.cached(source: text) { try GrammarConstraint(GrammarParser.parse(text)) }
        } catch let error as GrammarError {
            let what = source.param == "grammar" ? "The grammar" : "The grammar compiled from this schema"
            throw APIError.invalidValue(source.param, "\(what) is refused: \(error.message).", code: "invalid_grammar")
        } catch let error as GrammarStepError {
            throw APIError.invalidValue(source.param, "The grammar is refused: \(error.message).", code: "invalid_grammar")
        }
    }

    /// A JSON schema's GBNF, or a 400 naming the schema keyword at fault (`param.properties.age.minimum`).
    private static func schemaGrammar(_ schema: JSONValue, param: String) throws -> String {
        do {
            return try JSONSchemaGrammar.gbnf(for: schema)
        } catch let error as SchemaConversionError {
            throw APIError.invalidValue(([param] + error.path).joined(separator: "."), error.message, code: error.code)
        }
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
