import GGUF

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

    // The family's choices, stored in `architecture` since load (see Architecture).
    public var ropeStyle: RopeStyle { architecture.ropeStyle }
    public var hasQKNorm: Bool { architecture.hasQKNorm }
    public var hasPostNorms: Bool { architecture.hasPostNorms }
    public var activation: FeedForwardActivation { architecture.activation }
    public var embeddingScale: Float {
        architecture.embeddingScaling == .squareRootOfWidth ? Float(embeddingLength).squareRoot() : 1
    }
    public var attentionScale: Float { 1 / Float(headDim).squareRoot() }
    /// See `Architecture.scalesQueryBeforeAttention`.
    public var scalesQueryBeforeAttention: Bool { architecture.scalesQueryBeforeAttention }
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

    /// Reads `{arch}.*` keys, as the family registered under `general.architecture` names them
    /// (`ArchitectureRegistry`); a missing required key or an inconsistent value throws.
    public init(gguf file: GGUFFile) throws {
        let name = try file.architecture
        guard let arch = ArchitectureRegistry.architecture(named: name) else { throw ModelError.unsupportedArchitecture(name) }
        let keys = arch.keys, tensors = arch.tensors
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
        guard let embd = file.tensor(tensors.tokenEmbedding), embd.dimensions.count == 2 else {
            throw ModelError.missingTensor(tensors.tokenEmbedding)
        }
        let dim = try required(keys.embeddingLength)
        guard dim == embd.dimensions[0] else {
            throw ModelError.invalidMetadata(key: key(keys.embeddingLength),
                                             reason: "\(dim) disagrees with \(tensors.tokenEmbedding)'s width \(embd.dimensions[0])")
        }
        let blocks = try required(keys.blockCount, limit: Limits.blocks)
        // The layers' tensors must be there before an array of `blocks` layers (and caches) is made for them.
        let lastBlock = tensors.block(blocks - 1, tensors.attentionNorm)
        guard file.tensor(lastBlock) != nil else {
            throw ModelError.invalidMetadata(key: key(keys.blockCount), reason: "\(blocks) blocks, but the file has no tensor '\(lastBlock)'")
        }
        let heads = try required(keys.headCount)
        let headsKV = try optional(keys.headCountKV, default: heads)
        let headDim = try optional(keys.keyLength, default: dim / heads)
        let valueDim = try optional(keys.valueLength, default: headDim)
        let vocab = try optional(keys.vocabularySize, default: embd.dimensions[1], limit: Limits.vocabulary)
        guard vocab == embd.dimensions[1] else {
            throw ModelError.invalidMetadata(key: key(keys.vocabularySize),
                                             reason: "\(vocab) disagrees with \(tensors.tokenEmbedding)'s \(embd.dimensions[1]) rows")
        }
        let eps = try positiveFloat(keys.normEpsilon, default: nil)
        let ropeDimensions = try file.optionalInt(key(keys.ropeDimensionCount)) ?? headDim
        guard (0...Limits.dimension).contains(ropeDimensions) else {
            throw ModelError.invalidMetadata(key: key(keys.ropeDimensionCount), reason: "\(ropeDimensions) is outside 0...\(Limits.dimension)")
        }

        self.init(
            architecture: arch,
            embeddingLength: dim,
            blockCount: blocks,
            feedForwardLength: try required(keys.feedForwardLength),
            headCount: heads,
            headCountKV: headsKV,
            headDim: headDim,
            valueDim: valueDim,
            contextLength: try required(keys.contextLength, limit: Limits.context),
            vocabularySize: vocab,
            ropeDimensionCount: ropeDimensions,
            ropeFreqBase: try positiveFloat(keys.ropeFreqBase, default: 10_000),
            normEpsilon: eps
        )
        if let local = arch.slidingWindow {
            slidingWindow = try required(local.windowKey, limit: Limits.context)
            globalLayerPeriod = try optional(local.periodKey, default: local.defaultPeriod, limit: Limits.blocks)
            ropeFreqBaseLocal = try positiveFloat(local.localRopeBaseKey, default: local.defaultLocalRopeBase)
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
            throw ModelError.invalidMetadata(key: "\(architecture.name).\(architecture.keys.headCountKV)",
                                             reason: "\(headCountKV) does not divide head_count \(headCount)")
        }
        guard ropeDimensionCount <= headDim, ropeDimensionCount % 2 == 0 else {
            throw ModelError.invalidMetadata(key: "\(architecture.name).\(architecture.keys.ropeDimensionCount)",
                                             reason: "\(ropeDimensionCount) must be even and at most the head size \(headDim)")
        }
        guard headDim % 2 == 0, vocabularySize > 0 else {
            throw ModelError.invalidMetadata(key: "\(architecture.name).\(architecture.keys.keyLength)", reason: "head size \(headDim) must be even")
        }
    }
}
