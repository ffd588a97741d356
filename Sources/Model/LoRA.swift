import GGUF
import Kernels
import Synchronization

/// Which projection of which block a low-rank update modifies.
public struct LoRATarget: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let layer: Int
    public let projection: Projection
    public init(layer: Int, projection: Projection) {
        self.layer = layer
        self.projection = projection
    }
    /// The base tensor's name in the model file, e.g. `blk.3.attn_q.weight`.
    public var tensorName: String { "blk.\(layer).\(projection.rawValue).weight" }
    public var description: String { tensorName }
    /// By layer, then in the block's order of projections.
    public static func < (l: LoRATarget, r: LoRATarget) -> Bool { (l.layer, l.projection) < (r.layer, r.projection) }
}

/// ΔW = B·A for one projection (the adapter's alpha/rank scaling is applied by the adapter):
/// A [rank × inputs], B [outputs × rank], F32 row-major, as llama.cpp's `lora_a` / `lora_b` tensors.
public final class LoRAMatrices: @unchecked Sendable {
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    public let a: UnsafeMutablePointer<Float>  // [rank × inputs]
    public let b: UnsafeMutablePointer<Float>  // [outputs × rank]

    public init(rank: Int, inputs: Int, outputs: Int) {
        self.rank = rank
        self.inputs = inputs
        self.outputs = outputs
        a = .allocate(capacity: rank * inputs)
        a.initialize(repeating: 0, count: rank * inputs)
        b = .allocate(capacity: outputs * rank)
        b.initialize(repeating: 0, count: outputs * rank)
    }

    /// 8-bit copies that the forward pass reads instead (a quarter of the F32 memory traffic of a decode step),
    /// made once by `LoRAAdapter.prepareForServing()` before the adapter is shared, in one `PageRegion` per adapter
    /// (which they keep alive); layouts in Kernels/LowRank.swift. Training keeps using the F32 matrices. Left nil
    /// (F32 served) when `inputs` is not a multiple of 32.
    public private(set) var servedA: UnsafeMutableRawPointer?           // [rank × Q8_0 row of inputs], LowRank.interleaveA
    public private(set) var servedB: UnsafeMutablePointer<Int8>?        // [⌈outputs / 32⌉ × rank × 32]
    public private(set) var servedBScales: UnsafeMutablePointer<Float>? // [⌈outputs / 32⌉ × rank]
    private var servingRegion: PageRegion?

    deinit {
        a.deallocate()
        b.deallocate()
    }

    /// Bytes of the serving copies (A, B, B's scales), nil when they are not made (see `servedA`).
    var servingBytes: [Int]? {
        guard inputs % LowRank.blockSize == 0 else { return nil }
        let count = LowRank.blockedCount(outputs: outputs, rank: rank)
        return [rank * LowRank.q8_0RowBytes(inputs), count, count / LowRank.blockSize * MemoryLayout<Float>.stride]
    }

    /// Makes the 8-bit serving copies in `region`, A then B then its scales. Not thread-safe: call it before the
    /// adapter serves.
    func prepareForServing(in region: PageRegion) {
        guard servedA == nil, let sizes = servingBytes else { return }
        let qa = region.take(sizes[0])
        LowRank.interleaveA(a, rank: rank, inputs: inputs, into: qa)
        let count = sizes[1]   // B's entries, one byte each
        let qb = region.take(sizes[1]).bindMemory(to: Int8.self, capacity: count)
        let scales = region.take(sizes[2]).bindMemory(to: Float.self, capacity: count / LowRank.blockSize)
        LowRank.quantizeBlocked(b, outputs: outputs, rank: rank, into: qb, scales: scales)
        servedA = qa
        servedB = qb
        servedBScales = scales
        servingRegion = region
    }

    public var parameterCount: Int { rank * (inputs + outputs) }
}

/// One projection of an adapter as the forward pass reads it: plain pointers into the adapter's `LoRAMatrices`,
/// so that the loops run per product touch no reference counts. rank 0: the adapter leaves the projection alone.
struct ProjectionPointers {
    var rank = 0
    var inputs = 0
    var outputs = 0
    var a: UnsafePointer<Float>?                // [rank × inputs] F32
    var b: UnsafePointer<Float>?                // [outputs × rank] F32
    var servedA: UnsafeRawPointer?              // 8-bit copies (nil: the F32 matrices serve), see LoRAMatrices
    var servedB: UnsafePointer<Int8>?
    var servedBScales: UnsafePointer<Float>?

    init() {}
    init(_ m: LoRAMatrices) {
        rank = m.rank
        inputs = m.inputs
        outputs = m.outputs
        a = UnsafePointer(m.a)
        b = UnsafePointer(m.b)
        servedA = m.servedA.map { UnsafeRawPointer($0) }
        servedB = m.servedB.map { UnsafePointer($0) }
        servedBScales = m.servedBScales.map { UnsafePointer($0) }
    }
}

/// A LoRA adapter: low-rank updates for some projections of some blocks, scaled by alpha / rank.
/// Immutable once built and shared by every request that uses it.
public final class LoRAAdapter: @unchecked Sendable {
    /// Adapters numbered in the order they were built. A row's adapters are applied in this order (see
    /// `LoRABatchPlan`), so a process that builds its adapters in the same order (loading a directory at start,
    /// a test) sums them in the same order and gives bit-identical results from one run to the next.
    let serial: UInt64
    private static let nextSerial = Atomic<UInt64>(0)
    public let rank: Int
    public let alpha: Float
    public let matrices: [LoRATarget: LoRAMatrices]
    /// [layerCount × 7] the matrices by layer and projection index, for the forward pass.
    let projections: UnsafeMutablePointer<ProjectionPointers>
    let layerCount: Int

