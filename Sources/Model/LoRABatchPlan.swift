import Kernels

/// The adapter mixtures of one forward pass, grouped by adapter so that each adapter's A and B are read from
/// memory once per pass for every row that uses it (rows of different mixtures share the pass).
///
/// Each row's result is the same arithmetic whatever else is in the batch: t = scale · (A x_r) one dot per rank
/// component, then y_r[o] += B[o] · t adapter by adapter in a fixed order (the order the adapters were built in,
/// `LoRAAdapter.serial`, not their order in the batch), with the same operations per output however many rows
/// share B's pass. Batching never changes a row's output.
///
/// The two phases run inside each of the pass's 210 or so products (`TransformerModel.project`), so what they read
/// per product is laid out once here in flat buffers of plain values: the loops touch no reference counts.
final class LoRABatchPlan {
    /// Distinct adapters, ordered by serial (the same order in every batch they appear in). Held for the
    /// pass: the pointers below point into them.
    let adapters: [LoRAAdapter]

    /// One row's term for one adapter: t[offset..<offset + rank] = scale · A x_row, scale including α / r.
    private struct Use {
        var row: Int
        var scale: Float
        var offset: Int
    }

    /// What phase one runs on: the projections `prepareDown` set up.
    private struct Current {
        var layer = 0
        var projections = 0..<0
        var inputs = 0
        var x: UnsafePointer<Float>?
        var xq: UnsafeRawPointer?          // Q8_0 rows of x (rows with terms only), nil if no A is 8-bit
        var quantizedX: UnsafeMutableRawPointer?
        var quantizedXBytes = 0
        /// Phase one's work, the (projection, task) items projection-major, cut into this many contiguous parts.
        var itemCount = 0
        var partCount = 0
    }

    private let slotCount: Int
    private let layerCount: Int
    /// [S] each adapter's projection table (`LoRAAdapter.projections`).
    private let tables: UnsafeMutablePointer<UnsafeMutablePointer<ProjectionPointers>>
    /// Adapter s's uses are uses[useStart[s]..<useStart[s + 1]], in row order.
    private let uses: UnsafeMutablePointer<Use>
    private let useStart: UnsafeMutablePointer<Int>           // [S + 1]
    /// Phase-two passes over B: adapter s's are groupStart[s]..<groupStart[s + 1], each with up to four distinct
    /// rows: their t offsets groupT[4g..<4g + size] and row indices groupRows[4g..<4g + size].
    private let groupStart: UnsafeMutablePointer<Int>         // [S + 1]
    private let groupSize: UnsafeMutablePointer<Int>          // [G]
    private let groupT: UnsafeMutablePointer<Int>             // [G × 4]
    private let groupRows: UnsafeMutablePointer<Int>          // [G × 4]
    /// Phase-one work items per projection: (adapter, rank components first..<end), up to eight components each.
    private let tasks: UnsafeMutablePointer<(slot: Int, first: Int, end: Int)>
    private let taskCount: Int
    /// Rows with at least one term, ascending (they are the rows phase one quantises).
    private let adaptedRows: UnsafeMutablePointer<Int>
    private let adaptedRowCount: Int
    /// t for every projection and (row, term): [7 × tCount], rank floats per term. A product's prologue may
    /// compute the t of the projections after it that share its input, so each projection keeps its own.
    private let t: UnsafeMutablePointer<Float>
    private let tCount: Int
    private let current: UnsafeMutablePointer<Current>

