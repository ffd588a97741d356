import Kernels

/// The adapter mixtures of one forward pass, grouped by adapter so that each adapter's A and B are read from
/// memory once per pass for every row that uses it (rows of different mixtures share the pass).
///
/// Each row's result is the same arithmetic whatever else is in the batch: t = scale · (A x_r) one dot per rank
/// component, then y_r[o] += B[o] · t term by term in the row's order. Batching never changes a row's output.
final class LoRABatchPlan {
    /// Distinct adapters, in order of first use.
    let adapters: [LoRAAdapter]
    /// [R] each row's terms: (index into `adapters`, scale · α/r, offset of its t in `t`).
    let rowTerms: [[(slot: Int, scale: Float, offset: Int)]]
    /// Per adapter: the (row, term index) pairs that use it.
    let users: [[(row: Int, term: Int)]]
    /// Phase-one tasks: (adapter, rank components), up to eight rows of A each.
    let tasks: [(slot: Int, components: Range<Int>)]
    /// t for every (row, term): rank floats each.
    let t: UnsafeMutablePointer<Float>
    let tCount: Int

    init?(_ batch: ForwardBatch) {
        guard batch.adapters.contains(where: { !$0.isEmpty }) else { return nil }
        var adapters: [LoRAAdapter] = []
        var slotOf: [ObjectIdentifier: Int] = [:]
        var users: [[(row: Int, term: Int)]] = []
        var rowTerms: [[(slot: Int, scale: Float, offset: Int)]] = []
        var offset = 0
        for (r, mixture) in batch.adapters.enumerated() {
            var terms: [(slot: Int, scale: Float, offset: Int)] = []
            for (i, term) in mixture.enumerated() {
                let id = ObjectIdentifier(term.adapter)
                let slot: Int
                if let known = slotOf[id] { slot = known } else {
                    slot = adapters.count
                    slotOf[id] = slot
                    adapters.append(term.adapter)
                    users.append([])
                }
                users[slot].append((r, i))
                terms.append((slot, term.scale * term.adapter.scaling, offset))
                offset += term.adapter.rank
            }
            rowTerms.append(terms)
        }
        self.adapters = adapters
        self.users = users
        self.rowTerms = rowTerms
        tasks = adapters.enumerated().flatMap { slot, adapter in
            stride(from: 0, to: adapter.rank, by: 8).map { (slot, $0..<min(adapter.rank, $0 + 8)) }
        }
        tCount = max(1, offset)
        t = .allocate(capacity: tCount)
        t.initialize(repeating: 0, count: tCount)
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

    /// Phase two, as the base product's epilogue: y_r[o] += Σ_k t[k] · B[o, k] for o in `columns`, every row.
    /// Per output the arithmetic is the same in the same order (term by term, k = 0, 1, …) whatever the
    /// chunking or the batch, so a row's result does not depend on what it is batched with.
    func addUp(layer: Int, projection: Int, outputs: Int, y: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        for (r, terms) in rowTerms.enumerated() where !terms.isEmpty {
            let yr = y + r * outputs
            for term in terms {
                guard let m = adapters[term.slot].byLayer[layer][projection] else { continue }
                let tr = t + term.offset
                if let bq = m.servedB, let scales = m.servedBScales {
                    LowRank.addProduct(bq, scales: scales, rank: m.rank, t: tr, into: yr, columns: columns)
                } else {
                    for o in columns { yr[o] += VectorOps.dot(m.b + o * m.rank, tr, m.rank) }
                }
            }
        }
    }
}
