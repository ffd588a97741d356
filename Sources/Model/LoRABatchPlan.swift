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
    /// Phase-one tasks: (adapter, rank component), one row of A each.
    let tasks: [(slot: Int, component: Int)]
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
        tasks = adapters.enumerated().flatMap { slot, adapter in (0..<adapter.rank).map { (slot, $0) } }
        tCount = max(1, offset)
        t = .allocate(capacity: tCount)
        t.initialize(repeating: 0, count: tCount)
    }

    deinit { t.deallocate() }

    /// Multiply-adds below which phase one runs on the calling thread.
    static let serialWorkLimit = 1 << 16

    /// Σ h[i] · x[i] with F16 weights, converted eight at a time (F16C) and accumulated in F32.
    @inline(__always)
    static func dot(_ h: UnsafePointer<Float16>, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        let rh = UnsafeRawPointer(h), rx = UnsafeRawPointer(x)
        while i + 16 <= n {
            acc0.addProduct(SIMD8<Float>(rh.loadUnaligned(fromByteOffset: i * 2, as: SIMD8<Float16>.self)),
                            rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
            acc1.addProduct(SIMD8<Float>(rh.loadUnaligned(fromByteOffset: i * 2 + 16, as: SIMD8<Float16>.self)),
                            rx.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self))
            i += 16
        }
        var s = (acc0 + acc1).sum()
        while i < n { s += Float(h[i]) * x[i]; i += 1 }
        return s
    }

    /// y[R × out] += each row's Σ_j scale_j · B_j (A_j x_r) for block `layer`'s `projection`.
    func apply(layer: Int, projection: Int, inputs: Int, outputs: Int,
               x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
        // Phase one: t = scale · A x_r, one row of A per task, applied to every row that uses its adapter. At batch 1
        // this is a few µs of work, less than handing it to the other threads costs: then the caller does it alone.
        let work = users.enumerated().reduce(0) { $0 + $1.element.count * adapters[$1.offset].rank * inputs }
        let phaseOne = work < Self.serialWorkLimit ? ThreadPool.serial : pool
        phaseOne.parallelFor(tasks.count) { task in
            let (slot, k) = tasks[task]
            let a = adapters[slot].byLayer[layer][projection]
            for (r, i) in users[slot] {
                let term = rowTerms[r][i]
                guard let a else { t[term.offset + k] = 0; continue }
                let dot = a.halfA.map { Self.dot($0 + k * inputs, x + r * inputs, inputs) }
                    ?? VectorOps.dot(a.a + k * inputs, x + r * inputs, inputs)
                t[term.offset + k] = dot * term.scale
            }
        }
        // Phase two: y_r[o] += B[o] · t over chunks of outputs; each chunk of B is read once for all rows.
        let chunks = min(outputs, pool.threadCount * 4)
        pool.parallelFor(chunks) { chunk in
            let lo = outputs * chunk / chunks, hi = outputs * (chunk + 1) / chunks
            for (r, terms) in rowTerms.enumerated() where !terms.isEmpty {
                let yr = y + r * outputs
                for term in terms {
                    guard let m = adapters[term.slot].byLayer[layer][projection] else { continue }
                    let tr = t + term.offset
                    if let hb = m.halfB {
                        for o in lo..<hi { yr[o] += Self.dot(hb + o * m.rank, tr, m.rank) }
                    } else {
                        for o in lo..<hi { yr[o] += VectorOps.dot(m.b + o * m.rank, tr, m.rank) }
                    }
                }
            }
        }
    }
}
