import Testing
@testable import Kernels

/// The 8-bit LoRA serving kernels: the blocked B layout against its definition, the SIMD product against the
/// scalar reference over ranges that start and end anywhere, and Q8_0 A rows against the float dot.
@Suite struct LowRankTests {
    /// B [outputs × rank] with a different magnitude per column, so each block's scale matters.
    static func randomB(outputs: Int, rank: Int, _ rng: inout TestRandom) -> [Float] {
        var b = rng.floats(outputs * rank, scale: 0.1)
        for o in 0..<outputs { for k in 0..<rank { b[o * rank + k] *= Float(k + 1) } }
        return b
    }

    static func quantized(_ b: [Float], outputs: Int, rank: Int) -> (bq: [Int8], scales: [Float]) {
        let count = LowRank.blockedCount(outputs: outputs, rank: rank)
        var bq = [Int8](repeating: 99, count: count), scales = [Float](repeating: .nan, count: count / LowRank.blockSize)
        LowRank.quantizeBlocked(b, outputs: outputs, rank: rank, into: &bq, scales: &scales)
        return (bq, scales)
    }

    @Test(arguments: [(1, 1), (31, 3), (32, 16), (70, 5), (576, 16), (200, 64)])
    func blockedLayoutDecodesToB(outputs: Int, rank: Int) {
        var rng = TestRandom(seed: UInt64(outputs * 100 + rank))
        let b = Self.randomB(outputs: outputs, rank: rank, &rng)
        let (bq, scales) = Self.quantized(b, outputs: outputs, rank: rank)
        let blocks = (outputs + 31) / 32
        #expect(bq.count == blocks * rank * 32 && scales.count == blocks * rank)
        for o in 0..<outputs {
            for k in 0..<rank {
                let (j, i) = (o / 32, o % 32)
                let scale = scales[j * rank + k]
                let decoded = scale * Float(bq[(j * rank + k) * 32 + i])
                #expect(abs(decoded - b[o * rank + k]) <= scale * 0.5 + 1e-7, "o \(o) k \(k)")
            }
        }
        // Padding past the last output is zero, so a whole-block read adds nothing.
        for j in 0..<blocks { for k in 0..<rank { for i in 0..<32 where j * 32 + i >= outputs {
            #expect(bq[(j * rank + k) * 32 + i] == 0)
        } } }
    }

    @Test(arguments: [(576, 16), (192, 8), (1536, 16), (100, 3), (40, 64)])
    func simdProductEqualsTheScalarReference(outputs: Int, rank: Int) {
        var rng = TestRandom(seed: UInt64(outputs + rank))
        let (bq, scales) = Self.quantized(Self.randomB(outputs: outputs, rank: rank, &rng), outputs: outputs, rank: rank)
        let t = rng.floats(rank)
        let y0 = rng.floats(outputs)
        // Ranges starting and ending off the 8- and 32-boundaries, empty ones, and the whole row.
        var ranges: [Range<Int>] = [0..<outputs, 0..<0, 5..<5]
        for lower in [0, 1, 7, 8, 9, 31, 33] where lower <= outputs {
            for upper in [lower, lower + 1, lower + 8, lower + 39, outputs - 3, outputs] where upper >= lower && upper <= outputs {
                ranges.append(lower..<upper)
            }
        }
        for range in ranges {
            var simd = y0, reference = y0
            LowRank.addProduct(bq, scales: scales, rank: rank, t: t, into: &simd, columns: range)
            LowRank.addProductReference(bq, scales: scales, rank: rank, t: t, into: &reference, columns: range)
            #expect(simd == reference, "range \(range)")   // bit for bit: the same fused operations in the same order
            #expect(simd[..<range.lowerBound] == y0[..<range.lowerBound] && simd[range.upperBound...] == y0[range.upperBound...])
        }
        // Split into chunks anywhere, the result is the same as in one call.
        var whole = y0, pieces = y0
        LowRank.addProduct(bq, scales: scales, rank: rank, t: t, into: &whole, columns: 0..<outputs)
        var start = 0
        while start < outputs {
            let end = min(outputs, start + 1 + (start * 7 + 13) % 45)
            LowRank.addProduct(bq, scales: scales, rank: rank, t: t, into: &pieces, columns: start..<end)
            start = end
        }
        #expect(whole == pieces)
    }

    @Test func productIsCloseToTheFloatProduct() {
        var rng = TestRandom(seed: 5)
        let (outputs, rank) = (576, 16)
        let b = Self.randomB(outputs: outputs, rank: rank, &rng)
        let (bq, scales) = Self.quantized(b, outputs: outputs, rank: rank)
        let t = rng.floats(rank)
        var y = [Float](repeating: 0, count: outputs)
        LowRank.addProduct(bq, scales: scales, rank: rank, t: t, into: &y, columns: 0..<outputs)
        for o in 0..<outputs {
            var exact: Float = 0, bound: Float = 0
            for k in 0..<rank {
                exact += b[o * rank + k] * t[k]
                bound += abs(t[k]) * scales[(o / 32) * rank + k] * 0.5
            }
            #expect(abs(y[o] - exact) <= bound * 1.01 + 1e-6, "output \(o)")
        }
    }

