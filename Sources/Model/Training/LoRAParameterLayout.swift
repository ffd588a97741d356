/// Where each LoRA matrix of an adapter sits in one flat parameter vector (the optimiser's view).
///
/// Order (stable): layers ascending; within a layer the projections in `Projection.allCases` order
/// (attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down), only those the adapter targets; for each,
/// A [rank × inputs] row-major, then B [outputs × rank] row-major. Gradients use the same layout.
public struct LoRAParameterLayout: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let target: LoRATarget
        public let inputs: Int
        public let outputs: Int
        /// Offset of A [rank × inputs]; B [outputs × rank] follows at `bOffset`.
        public let aOffset: Int
        public let bOffset: Int
    }

    public let rank: Int
    public let alpha: Float
    public let entries: [Entry]
    /// Total number of parameters.
    public let count: Int
    /// entries index by [layer][projection index].
    let table: [[Int?]]

    /// alpha / rank, the factor on B·A.
    public var scaling: Float { alpha / Float(rank) }

    /// The layout of `adapter`'s matrices (every matrix must have the adapter's rank).
    public init(adapter: LoRAAdapter) {
        let shapes = adapter.matrices.map { (target: $0.key, inputs: $0.value.inputs, outputs: $0.value.outputs) }
        precondition(adapter.matrices.values.allSatisfy { $0.rank == adapter.rank }, "mixed ranks in one adapter")
        self.init(rank: adapter.rank, alpha: adapter.alpha, shapes: shapes)
    }

    /// The layout of a fresh adapter on `projections` of `layers` (all layers when nil).
    public init(config: ModelConfig, rank: Int, alpha: Float, projections: [Projection], layers: Range<Int>? = nil) {
        var shapes = [(target: LoRATarget, inputs: Int, outputs: Int)]()
        for layer in layers ?? 0..<config.blockCount {
            for p in projections {
                let (outputs, inputs) = config.projectionShape(p)
                shapes.append((LoRATarget(layer: layer, projection: p), inputs, outputs))
            }
        }
        self.init(rank: rank, alpha: alpha, shapes: shapes)
    }

    init(rank: Int, alpha: Float, shapes: [(target: LoRATarget, inputs: Int, outputs: Int)]) {
        precondition(rank > 0, "LoRA rank must be positive")
        self.rank = rank
        self.alpha = alpha
        let sorted = shapes.sorted {
            ($0.target.layer, $0.target.projection.index) < ($1.target.layer, $1.target.projection.index)
        }
        var entries = [Entry](), offset = 0
        for s in sorted {
            entries.append(Entry(target: s.target, inputs: s.inputs, outputs: s.outputs,
                                 aOffset: offset, bOffset: offset + rank * s.inputs))
            offset += rank * (s.inputs + s.outputs)
        }
        self.entries = entries
        count = offset
        var table = [[Int?]](repeating: [Int?](repeating: nil, count: Projection.allCases.count),
                             count: (sorted.last?.target.layer ?? -1) + 1)
        for (i, e) in entries.enumerated() { table[e.target.layer][e.target.projection.index] = i }
        self.table = table
    }

    /// The entry of one projection of one layer, nil when the adapter leaves it alone.
    public func entry(layer: Int, projection: Projection) -> Entry? {
        guard layer < table.count, let i = table[layer][projection.index] else { return nil }
        return entries[i]
    }

    /// The adapter's A and B values in this layout.
    public func flatten(_ adapter: LoRAAdapter) -> [Float] {
        var flat = [Float](repeating: 0, count: count)
        flat.withUnsafeMutableBufferPointer { out in
            for e in entries {
                let m = matrices(of: adapter, e)
                (out.baseAddress! + e.aOffset).update(from: m.a, count: rank * e.inputs)
                (out.baseAddress! + e.bOffset).update(from: m.b, count: e.outputs * rank)
            }
        }
        return flat
    }

    /// Writes `flat` into the adapter's A and B (which must have this layout). Do not assign to an adapter that
    /// a forward pass is reading.
    public func assign(_ flat: [Float], to adapter: LoRAAdapter) {
        precondition(flat.count == count, "flat vector has \(flat.count) values, layout needs \(count)")
        flat.withUnsafeBufferPointer { src in
            for e in entries {
                let m = matrices(of: adapter, e)
                m.a.update(from: src.baseAddress! + e.aOffset, count: rank * e.inputs)
                m.b.update(from: src.baseAddress! + e.bOffset, count: e.outputs * rank)
            }
        }
    }

    /// A new adapter holding `flat`.
    public func makeAdapter(_ flat: [Float], layerCount: Int) -> LoRAAdapter {
        var matrices = [LoRATarget: LoRAMatrices]()
        for e in entries { matrices[e.target] = LoRAMatrices(rank: rank, inputs: e.inputs, outputs: e.outputs) }
        let adapter = LoRAAdapter(rank: rank, alpha: alpha, matrices: matrices, layerCount: layerCount)
        assign(flat, to: adapter)
        return adapter
    }

    private func matrices(of adapter: LoRAAdapter, _ e: Entry) -> LoRAMatrices {
        guard let m = adapter.matrices[e.target], m.rank == rank, m.inputs == e.inputs, m.outputs == e.outputs else {
            preconditionFailure("adapter does not match the layout at \(e.target)")
        }
        return m
    }
}