    init?(_ batch: ForwardBatch) {
        guard batch.adapters.contains(where: { !$0.isEmpty }) else { return nil }
        var distinct: [ObjectIdentifier: LoRAAdapter] = [:]
        for mixture in batch.adapters { for term in mixture { distinct[ObjectIdentifier(term.adapter)] = term.adapter } }
        adapters = distinct.values.sorted { $0.serial < $1.serial }
        let slotOf = Dictionary(uniqueKeysWithValues: adapters.enumerated().map { (ObjectIdentifier($1), $0) })
        slotCount = adapters.count
        layerCount = adapters.map(\.layerCount).min() ?? 0

        var usesBySlot = [[Use]](repeating: [], count: slotCount)
        var tCount = 0
        var rowsWithTerms: [Int] = []
        for (r, mixture) in batch.adapters.enumerated() where !mixture.isEmpty {
            rowsWithTerms.append(r)
            for term in mixture {
                usesBySlot[slotOf[ObjectIdentifier(term.adapter)]!].append(
                    Use(row: r, scale: term.scale * term.adapter.scaling, offset: tCount))
                tCount += term.adapter.rank
            }
        }
        self.tCount = tCount
        t = .allocate(capacity: max(1, Projection.indexCount * tCount))
        t.initialize(repeating: 0, count: max(1, Projection.indexCount * tCount))

        tables = .allocate(capacity: slotCount)
        for (s, adapter) in adapters.enumerated() { tables[s] = adapter.projections }
        uses = .allocate(capacity: usesBySlot.reduce(0) { $0 + $1.count })
        useStart = .allocate(capacity: slotCount + 1)
        // A row that lists one adapter twice gets its second term in a later group, after the first.
        var groupsBySlot: [[[Use]]] = usesBySlot.map { slotUses in
            var groups: [[Use]] = []
            for use in slotUses {
                if let last = groups.indices.last, groups[last].count < 4, !groups[last].contains(where: { $0.row == use.row }) {
                    groups[last].append(use)
                } else {
                    groups.append([use])
                }
            }
            return groups
        }
        let groupCount = groupsBySlot.reduce(0) { $0 + $1.count }
        groupStart = .allocate(capacity: slotCount + 1)
        groupSize = .allocate(capacity: max(1, groupCount))
        groupT = .allocate(capacity: max(1, groupCount) * 4)
        groupRows = .allocate(capacity: max(1, groupCount) * 4)
        var u = 0, g = 0
        for s in 0..<slotCount {
            useStart[s] = u
            for use in usesBySlot[s] { (uses + u).initialize(to: use); u += 1 }
            groupStart[s] = g
            for group in groupsBySlot[s] {
                groupSize[g] = group.count
                for i in 0..<4 {
                    let use = group[min(i, group.count - 1)]   // unused lanes repeat the last row; never written
                    groupT[4 * g + i] = use.offset
                    groupRows[4 * g + i] = use.row
                }
                g += 1
            }
        }
        useStart[slotCount] = u
        groupStart[slotCount] = g
        groupsBySlot.removeAll()

        let taskList = adapters.enumerated().flatMap { slot, adapter in
            stride(from: 0, to: adapter.rank, by: 8).map { (slot: slot, first: $0, end: min(adapter.rank, $0 + 8)) }
        }
        taskCount = taskList.count
        tasks = .allocate(capacity: max(1, taskCount))
        tasks.initialize(from: taskList, count: taskCount)
        adaptedRowCount = rowsWithTerms.count
        adaptedRows = .allocate(capacity: max(1, adaptedRowCount))
        adaptedRows.initialize(from: rowsWithTerms, count: adaptedRowCount)
        current = .allocate(capacity: 1)
        current.initialize(to: Current())
    }

    deinit {
        current.pointee.quantizedX?.deallocate()
        current.deallocate()
        t.deallocate()
        tables.deallocate()
        uses.deallocate()
        useStart.deallocate()
        groupStart.deallocate()
        groupSize.deallocate()
        groupT.deallocate()
        groupRows.deallocate()
        tasks.deallocate()
        adaptedRows.deallocate()
    }

