import GGUF

/// The architectures the engine runs, keyed by `general.architecture`.
public enum Architecture: String, Sendable, CaseIterable {
    case llama, gemma3, qwen3
}

/// How RoPE pairs the dimensions of a head.
public enum RopeStyle: Sendable {
    /// (x[2i], x[2i+1]): llama.cpp's "normal" mode, used for llama GGUFs (the converter permuted q/k for it).
    case adjacentPairs
    /// (x[i], x[i + n/2]): llama.cpp's "neox" mode (qwen3, gemma3).
    case halves
}

public enum FeedForwardActivation: Sendable { case silu, geluTanh }

/// Hyper-parameters of a decoder-only transformer, read from GGUF metadata with explicit keys.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: Architecture
    public var embeddingLength: Int        // d_model
    public var blockCount: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDim: Int                // key/query length per head
    public var valueDim: Int               // value length per head
    public var contextLength: Int
    public var vocabularySize: Int
    public var ropeDimensionCount: Int
    public var ropeFreqBase: Float
    /// RoPE base of sliding-window (local) layers; nil when all layers share `ropeFreqBase`.
    public var ropeFreqBaseLocal: Float?
    /// Attention window of local layers; nil when every layer attends to the whole context.
    public var slidingWindow: Int?
    /// Layer l is global (full attention, `ropeFreqBase`) iff (l + 1) % period == 0; nil: all global.
    public var globalLayerPeriod: Int?
    public var normEpsilon: Float

    public var ropeStyle: RopeStyle { architecture == .llama ? .adjacentPairs : .halves }
    public var hasQKNorm: Bool { architecture != .llama }
    public var hasPostNorms: Bool { architecture == .gemma3 }
    public var activation: FeedForwardActivation { architecture == .gemma3 ? .geluTanh : .silu }
    /// Gemma multiplies the embeddings by √d_model.
    public var embeddingScale: Float { architecture == .gemma3 ? Float(embeddingLength).squareRoot() : 1 }
    public var attentionScale: Float { 1 / Float(headDim).squareRoot() }
    /// Whether llama.cpp's graph multiplies the query by `attentionScale` before attention (gemma3) rather than
    /// the scores after it: the same in exact arithmetic, not after the query is rounded to F16.
    public var scalesQueryBeforeAttention: Bool { architecture == .gemma3 }
    public var queryDim: Int { headCount * headDim }
    public var kvDim: Int { headCountKV * headDim }
    public var kvValueDim: Int { headCountKV * valueDim }

    public func isGlobalLayer(_ layer: Int) -> Bool {
        guard let period = globalLayerPeriod else { return true }
        return (layer + 1) % period == 0
    }

    public func ropeBase(layer: Int) -> Float {
        isGlobalLayer(layer) ? ropeFreqBase : (ropeFreqBaseLocal ?? ropeFreqBase)
    }

    public init(
        architecture: Architecture, embeddingLength: Int, blockCount: Int, feedForwardLength: Int,
        headCount: Int, headCountKV: Int, headDim: Int, valueDim: Int, contextLength: Int,
        vocabularySize: Int, ropeDimensionCount: Int, ropeFreqBase: Float, ropeFreqBaseLocal: Float? = nil,
        slidingWindow: Int? = nil, globalLayerPeriod: Int? = nil, normEpsilon: Float
    ) {
        self.architecture = architecture
        self.embeddingLength = embeddingLength
        self.blockCount = blockCount
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.headDim = headDim
        self.valueDim = valueDim
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        self.ropeDimensionCount = ropeDimensionCount
        self.ropeFreqBase = ropeFreqBase
        self.ropeFreqBaseLocal = ropeFreqBaseLocal
        self.slidingWindow = slidingWindow
        self.globalLayerPeriod = globalLayerPeriod
        self.normEpsilon = normEpsilon
    }

    /// Reads `{arch}.*` keys; a missing required key or an inconsistent value throws.
    public init(gguf file: GGUFFile) throws {
        let name = try file.architecture
        guard let arch = Architecture(rawValue: name) else { throw ModelError.unsupportedArchitecture(name) }
        func key(_ suffix: String) -> String { "\(name).\(suffix)" }
        func required(_ suffix: String) throws -> Int {
            guard let v = try file.optionalInt(key(suffix)) else { throw ModelError.missingMetadata(key(suffix)) }
            guard v > 0 else { throw ModelError.invalidMetadata(key: key(suffix), reason: "must be positive, is \(v)") }
            return v
        }
        let dim = try required("embedding_length")
        let heads = try required("attention.head_count")
        let headsKV = try file.optionalInt(key("attention.head_count_kv")) ?? heads
        let headDim = try file.optionalInt(key("attention.key_length")) ?? dim / heads
        let valueDim = try file.optionalInt(key("attention.value_length")) ?? headDim
        guard let embd = file.tensor("token_embd.weight"), embd.dimensions.count == 2 else {
            throw ModelError.missingTensor("token_embd.weight")
        }
        let vocab = try file.optionalInt(key("vocab_size")) ?? embd.dimensions[1]
        let eps: Float
        if let e = try file.optionalFloat(key("attention.layer_norm_rms_epsilon")) { eps = e }
        else { throw ModelError.missingMetadata(key("attention.layer_norm_rms_epsilon")) }

        self.init(
            architecture: arch,
            embeddingLength: dim,
            blockCount: try required("block_count"),
            feedForwardLength: try required("feed_forward_length"),
            headCount: heads,
            headCountKV: headsKV,
            headDim: headDim,
            valueDim: valueDim,
            contextLength: try required("context_length"),
            vocabularySize: vocab,
            ropeDimensionCount: try file.optionalInt(key("rope.dimension_count")) ?? headDim,
            ropeFreqBase: try file.optionalFloat(key("rope.freq_base")) ?? 10_000,
            normEpsilon: eps
        )
        if arch == .gemma3 {
            // llama.cpp's gemma3: local layers (window, RoPE base 10 000) with every period-th layer global.
            slidingWindow = try file.optionalInt(key("attention.sliding_window"))
            guard slidingWindow != nil else { throw ModelError.missingMetadata(key("attention.sliding_window")) }
            let period = try file.optionalInt(key("attention.sliding_window_pattern")) ?? 6
            guard period >= 1 else {
                throw ModelError.invalidMetadata(key: key("attention.sliding_window_pattern"), reason: "must be positive")
            }
            globalLayerPeriod = period
            ropeFreqBaseLocal = try file.optionalFloat(key("rope.freq_base_swa")) ?? 10_000
        }
        try validate()
    }

    func validate() throws {
        guard headCountKV > 0, headCount % headCountKV == 0 else {
            throw ModelError.invalidMetadata(key: "\(architecture.rawValue).attention.head_count_kv",
                                             reason: "\(headCountKV) does not divide head_count \(headCount)")
        }
        guard ropeDimensionCount <= headDim, ropeDimensionCount % 2 == 0 else {
            throw ModelError.invalidMetadata(key: "\(architecture.rawValue).rope.dimension_count",
                                             reason: "\(ropeDimensionCount) must be even and at most the head size \(headDim)")
        }
        guard headDim % 2 == 0, vocabularySize > 0 else {
            throw ModelError.invalidMetadata(key: "\(architecture.rawValue).attention.key_length", reason: "head size \(headDim) must be even")
        }
    }
}
