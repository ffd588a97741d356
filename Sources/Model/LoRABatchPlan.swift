import Kernels

/// The adapter mixtures of one forward pass, grouped by adapter so that each adapter's A and B are read from
/// memory once per pass for every row that uses it (rows of different mixtures share the pass).
///
/// Each row's result is the same arithmetic whatever else is in the batch: t = scale · (A x_r) one dot per rank
/// component, then y_r[o] += B[o] · t adapter by adapter in a fixed order (the adapters' object identities, not
/// their order in the batch), with the same operations per output however many rows share B's pass. Batching
/// never changes a row's output.
final class LoRABatchPlan {
    /// Distinct adapters, ordered by object identity (the same order in every batch they appear in).
    let adapters: [LoRAAdapter]
    /// [R] each row's terms: (index into `adapters`, scale · α/r, offset of its t in `t`).
    let rowTerms: [[(slot: Int, scale: Float, offset: Int)]]
    /// Per adapter: the (row, term index) pairs that use it, by row.
    let users: [[(row: Int, term: Int)]]
    /// Per adapter: its users in groups of up to four distinct rows, applied in this order by phase two.
    let groups: [[[(row: Int, offset: Int)]]]
    /// Phase-one tasks: (adapter, rank components), up to eight rows of A each.
    let tasks: [(slot: Int, components: Range<Int>)]
    /// t for every (row, term): rank floats each.
    let t: UnsafeMutablePointer<Float>

    init?(_ batch: ForwardBatch) {
        guard batch.adapters.contains(where: { !$0.isEmpty }) else { return nil }
        var distinct: [ObjectIdentifier: LoRAAdapter] = [:]
        for mixture in batch.adapters { for term in mixture { distinct[ObjectIdentifier(term.adapter)] = term.adapter } }
        let ordered = distinct.keys.sorted()
        let slotOf = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1, $0) })
        adapters = ordered.map { distinct[$0]! }
        var users = [[(row: Int, term: Int)]](repeating: [], count: adapters.count)
        var rowTerms: [[(slot: Int, scale: Float, offset: Int)]] = []
        var offset = 0
        for (r, mixture) in batch.adapters.enumerated() {
            var terms: [(slot: Int, scale: Float, offset: Int)] = []
            for (i, term) in mixture.enumerated() {
                let slot = slotOf[ObjectIdentifier(term.adapter)]!
                users[slot].append((r, i))
                terms.append((slot, term.scale * term.adapter.scaling, offset))
                offset += term.adapter.rank
            }
            rowTerms.append(terms)
        }
        self.users = users
        self.rowTerms = rowTerms
        // A row that lists one adapter twice gets its second term in a later group, after the first.
        groups = users.map { entries in
            var groups: [[(row: Int, offset: Int)]] = []
            for (r, i) in entries {
                let entry = (row: r, offset: rowTerms[r][i].offset)
                if let last = groups.indices.last, groups[last].count < 4, !groups[last].contains(where: { $0.row == r }) {
                    groups[last].append(entry)
                } else {
                    groups.append([entry])
                }
            }
            return groups
        }
        tasks = adapters.enumerated().flatMap { slot, adapter in
            stride(from: 0, to: adapter.rank, by: 8).map { (slot, $0..<min(adapter.rank, $0 + 8)) }
        }
        t = .allocate(capacity: max(1, offset))
        t.initialize(repeating: 0, count: max(1, offset))
    }

    deinit {
        t.deallocate()
        quantizedX?.deallocate()
    }

    /// Q8_0 copies of the rows of x that have adapter terms, for the 8-bit A rows: [R × Q8_0 row of inputs].
    private var quantizedX: UnsafeMutableRawPointer?
    private var quantizedXBytes = 0

    private func quantizedRows(_ x: UnsafePointer<Float>, inputs: Int) -> UnsafeMutableRawPointer {
        let rowBytes = LowRank.q8_0RowBytes(inputs), bytes = rowTerms.count * rowBytes
        if quantizedXBytes < bytes {
            quantizedX?.deallocate()
            quantizedX = .allocate(byteCount: bytes, alignment: 64)
            quantizedXBytes = bytes
        }
        let xq = quantizedX!
        for (r, terms) in rowTerms.enumerated() where !terms.isEmpty {
            ActivationQuant.quantizeQ8_0(x + r * inputs, into: xq + r * rowBytes, count: inputs)
        }
        return xq
    }

    /// The projection phase one is set up for (by `prepareDown`): its matrices per adapter, its input.
    private var current: (matrices: [LoRAMatrices?], inputs: Int, x: UnsafePointer<Float>,
                          xq: UnsafeMutableRawPointer?)?

    /// Sets up phase one for block `layer`'s `projection` (quantises x once for the 8-bit A rows) and returns
    /// its task count; the tasks then run as the base product's prologue (`multiplyDown(task:)`).
    func prepareDown(layer: Int, projection: Int, inputs: Int, x: UnsafePointer<Float>) -> Int {
        let matrices = adapters.map { $0.byLayer[layer][projection] }
        let xq = matrices.contains { $0?.servedA != nil } ? quantizedRows(x, inputs: inputs) : nil
        current = (matrices, inputs, x, xq)
        return tasks.count
    }

    /// Phase one, task `task`: t = scale · A x_r for its adapter's rank components, for every row using it.
    func multiplyDown(task: Int) {
        guard let (matrices, inputs, x, xq) = current else { return }
        let rowBytes = LowRank.q8_0RowBytes(inputs), blocks = inputs / LowRank.blockSize
        let (slot, components) = tasks[task]
        let a = matrices[slot]
        for (r, i) in users[slot] {
            let term = rowTerms[r][i]
            for k in components {
                guard let a else { t[term.offset + k] = 0; continue }
                let dot: Float
                if let qa = a.servedA, let xq {
                    dot = LowRank.dotQ8_0(qa + k * rowBytes, xq + r * rowBytes, blocks: blocks)
                } else {
                    dot = VectorOps.dot(a.a + k * inputs, x + r * inputs, inputs)
                }
                t[term.offset + k] = dot * term.scale
            }
        }
    }

    /// Phase two, as the base product's epilogue: y_r[o] += Σ_k t[k] · B[o, k] for o in `columns`, every row;
    /// adapter by adapter, up to four rows per pass over B.
    func addUp(layer: Int, projection: Int, outputs: Int, y: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        for (slot, adapter) in adapters.enumerated() {
            guard let m = adapter.byLayer[layer][projection] else { continue }
            for group in groups[slot] {
                if let bq = m.servedB, let scales = m.servedBScales {
                    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: 4) { ts in
                        withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<Float>.self, capacity: 4) { ys in
                            for (i, user) in group.enumerated() {
                                ts[i] = UnsafePointer(t + user.offset)
                                ys[i] = y + user.row * outputs
                            }
                            LowRank.addProduct(bq, scales: scales, rank: m.rank, rows: group.count,
                                               t: UnsafePointer(ts.baseAddress!), into: UnsafePointer(ys.baseAddress!),
                                               columns: columns)
                        }
                    }
                } else {
                    for user in group {
                        let yr = y + user.row * outputs, tr = t + user.offset
                        for o in columns { yr[o] += VectorOps.dot(m.b + o * m.rank, tr, m.rank) }
                    }
                }
            }
        }
    }
}