    /// Sets up phase one for block `layer`'s `projections` (consecutive indices that share the input x; quantises
    /// x's adapted rows once to Q8_0 when an A is 8-bit) and returns its number of parts, at most `parts`; the parts
    /// then run as the base product's prologue (`multiplyDown(part:)`), so that the later products of the range need
    /// none. A part per thread for a decode step: each prologue task the pool hands out costs a claim on its shared
    /// ticket and the work is short (docs/benchmarks-history.md, 2026-11-30, eff2887).
    func prepareDown(layer: Int, projections: Range<Int>, inputs: Int, x: UnsafePointer<Float>, parts: Int) -> Int {
        var state = current.pointee
        state.layer = layer
        state.projections = projections
        state.inputs = inputs
        state.x = x
        state.xq = nil
        let quantisedA = projections.contains { p in
            (0..<slotCount).contains { tables[$0][layer * Projection.indexCount + p].servedA != nil }
        }
        if quantisedA {
            let rowBytes = LowRank.q8_0RowBytes(inputs), rows = adaptedRows[adaptedRowCount - 1] + 1
            if state.quantizedXBytes < rows * rowBytes {
                state.quantizedX?.deallocate()
                state.quantizedX = .allocate(byteCount: rows * rowBytes, alignment: 64)
                state.quantizedXBytes = rows * rowBytes
            }
            for i in 0..<adaptedRowCount {
                let r = adaptedRows[i]
                ActivationQuant.quantizeQ8_0(x + r * inputs, into: state.quantizedX! + r * rowBytes, count: inputs)
            }
            state.xq = UnsafeRawPointer(state.quantizedX)
        }
        state.itemCount = taskCount * projections.count
        state.partCount = max(1, min(parts, state.itemCount))
        current.pointee = state
        return state.itemCount > 0 ? state.partCount : 0
    }

    /// Phase one, part `part` of `prepareDown`'s: its contiguous run of items.
    func multiplyDown(part: Int) {
        let state = current.pointee
        let items = state.itemCount, parts = state.partCount
        for item in (part * items / parts)..<((part + 1) * items / parts) { multiplyDown(item: item, state) }
    }