    public var scaling: Float { alpha / Float(rank) }
    /// The matrices by layer, then projection: a fixed order to fill or read them in (a dictionary's order
    /// changes from one process to the next, so filling `matrices.values` from a seeded generator is not
    /// reproducible).
    public var orderedMatrices: [(target: LoRATarget, matrices: LoRAMatrices)] {
        matrices.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
    public var parameterCount: Int { matrices.values.reduce(0) { $0 + $1.parameterCount } }

    /// Makes the forward pass read 8-bit copies of every matrix (see `LoRAMatrices.servedA`), all in one region on
    /// huge pages, by layer and projection: the order a forward pass reads them in. The registry calls it before a
    /// version serves; an adapter used directly stays in F32. Not thread-safe.
    public func prepareForServing() {
        let unprepared = orderedMatrices.map(\.matrices).filter { $0.servedA == nil && $0.servingBytes != nil }
        if !unprepared.isEmpty {
            let region = PageRegion(bytes: PageRegion.bytesNeeded(for: unprepared.flatMap { $0.servingBytes! }))
            for m in unprepared { m.prepareForServing(in: region) }
            servingRegion = region
        }
        fillProjections()
    }

    /// The region holding the serving copies (nil before `prepareForServing`, or when no matrix has them).
    public private(set) var servingRegion: PageRegion?

    public init(rank: Int, alpha: Float, matrices: [LoRATarget: LoRAMatrices], layerCount: Int) {
        serial = Self.nextSerial.wrappingAdd(1, ordering: .relaxed).oldValue
        self.rank = rank
        self.alpha = alpha
        self.matrices = matrices
        self.layerCount = layerCount
        projections = .allocate(capacity: max(1, layerCount * Projection.indexCount))
        projections.initialize(repeating: ProjectionPointers(), count: max(1, layerCount * Projection.indexCount))
        fillProjections()
    }

    deinit { projections.deallocate() }

    private func fillProjections() {
        for (target, m) in matrices where target.layer < layerCount {
            projections[target.layer * Projection.indexCount + target.projection.index] = ProjectionPointers(m)
        }
    }

    /// The pointers of block `layer`'s projection `projection` (an index, see `Projection.index`).
    @inline(__always)
    func projection(layer: Int, _ projection: Int) -> ProjectionPointers {
        projections[layer * Projection.indexCount + projection]
    }

    /// A new adapter for `config`'s projections: A drawn uniformly in ±1/√inputs from `seed`, B zero,
    /// so it starts as exactly the base model (the usual LoRA initialisation).
    public static func initialised(config: ModelConfig, rank: Int, alpha: Float, projections: [Projection],
                                   layers: Range<Int>? = nil, seed: UInt64) -> LoRAAdapter {
        var state = seed
        func uniform() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(z >> 40) / Float(1 << 24) * 2 - 1
        }
        var matrices = [LoRATarget: LoRAMatrices]()
        for layer in layers ?? 0..<config.blockCount {
            for p in projections {
                let (outputs, inputs) = config.projectionShape(p)
                let m = LoRAMatrices(rank: rank, inputs: inputs, outputs: outputs)
                let bound = 1 / Float(inputs).squareRoot()
                for i in 0..<(rank * inputs) { m.a[i] = uniform() * bound }
                matrices[LoRATarget(layer: layer, projection: p)] = m
            }
        }
        return LoRAAdapter(rank: rank, alpha: alpha, matrices: matrices, layerCount: config.blockCount)
    }
}

/// One adapter in a row's mixture, with the weight the trade-off gave it.
public struct AdapterTerm: Sendable {
    public let adapter: LoRAAdapter
    public let scale: Float
    public init(adapter: LoRAAdapter, scale: Float) {
        self.adapter = adapter
        self.scale = scale
    }
}

/// Projections in the order a block applies them (q, k, v, output, gate, up, down), so that a range names the
/// ones that share an input (q...v, gate...up).
extension Projection: Comparable {
    public static func < (a: Projection, b: Projection) -> Bool { a.index < b.index }
}

extension Projection {
    /// How many projections there are: the range of `index`.
    static let indexCount = 7

    /// A block's projections grouped by the input they share, in the order the block applies them. A group's first
    /// product computes the LoRA A x of the whole group as its prologue (`TransformerModel.project`).
    static let inputGroups: [ClosedRange<Projection>] = [.query ... .value, .output ... .output, .gate ... .up, .down ... .down]

    var index: Int {
        switch self {
        case .query: return 0
        case .key: return 1
        case .value: return 2
        case .output: return 3
        case .gate: return 4
        case .up: return 5
        case .down: return 6
        }
    }
}

extension ModelConfig {
    /// (outputs, inputs) of a block's projection.
    public func projectionShape(_ p: Projection) -> (outputs: Int, inputs: Int) {
        switch p {
        case .query: return (queryDim, embeddingLength)
        case .key: return (kvDim, embeddingLength)
        case .value: return (kvValueDim, embeddingLength)
        case .output: return (embeddingLength, headCount * valueDim)
        case .gate, .up: return (feedForwardLength, embeddingLength)
        case .down: return (embeddingLength, feedForwardLength)
        }
    }
}
