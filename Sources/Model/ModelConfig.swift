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
        // Every size is bounded before anything multiplies or allocates with it (`Limits`), and checked against the
        // tensors the file holds where they say the same thing.
        func bounded(_ suffix: String, _ value: Int, _ limit: Int) throws -> Int {
            guard (1...limit).contains(value) else {
                throw ModelError.invalidMetadata(key: key(suffix), reason: "\(value) is outside 1...\(limit)")
            }
            return value
        }
        func required(_ suffix: String, limit: Int = Limits.dimension) throws -> Int {
            guard let v = try file.optionalInt(key(suffix)) else { throw ModelError.missingMetadata(key(suffix)) }
            return try bounded(suffix, v, limit)
        }
        func optional(_ suffix: String, default value: Int, limit: Int = Limits.dimension) throws -> Int {
            try bounded(suffix, try file.optionalInt(key(suffix)) ?? value, limit)
        }
        func positiveFloat(_ suffix: String, default value: Float?) throws -> Float {
            guard let v = try file.optionalFloat(key(suffix)) ?? value else { throw ModelError.missingMetadata(key(suffix)) }
            guard v.isFinite, v > 0 else { throw ModelError.invalidMetadata(key: key(suffix), reason: "\(v) must be a finite number > 0") }
            return v
        }
        guard let embd = file.tensor("token_embd.weight"), embd.dimensions.count == 2 else {
            throw ModelError.missingTensor("token_embd.weight")
        }
        let dim = try required("embedding_length")
        guard dim == embd.dimensions[0] else {
            throw ModelError.invalidMetadata(key: key("embedding_length"),
                                             reason: "\(dim) disagrees with token_embd.weight's width \(embd.dimensions[0])")
        }
        let blocks = try required("block_count", limit: Limits.blocks)
        // The layers' tensors must be there before an array of `blocks` layers (and caches) is made for them.
        let lastBlock = "blk.\(blocks - 1).attn_norm.weight"
        guard file.tensor(lastBlock) != nil else {
            throw ModelError.invalidMetadata(key: key("block_count"), reason: "\(blocks) blocks, but the file has no tensor '\(lastBlock)'")
        }
        let heads = try required("attention.head_count")
        let headsKV = try optional("attention.head_count_kv", default: heads)
        let headDim = try optional("attention.key_length", default: dim / heads)
        let valueDim = try optional("attention.value_length", default: headDim)
        let vocab = try optional("vocab_size", default: embd.dimensions[1], limit: Limits.vocabulary)
        guard vocab == embd.dimensions[1] else {
            throw ModelError.invalidMetadata(key: key("vocab_size"),
                                             reason: "\(vocab) disagrees with token_embd.weight's \(embd.dimensions[1]) rows")
        }
        let eps = try positiveFloat("attention.layer_norm_rms_epsilon", default: nil)
        let ropeDimensions = try file.optionalInt(key("rope.dimension_count")) ?? headDim
        guard (0...Limits.dimension).contains(ropeDimensions) else {
            throw ModelError.invalidMetadata(key: key("rope.dimension_count"), reason: "\(ropeDimensions) is outside 0...\(Limits.dimension)")
        }

        self.init(
            architecture: arch,
            embeddingLength: dim,
            blockCount: blocks,
            feedForwardLength: try required("feed_forward_length"),
            headCount: heads,
            headCountKV: headsKV,
            headDim: headDim,
            valueDim: valueDim,
            contextLength: try required("context_length", limit: Limits.context),
            vocabularySize: vocab,
            ropeDimensionCount: ropeDimensions,
            ropeFreqBase: try positiveFloat("rope.freq_base", default: 10_000),
            normEpsilon: eps
        )
        if arch == .gemma3 {
            // llama.cpp's gemma3: local layers (window, RoPE base 10 000) with every period-th layer global.
            slidingWindow = try required("attention.sliding_window", limit: Limits.context)
            globalLayerPeriod = try optional("attention.sliding_window_pattern", default: 6, limit: Limits.blocks)
            ropeFreqBaseLocal = try positiveFloat("rope.freq_base_swa", default: 10_000)
        }
        try validate()
    }

    /// The largest hyper-parameters a file may declare. Far above any model this engine can run on a CPU, and small
    /// enough that products of two of them (q = heads × head size, a layer's KV bytes) cannot overflow.
    public enum Limits {
        public static let dimension = 1 << 20
        public static let blocks = 4096
        public static let vocabulary = 1 << 24
        public static let context = 1 << 24
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
