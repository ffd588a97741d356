/// A prompt and a response, as token ids; the response is what gets scored: Σ log π(response | prompt).
public struct SequencePair: Sendable, Hashable {
    public var prompt: [Int]
    public var response: [Int]
    public init(prompt: [Int], response: [Int]) {
        self.prompt = prompt
        self.response = response
    }
}

/// Why a batch cannot be scored.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case emptyPrompt(pair: Int)
    case emptyResponse(pair: Int)
    case invalidToken(pair: Int, token: Int)
    case tooLong(pair: Int, tokens: Int, context: Int)
    case layoutMismatch(String)
    case noForward

    public var description: String {
        switch self {
        case .emptyPrompt(let i): return "pair \(i) has an empty prompt (at least one token, e.g. BOS, is needed)"
        case .emptyResponse(let i): return "pair \(i) has an empty response"
        case .invalidToken(let i, let t): return "pair \(i) has token id \(t), outside the vocabulary"
        case .tooLong(let i, let n, let c): return "pair \(i) has \(n) tokens; the model's context is \(c)"
        case .layoutMismatch(let why): return "LoRA parameters do not fit the model: \(why)"
        case .noForward: return "backward needs a forward pass with activations first"
        }
    }
}

/// Pairs packed row after row for one pass: the rows of pair s are prompt + response minus its last token,
/// at positions 0..<n_s; the row at position p − 1 + j predicts response token j.
struct PackedSequences {
    var tokens: [Int] = []          // [R]
    var positions: [Int] = []       // [R]
    var spans: [SequenceSpan] = []  // one per pair
    var logitRows: [Int] = []       // [L] rows whose next-token log-prob is scored
    var targets: [Int] = []         // [L] the response token each of them predicts
    var logitSequence: [Int] = []   // [L] the pair each belongs to
    var responseLengths: [Int] = [] // one per pair

    var rows: Int { tokens.count }

    init(_ pairs: [SequencePair], vocabulary: Int, context: Int) throws {
        for (s, pair) in pairs.enumerated() {
            guard !pair.prompt.isEmpty else { throw TrainingError.emptyPrompt(pair: s) }
            guard !pair.response.isEmpty else { throw TrainingError.emptyResponse(pair: s) }
            for t in pair.prompt + pair.response where t < 0 || t >= vocabulary {
                throw TrainingError.invalidToken(pair: s, token: t)
            }
            let n = pair.prompt.count + pair.response.count - 1
            guard n <= context else { throw TrainingError.tooLong(pair: s, tokens: n + 1, context: context) }
            let offset = tokens.count
            spans.append(SequenceSpan(offset: offset, count: n))
            tokens += pair.prompt
            tokens += pair.response.dropLast()
            positions += 0..<n
            for (j, t) in pair.response.enumerated() {
                logitRows.append(offset + pair.prompt.count - 1 + j)
                targets.append(t)
                logitSequence.append(s)
            }
            responseLengths.append(pair.response.count)
        }
    }
}
