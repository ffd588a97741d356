import Tokenizers

/// What sets one model family apart, as data: the metadata keys and tensor names it reads, the choices of its
/// forward pass, and its conversation format. `ModelConfig(gguf:)` looks the family up by `general.architecture`
/// in `ArchitectureRegistry` once, at load; the forward pass, the training graph and adapter checks read these
/// stored values (no lookup per row). Adding a family is a file in this folder and a line in the registry.
public struct Architecture: Sendable, Equatable {
    /// `general.architecture`, also the prefix of the family's metadata keys (`{name}.embedding_length`).
    public var name: String
    public var keys: MetadataKeys
    public var tensors: TensorNames
    public var ropeStyle: RopeStyle
    /// RMS norms of each head's query and key after their projections (`attn_q_norm`, `attn_k_norm`).
    public var hasQKNorm: Bool
    /// RMS norms of the attention and feed-forward outputs before the residual adds (`post_attention_norm`,
    /// `post_ffw_norm`).
    public var hasPostNorms: Bool
    public var activation: FeedForwardActivation
    public var embeddingScaling: EmbeddingScaling
    /// Whether llama.cpp's graph multiplies the query by the attention scale before attention rather than the
    /// scores after it: the same in exact arithmetic, not after the query is rounded to F16.
    public var scalesQueryBeforeAttention: Bool
    /// Local (sliding-window) layers interleaved with global ones; nil when every layer attends to everything.
    public var slidingWindow: SlidingWindowLayout?
    /// Texts of the tokens that end an assistant turn, most specific first; the first one the vocabulary has
    /// closes the responses that alignment scores.
    public var endOfTurnTokens: [String]
    /// The conversation format for a file of this family whose `tokenizer.chat_template` is absent or not one
    /// Raconteur recognises.
    public var chatTemplateFallback: ChatTemplate

    /// The name, as the enumeration this type replaced spelled it.
    public var rawValue: String { name }

    public init(name: String, keys: MetadataKeys = .llamaCpp, tensors: TensorNames = .llamaCpp, ropeStyle: RopeStyle,
                hasQKNorm: Bool, hasPostNorms: Bool, activation: FeedForwardActivation, embeddingScaling: EmbeddingScaling,
                scalesQueryBeforeAttention: Bool, slidingWindow: SlidingWindowLayout? = nil,
                endOfTurnTokens: [String], chatTemplateFallback: ChatTemplate) {
        self.name = name
        self.keys = keys
        self.tensors = tensors
        self.ropeStyle = ropeStyle
        self.hasQKNorm = hasQKNorm
        self.hasPostNorms = hasPostNorms
        self.activation = activation
        self.embeddingScaling = embeddingScaling
        self.scalesQueryBeforeAttention = scalesQueryBeforeAttention
        self.slidingWindow = slidingWindow
        self.endOfTurnTokens = endOfTurnTokens
        self.chatTemplateFallback = chatTemplateFallback
    }
}

/// How RoPE pairs the dimensions of a head.
public enum RopeStyle: Sendable {
    /// (x[2i], x[2i+1]): llama.cpp's "normal" mode, used for llama GGUFs (the converter permuted q/k for it).
    case adjacentPairs
    /// (x[i], x[i + n/2]): llama.cpp's "neox" mode (qwen2, qwen3, gemma3).
    case halves
}

public enum FeedForwardActivation: Sendable { case silu, geluTanh }

public enum EmbeddingScaling: Sendable {
    case none
    /// Embeddings multiplied by √d_model (Gemma).
    case squareRootOfWidth
}

/// The hyper-parameter keys, each after the `{name}.` prefix. llama.cpp names them the same for every family.
public struct MetadataKeys: Sendable, Equatable {
    public var contextLength = "context_length"
    public var embeddingLength = "embedding_length"
    public var blockCount = "block_count"
    public var feedForwardLength = "feed_forward_length"
    public var headCount = "attention.head_count"
    public var headCountKV = "attention.head_count_kv"
    public var keyLength = "attention.key_length"
    public var valueLength = "attention.value_length"
    public var vocabularySize = "vocab_size"
    public var normEpsilon = "attention.layer_norm_rms_epsilon"
    public var ropeDimensionCount = "rope.dimension_count"
    public var ropeFreqBase = "rope.freq_base"

    public static let llamaCpp = MetadataKeys()
}

/// Tensor names. The projections keep `Projection`'s names (`blk.N.attn_q.weight`): adapters, in llama.cpp's
/// LoRA layout, name their matrices after them.
public struct TensorNames: Sendable, Equatable {
    public var tokenEmbedding = "token_embd.weight"
    public var outputNorm = "output_norm.weight"
    /// The output head; when the file lacks it the head is the token embedding (tied).
    public var output = "output.weight"
    /// Per block, after `blk.N.`:
    public var attentionNorm = "attn_norm.weight"
    public var queryNorm = "attn_q_norm.weight"
    public var keyNorm = "attn_k_norm.weight"
    public var postAttentionNorm = "post_attention_norm.weight"
    public var feedForwardNorm = "ffn_norm.weight"
    public var postFeedForwardNorm = "post_ffw_norm.weight"

    public static let llamaCpp = TensorNames()

    public func block(_ layer: Int, _ suffix: String) -> String { "blk.\(layer).\(suffix)" }
    public func projection(_ p: Projection, layer: Int) -> String { block(layer, p.rawValue + ".weight") }
    /// A projection's bias (`blk.N.attn_q.bias`), added after the product and any LoRA terms. As llama.cpp's
    /// `create_tensor_qkv` does for every family, the query, key and value biases are optional tensors read when
    /// the file has them (Qwen2's files do); `Projection.biased` lists the projections that may have one.
    public func projectionBias(_ p: Projection, layer: Int) -> String { block(layer, p.rawValue + ".bias") }
}

/// Where a family with local attention layers keeps their window, the period of its global layers and the RoPE
/// base of the local ones (keys after `{name}.`), with llama.cpp's defaults.
public struct SlidingWindowLayout: Sendable, Equatable {
    /// Required: the attention window of local layers.
    public var windowKey = "attention.sliding_window"
    /// Layer l is global iff (l + 1) % period == 0.
    public var periodKey = "attention.sliding_window_pattern"
    public var defaultPeriod = 6
    public var localRopeBaseKey = "rope.freq_base_swa"
    public var defaultLocalRopeBase: Float = 10_000

    public init() {}
}
