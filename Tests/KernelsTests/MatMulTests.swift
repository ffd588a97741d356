import Dispatch
import Testing
@testable import Kernels

@Suite struct MatMulTests {
    static let pools = [ThreadPool(threads: 1), ThreadPool(threads: 2)]

    /// Checks MatMul.multiply against decoded weights × float x in Double, within the activation quantisation
    /// error (none for float weights).
    func check(_ format: WeightFormat?, rows: Int, blocks: Int, n: Int, pool: ThreadPool) {
        var rng = TestRandom(seed: UInt64(rows * 1000 + blocks * 10 + n))
        let type = format?.type ?? .f32
        let integer = format.map { WeightFormat.all.map(\.type).contains($0.type) } ?? false
        let cols = blocks * max(type.blockSize, 32)
        var bytes: [UInt8] = []
        var decoded: [Float] = []
        if let format {
            for _ in 0..<rows {
                let row = format.randomRow(blocks: cols / type.blockSize, &rng)
                bytes += row
                decoded += format.decode(row, blocks: cols / type.blockSize)
            }
        } else {
            decoded = rng.floats(rows * cols, scale: 0.05)
            bytes = decoded.withUnsafeBytes { Array($0) }
        }
        let x = rng.floats(n * cols)
        var y = [Float](repeating: .nan, count: n * rows)
        bytes.withUnsafeBytes { wp in
            let w = QuantizedMatrix(type: type, rows: rows, cols: cols, data: wp.baseAddress!)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { MatMul.multiply(w, x: xp.baseAddress!, n: n, y: $0.baseAddress!, pool: pool) }
            }
        }
        let blockSize = integer ? format!.activation.blockSize : 1
        var worst = 0.0
        for j in 0..<n {
            for r in 0..<rows {
                var exact = 0.0, magnitude = 0.0, bound = 0.0
                for k in 0..<cols {
                    exact += Double(decoded[r * cols + k]) * Double(x[j * cols + k])
                    magnitude += abs(Double(decoded[r * cols + k]) * Double(x[j * cols + k]))
                }
                if integer {
                    for b in 0..<cols / blockSize {
                        let amax = x[j * cols + b * blockSize..<j * cols + (b + 1) * blockSize].map { abs(Double($0)) }.max()!
                        for k in b * blockSize..<(b + 1) * blockSize { bound += abs(Double(decoded[r * cols + k])) * amax / 127 * 0.56 }
                    }
                    if format?.type == .q4_1 { bound += magnitude * 2e-3 }   // Float16 rounding of Q8_1's s
                }
                let error = abs(Double(y[j * rows + r]) - exact)
                worst = max(worst, error / (bound + 1e-5 * magnitude + 1e-6))
            }
        }
        #expect(worst <= 1, "\(type) rows \(rows) blocks \(blocks) n \(n) threads \(pool.threadCount): error/bound \(worst)")
    }

    @Test(arguments: WeightFormat.all)
    func quantizedShapes(format: WeightFormat) {
        for pool in Self.pools {
            for blocks in [1, 3] {
                for rows in [1, 5, 17] {
                    for n in [1, 2, 3, 5, 33, 64] { check(format, rows: rows, blocks: blocks, n: n, pool: pool) }
                }
            }
        }
    }

    @Test func largeEnoughToSplitOverThreads() {
        for format in WeightFormat.all {
            check(format, rows: 130, blocks: 2, n: 9, pool: Self.pools[1])
        }
    }

    @Test func floatWeights() {
        for pool in Self.pools {
            for (rows, blocks, n) in [(1, 1, 1), (1, 1, 64), (3, 2, 50), (5, 3, 2), (17, 1, 33), (67, 2, 64), (200, 1, 9)] {
                check(nil, rows: rows, blocks: blocks, n: n, pool: pool)
            }
        }
    }

    /// Concurrent calls on one pool (each from its own thread, also nested in a parallelFor) give the same
    /// results as sequential ones.
    @Test func concurrentCallsOnOnePool() {
        var rng = TestRandom(seed: 99)
        let format = WeightFormat(type: .q4_1)
        let rows = 96, cols = 64
        var bytes: [UInt8] = []
        for _ in 0..<rows { bytes += format.randomRow(blocks: cols / 32, &rng) }
        let x = rng.floats(64 * cols)
        let pool = Self.pools[1]
        bytes.withUnsafeBytes { wp in
            let w = QuantizedMatrix(type: .q4_1, rows: rows, cols: cols, data: wp.baseAddress!)
            x.withUnsafeBufferPointer { xp in
                for n in [1, 5, 64] {
                    var expected = [Float](repeating: 0, count: n * rows)
                    expected.withUnsafeMutableBufferPointer { MatMul.multiply(w, x: xp.baseAddress!, n: n, y: $0.baseAddress!, pool: pool) }
                    let results = UnsafeMutablePointer<Float>.allocate(capacity: 4 * n * rows)
                    defer { results.deallocate() }
                    DispatchQueue.concurrentPerform(iterations: 2) { t in
                        MatMul.multiply(w, x: xp.baseAddress!, n: n, y: results + t * n * rows, pool: pool)
                    }
                    pool.parallelFor(2) { t in
                        MatMul.multiply(w, x: xp.baseAddress!, n: n, y: results + (2 + t) * n * rows, pool: pool)
                    }
                    for t in 0..<4 {
                        #expect(Array(UnsafeBufferPointer(start: results + t * n * rows, count: n * rows)) == expected, "n \(n) call \(t)")
                    }
                }
            }
        }
    }

    @Test func emptyBatchWritesNothing() {
        let data = [Float](repeating: 1, count: 32)
        var y: [Float] = [42]
        data.withUnsafeBytes { wp in
            let w = QuantizedMatrix(type: .f32, rows: 1, cols: 32, data: wp.baseAddress!)
            data.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { MatMul.multiply(w, x: xp.baseAddress!, n: 0, y: $0.baseAddress!, pool: Self.pools[1]) }
            }
        }
        #expect(y == [42])
    }

    /// Prologue tasks and per-chunk epilogues share the product's dispatch: every prologue task has finished
    /// before any epilogue starts, the epilogues cover each output column exactly once, after it was computed;
    /// with an alignment, chunks start at its multiples.
    @Test(arguments: [(WeightFormat?.none, 1, 1), (WeightFormat.all.first, 1, 1), (WeightFormat.all.first, 4, 1),
                      (WeightFormat.all.first, 1, 32), (WeightFormat?.none, 2, 32)])
    func prologueAndEpilogueRunInOrder(format: WeightFormat?, n: Int, alignment: Int) {
        var rng = TestRandom(seed: 77)
        let type = format?.type ?? .f32
        let (rows, cols) = (200, 256)   // enough work for several chunks on two threads
        var bytes: [UInt8] = []
        if let format {
            for _ in 0..<rows { bytes += format.randomRow(blocks: cols / type.blockSize, &rng) }
        } else {
            bytes = rng.floats(rows * cols, scale: 0.05).withUnsafeBytes { Array($0) }
        }
        let x = rng.floats(n * cols)
        for pool in Self.pools {
            bytes.withUnsafeBytes { wp in
                let w = QuantizedMatrix(type: type, rows: rows, cols: cols, data: wp.baseAddress!)
                x.withUnsafeBufferPointer { xp in
                    var plain = [Float](repeating: 0, count: n * rows)
                    plain.withUnsafeMutableBufferPointer { MatMul.multiply(w, x: xp.baseAddress!, n: n, y: $0.baseAddress!, pool: pool) }
                    let prologueCount = 5
                    let finished = UnsafeMutablePointer<Int>.allocate(capacity: prologueCount)
                    let covered = UnsafeMutablePointer<Int>.allocate(capacity: rows)
                    let sawAllPrologue = UnsafeMutablePointer<Bool>.allocate(capacity: rows)
                    let sawResult = UnsafeMutablePointer<Bool>.allocate(capacity: rows)
                    // Per output column: the start of the chunk whose epilogue covered it.
                    let chunkStart = UnsafeMutablePointer<Int>.allocate(capacity: rows)
                    defer {
                        finished.deallocate(); covered.deallocate(); sawAllPrologue.deallocate(); sawResult.deallocate()
                        chunkStart.deallocate()
                    }
                    finished.initialize(repeating: 0, count: prologueCount)
                    covered.initialize(repeating: 0, count: rows)
                    chunkStart.initialize(repeating: -1, count: rows)
                    var fused = [Float](repeating: .nan, count: n * rows)
                    fused.withUnsafeMutableBufferPointer { yp in
                        let y = yp.baseAddress!
                        MatMul.multiply(w, x: xp.baseAddress!, n: n, y: y, pool: pool, prologueCount: prologueCount,
                                        prologue: { finished[$0] += 1 }, chunkAlignment: alignment) { columns in
                            let all = (0..<prologueCount).allSatisfy { finished[$0] == 1 }
                            for c in columns {
                                covered[c] += 1
                                sawAllPrologue[c] = all
                                sawResult[c] = (0..<n).allSatisfy { !y[$0 * rows + c].isNaN }
                                chunkStart[c] = columns.lowerBound
                            }
                        }
                    }
                    #expect(fused == plain, "threads \(pool.threadCount)")
                    #expect((0..<prologueCount).allSatisfy { finished[$0] == 1 })
                    #expect((0..<rows).allSatisfy { covered[$0] == 1 && sawAllPrologue[$0] && sawResult[$0] })
                    #expect((0..<rows).allSatisfy { chunkStart[$0] % alignment == 0 })
                }
            }
        }
    }

    /// Each chunk asks once for its lookahead, with its own rows; the long chunks get the shares 0..<leadCount of
    /// what follows the product, the short claimed ones none.
    @Test func lookaheadIsAskedOncePerChunkWithItsShare() {
        var rng = TestRandom(seed: 78)
        let format = WeightFormat.all.first!
        let (rows, cols) = (576, 256)
        var bytes: [UInt8] = []
        for _ in 0..<rows { bytes += format.randomRow(blocks: cols / format.type.blockSize, &rng) }
        let x = rng.floats(cols)
        for pool in Self.pools {
            let plan = MatMul.chunking(rows: rows, work: rows * cols, n: 1, threads: pool.threadCount, alignment: 32)
            let asked = UnsafeMutablePointer<Int>.allocate(capacity: plan.count)
            let shares = UnsafeMutablePointer<Int>.allocate(capacity: plan.count)   // index · 100 + count, or −1
            defer { asked.deallocate(); shares.deallocate() }
            asked.initialize(repeating: 0, count: plan.count)
            shares.initialize(repeating: -2, count: plan.count)
            var y = [Float](repeating: 0, count: rows)
            bytes.withUnsafeBytes { wp in
                let w = QuantizedMatrix(type: format.type, rows: rows, cols: cols, data: wp.baseAddress!)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        MatMul.multiply(w, x: xp.baseAddress!, n: 1, y: yp.baseAddress!, pool: pool, chunkAlignment: 32,
                                        lookahead: { columns, share, _ in
                                            let c = (0..<plan.count).first { plan.range($0) == columns }!
                                            asked[c] += 1
                                            shares[c] = share.map { $0.index * 100 + $0.count } ?? -1
                                        })
                    }
                }
            }
            let label = "threads \(pool.threadCount)"
            #expect((0..<plan.count).allSatisfy { asked[$0] == 1 }, "\(label)")
            #expect((0..<plan.count).allSatisfy { shares[$0] == ($0 < plan.leadCount ? $0 * 100 + plan.leadCount : -1) },
                    "\(label)")
        }
    }

    /// Chunk plans tile the rows exactly once, in order, with aligned starts: decode-sized products get one long
    /// chunk per thread (85 % of the rows together) and a short tail; prompt-sized ones four equal chunks per thread.
    @Test func chunkPlansTileTheRows() {
        for rows in [8, 40, 192, 200, 576, 1536, 49152] {
            for threads in [2, 3, 4] {
                for (n, alignment) in [(1, 1), (1, 32), (4, 1), (4, 32), (128, 1), (128, 32)] {
                    let plan = MatMul.chunking(rows: rows, work: rows * 576 * n, n: n, threads: threads, alignment: alignment)
                    let ranges = (0..<plan.count).map(plan.range)
                    let label = "rows \(rows), threads \(threads), n \(n), alignment \(alignment)"
                    #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == rows, "\(label)")
                    #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "\(label)")
                    #expect(ranges.allSatisfy { !$0.isEmpty && $0.lowerBound % alignment == 0 }, "\(label)")
                    if rows * 576 * n < 1 << 15 {
                        #expect(plan.count == 1, "\(label)")
                    } else if n <= 16 && rows >= 4 * threads * alignment {
                        #expect(plan.leadCount == threads, "\(label)")
                        #expect(Double(threads * plan.leadSize) >= 0.8 * Double(rows), "\(label)")
                    } else if n > 16 {
                        #expect(Set(ranges.dropLast().map(\.count)).count <= 1, "equal chunks: \(label)")
                    }
                }
            }
        }
    }
}