    /// Phase one, item `item`: t = scale · A x_r for one projection's adapter's rank components, for every row
    /// using it.
    private func multiplyDown(item: Int, _ state: Current) {
        guard let x = state.x else { return }
        let projection = state.projections.lowerBound + item / taskCount
        let (slot, first, end) = tasks[item % taskCount]
        let m = tables[slot][state.layer * Projection.indexCount + projection]
        let t = self.t + projection * tCount
        let inputs = state.inputs
        let u = useStart[slot], uEnd = useStart[slot + 1]
        guard m.rank > 0 else {
            for i in u..<uEnd { for k in first..<end { t[uses[i].offset + k] = 0 } }
            return
        }
        if let qa = m.servedA, let xq = state.xq {
            // Rows one at a time (a group of A's rows stays in L1 for the next row): the same operations per row
            // whatever the batch. Tasks start at multiples of 8, so k is a group's first row.
            let rowBytes = LowRank.q8_0RowBytes(inputs)
            var dots: (Float, Float, Float, Float) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &dots) { raw in
                let out = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                for i in u..<uEnd {
                    let use = uses[i]
                    for k in stride(from: first, to: end, by: 4) {
                        let count = LowRank.dotInterleavedA(qa, group: k / 4, rank: m.rank, inputs: inputs,
                                                            xq + use.row * rowBytes, into: out)
                        for j in 0..<count { t[use.offset + k + j] = out[j] * use.scale }
                    }
                }
            }
        } else if let a = m.a {
            for i in u..<uEnd {
                let use = uses[i]
                for k in first..<end { t[use.offset + k] = VectorOps.dot(a + k * inputs, x + use.row * inputs, inputs) * use.scale }
            }
        }
    }

    /// What to bring into cache while block `layer`'s product `projection` computes its base rows `columns`: the
    /// B blocks its epilogue reads for them; and, when the next product starts an input group, `share` of the A
    /// that group's prologue reads (`Kernels/Lookahead.swift`).
    func lookahead(layer: Int, projection: Projection, columns: Range<Int>, share: MatMul.Share?,
                   into ahead: inout Lookahead) {
        let p = projection.index, block = LowRank.blockSize
        for slot in 0..<slotCount {
            let m = tables[slot][layer * Projection.indexCount + p]
            guard m.rank > 0, let bq = m.servedB else { continue }
            let first = columns.lowerBound / block, end = (columns.upperBound + block - 1) / block
            ahead.add(UnsafeRawPointer(bq + first * m.rank * block), bytes: (end - first) * m.rank * block)
            if let scales = m.servedBScales {
                ahead.add(UnsafeRawPointer(scales + first * m.rank), bytes: (end - first) * m.rank * MemoryLayout<Float>.stride)
            }
        }
        guard let share, let next = Self.nextGroup(after: projection, layer: layer, layerCount: layerCount) else { return }
        // The group's A, all slots and projections, as one sequence of bytes cut into `share.count` parts.
        var total = 0
        for slot in 0..<slotCount {
            for q in next.projections { total += aBytes(tables[slot][next.layer * Projection.indexCount + q]) }
        }
        let from = total * share.index / share.count, to = total * (share.index + 1) / share.count
        var offset = 0
        for slot in 0..<slotCount {
            for q in next.projections {
                let m = tables[slot][next.layer * Projection.indexCount + q]
                let bytes = aBytes(m)
                if let a = m.servedA, offset + bytes > from, offset < to {
                    let lo = max(from, offset) - offset, hi = min(to, offset + bytes) - offset
                    ahead.add(a + lo, bytes: hi - lo)
                }
                offset += bytes
            }
        }
    }

    private func aBytes(_ m: ProjectionPointers) -> Int {
        m.rank > 0 && m.servedA != nil ? m.rank * LowRank.q8_0RowBytes(m.inputs) : 0
    }

    /// The input group (projection indices) whose prologue runs right after `projection`'s product, if that product
    /// ends its group.
    static func nextGroup(after projection: Projection, layer: Int, layerCount: Int)
        -> (layer: Int, projections: ClosedRange<Int>)? {
        let groups = Projection.inputGroups
        guard let g = groups.firstIndex(where: { $0.upperBound == projection }) else { return nil }
        let next = g + 1 < groups.count ? (layer, groups[g + 1]) : (layer + 1, groups[0])
        guard next.0 < layerCount else { return nil }
        return (next.0, next.1.lowerBound.index...next.1.upperBound.index)
    }

    /// Phase two, as the base product's epilogue: y_r[o] += Σ_k t[k] · B[o, k] for o in `columns`, every row;
    /// adapter by adapter, up to four rows per pass over B.
    func addUp(layer: Int, projection: Int, outputs: Int, y: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        let t = UnsafePointer(self.t + projection * tCount)
        for slot in 0..<slotCount {
            let m = tables[slot][layer * Projection.indexCount + projection]
            guard m.rank > 0 else { continue }
            for g in groupStart[slot]..<groupStart[slot + 1] {
                let rows = groupRows + 4 * g
                if let bq = m.servedB, let scales = m.servedBScales {
                    let offsets = groupT + 4 * g
                    var ys = (y + rows[0] * outputs, y + rows[1] * outputs, y + rows[2] * outputs, y + rows[3] * outputs)
                    var ts = (t + offsets[0], t + offsets[1], t + offsets[2], t + offsets[3])
                    withUnsafeBytes(of: &ts) { tRaw in
                        withUnsafeBytes(of: &ys) { yRaw in
                            LowRank.addProduct(bq, scales: scales, rank: m.rank, rows: groupSize[g],
                                               t: tRaw.baseAddress!.assumingMemoryBound(to: UnsafePointer<Float>.self),
                                               into: yRaw.baseAddress!.assumingMemoryBound(to: UnsafeMutablePointer<Float>.self),
                                               columns: columns)
                        }
                    }
                } else if let b = m.b {
                    for i in 0..<groupSize[g] {
                        let yr = y + rows[i] * outputs, tr = t + groupT[4 * g + i]
                        for o in columns { yr[o] += VectorOps.dot(b + o * m.rank, tr, m.rank) }
                    }
                }
            }
        }
    }
}
