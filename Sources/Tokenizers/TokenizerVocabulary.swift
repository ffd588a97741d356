/// Everything a tokenizer needs, as a model file describes it (GGUF's `tokenizer.*` keys).
///
/// Tokenizers does not read files: a loader (the GGUF module, a JSON fixture) fills this in.
/// Defaults follow llama.cpp's for a missing key, except `addSpacePrefix`: llama.cpp assumes
/// `true` for a `llama` (SentencePiece) vocabulary without `tokenizer.ggml.add_space_prefix`,
/// so a loader should pass `true` in that case.
public struct TokenizerVocabulary: Sendable {
    /// `tokenizer.ggml.model`.
    public enum Model: String, Sendable {
        /// Byte-level BPE with ranked merges (GPT-2, SmolLM2, Llama 3, Qwen).
        case gpt2
        /// SentencePiece-style BPE: merges chosen by token score, byte fallback tokens `<0xNN>` (Llama 2, Gemma).
        case llama
    }

    public var model: Model
    /// `tokenizer.ggml.pre`: the pre-tokenizer of a `gpt2` vocabulary (for example `smollm`).
    public var pre: String?
    public var tokens: [String]
    public var scores: [Float]?
    /// Per token: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public var tokenTypes: [Int32]?
    /// `gpt2` only: "left right" pairs, highest priority first.
    public var merges: [String]?
    public var bosID: Int?
    public var eosID: Int?
    public var unknownID: Int?
    public var paddingID: Int?
    public var addBOS: Bool
    public var addEOS: Bool
    public var addSpacePrefix: Bool
    /// `tokenizer.chat_template` (a Jinja template), if the model has one.
    public var chatTemplate: String?

    public init(
        model: Model,
        pre: String? = nil,
        tokens: [String],
        scores: [Float]? = nil,
        tokenTypes: [Int32]? = nil,
        merges: [String]? = nil,
        bosID: Int? = nil,
        eosID: Int? = nil,
        unknownID: Int? = nil,
        paddingID: Int? = nil,
        addBOS: Bool = false,
        addEOS: Bool = false,
        addSpacePrefix: Bool = false,
        chatTemplate: String? = nil
    ) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.paddingID = paddingID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplate = chatTemplate
    }
}

/// Token types as GGUF stores them (`tokenizer.ggml.token_type`).
enum TokenType: Int32 {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}