    @Test(arguments: [32, 576, 1536])
    func q8_0RowDotMatchesTheFloatDot(count: Int) {
        var rng = TestRandom(seed: UInt64(count))
        let a = rng.floats(count), x = rng.floats(count)
        var qa = [UInt8](repeating: 0, count: LowRank.q8_0RowBytes(count)), qx = qa
        ActivationQuant.quantizeQ8_0(a, into: &qa, count: count)
        ActivationQuant.quantizeQ8_0(x, into: &qx, count: count)
        let dot = LowRank.dotQ8_0(qa, qx, blocks: count / 32)
        let exact = zip(a, x).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        let magnitude = zip(a, x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
        // The AVX2 kernel sums the blocks in another order than the reference: equal to float rounding.
        #expect(abs(dot - DotQ8_0.dotReference(qa, qx, blocks: count / 32)) <= magnitude * 1e-6)
        #expect(abs(dot - exact) <= magnitude * 0.02)
    }

    /// A in the served layout (rows interleaved by block in groups of four), dotted group by group with one x: the
    /// values of `dotQ8_0` on each row alone, bit for bit, for ranks with a partial last group.
    @Test(arguments: [1, 3, 4, 7, 16])
    func interleavedAEqualsOneRowAtATime(rank: Int) {
        var rng = TestRandom(seed: UInt64(60 + rank))
        let count = 576, rowBytes = LowRank.q8_0RowBytes(count)
        let a = rng.floats(rank * count), x = rng.floats(count)
        var rows = [UInt8](repeating: 0, count: rank * rowBytes), interleaved = rows
        var qx = [UInt8](repeating: 0, count: rowBytes)
        rows.withUnsafeMutableBytes { q in
            for r in 0..<rank {
                ActivationQuant.quantizeQ8_0(Array(a[r * count..<(r + 1) * count]), into: q.baseAddress! + r * rowBytes, count: count)
            }
        }
        a.withUnsafeBufferPointer { a in
            interleaved.withUnsafeMutableBytes { LowRank.interleaveA(a.baseAddress!, rank: rank, inputs: count, into: $0.baseAddress!) }
        }
        #expect(interleaved != rows || rank == 1, "a group of more than one row is laid out differently")
        ActivationQuant.quantizeQ8_0(x, into: &qx, count: count)
        var together = [Float](repeating: .nan, count: rank)
        interleaved.withUnsafeBytes { q in
            qx.withUnsafeBytes { xp in
                together.withUnsafeMutableBufferPointer { out in
                    for g in 0..<((rank + 3) / 4) {
                        let size = LowRank.dotInterleavedA(q.baseAddress!, group: g, rank: rank, inputs: count, xp.baseAddress!,
                                                           into: out.baseAddress! + 4 * g)
                        #expect(size == min(4, rank - 4 * g))
                    }
                }
            }
        }
        rows.withUnsafeBytes { q in
            qx.withUnsafeBytes { xp in
                for r in 0..<rank {
                    #expect(together[r] == LowRank.dotQ8_0(q.baseAddress! + r * rowBytes, xp.baseAddress!, blocks: count / 32),
                            "row \(r)")
                }
            }
        }
    }

    /// Several rows through one pass over B: each row equals its own single-row call, bit for bit.
    @Test(arguments: [2, 3, 4])
    func rowsSharingBEqualOneRowAtATime(rows: Int) {
        var rng = TestRandom(seed: UInt64(40 + rows))
        let (outputs, rank) = (200, 16)
        let (bq, scales) = Self.quantized(Self.randomB(outputs: outputs, rank: rank, &rng), outputs: outputs, rank: rank)
        let ts = (0..<rows).map { _ in rng.floats(rank) }
        let y0 = (0..<rows).map { _ in rng.floats(outputs) }
        for range in [0..<outputs, 3..<77, 8..<40, 33..<34, 190..<200] {
            var alone = y0
            for r in 0..<rows {
                LowRank.addProduct(bq, scales: scales, rank: rank, t: ts[r], into: &alone[r], columns: range)
            }
            let together = UnsafeMutablePointer<Float>.allocate(capacity: rows * outputs)
            defer { together.deallocate() }
            for r in 0..<rows { (together + r * outputs).update(from: y0[r], count: outputs) }
            let tCopies = UnsafeMutablePointer<Float>.allocate(capacity: rows * rank)
            defer { tCopies.deallocate() }
            for r in 0..<rows { (tCopies + r * rank).update(from: ts[r], count: rank) }
            let tPointers = (0..<rows).map { UnsafePointer(tCopies + $0 * rank) }
            let yPointers = (0..<rows).map { together + $0 * outputs }
            LowRank.addProduct(bq, scales: scales, rank: rank, rows: rows, t: tPointers, into: yPointers, columns: range)
            for r in 0..<rows {
                #expect(Array(UnsafeBufferPointer(start: together + r * outputs, count: outputs)) == alone[r],
                        "row \(r) range \(range)")
            }
        }
    }
}
