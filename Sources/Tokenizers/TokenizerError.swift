/// Why a vocabulary cannot make a tokenizer.
public enum TokenizerError: Error, Equatable, Sendable, CustomStringConvertible {
    case emptyVocabulary
    /// An array that must have one entry per token has another length.
    case lengthMismatch(field: String, expected: Int, actual: Int)
    /// A special token id (bos, eos, unknown, padding) is outside the vocabulary.
    case tokenIDOutOfRange(field: String, id: Int, vocabularySize: Int)
    /// `addBOS` / `addEOS` is set but the corresponding id is missing.
    case missingSpecialToken(field: String)
    case missingMerges
    case malformedMerge(index: Int, merge: String)
    /// A merge names a token (or produces one) that the vocabulary lacks.
    case mergeTokenMissing(index: Int, merge: String)
    case unsupportedPreTokenizer(String)

    public var description: String {
        switch self {
        case .emptyVocabulary:
            return "the vocabulary has no tokens"
        case let .lengthMismatch(field, expected, actual):
            return "\(field) has \(actual) entries, expected one per token (\(expected))"
        case let .tokenIDOutOfRange(field, id, size):
            return "\(field) = \(id) is outside the vocabulary (0..<\(size))"
        case let .missingSpecialToken(field):
            return "the vocabulary asks to add \(field) but has no \(field) id"
        case .missingMerges:
            return "a gpt2 (byte-level BPE) vocabulary needs merges"
        case let .malformedMerge(index, merge):
            return "merge \(index) (\(merge.debugDescription)) is not two tokens separated by a space"
        case let .mergeTokenMissing(index, merge):
            return "merge \(index) (\(merge.debugDescription)) uses or makes a token that is not in the vocabulary"
        case let .unsupportedPreTokenizer(pre):
            return "unsupported pre-tokenizer (tokenizer.ggml.pre) \(pre.debugDescription): Raconteur would split its text differently from the model's own tokenizer (supported: \(PreTokenizer.supportedNames.joined(separator: ", ")))"
        }
    }
}
