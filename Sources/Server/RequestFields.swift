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
