// 8-bit serving copies of LoRA matrices and the two products of y += B (A x).
//
// A [rank × inputs] is kept as Q8_0 rows (the block_q8_0 layout of QuantizedDot.swift, inputs a multiple of 32), so
// t = A x is the integer Q8_0 × Q8_0 dot of the base kernels against x quantised once to Q8_0.
// B [outputs × rank] is kept in blocks of 32 outputs, each block holding its rank columns one after another,
// so that y += B t over any range of outputs reads one contiguous run of memory (the hardware prefetcher follows
// one stream, not `rank` short strided ones) and needs no horizontal sum per output:
//
//   bq     Int8  [⌈outputs / 32⌉ × rank × 32]  bq[j, k, i] = round(B[32j + i, k] / scale[j, k]), zero past outputs
//   scales Float [⌈outputs / 32⌉ × rank]       scale[j, k] = max |B[o, k]| over the block's outputs o, / 127
//
// Per output the update is y[o] = fma(t[k] · scale[o / 32, k], bq[o / 32, k, o % 32], y[o]) for k = 0, 1, … in
// order, in the SIMD kernel and the scalar reference alike, so the result does not depend on how outputs are split
// into chunks.

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

public enum LowRank {
    public static let blockSize = 32

    // MARK: A: Q8_0 rows

    /// Bytes of one Q8_0 row of `count` values (a multiple of 32).
    public static func q8_0RowBytes(_ count: Int) -> Int { count / 32 * 34 }

    /// Σ over `blocks` blocks of a Q8_0 row with a Q8_0 activation row (the base kernels' AVX2 dot).
    @inline(__always)
    public static func dotQ8_0(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float {
        var y: Float = 0
        DotQ8_0.rowDots(w, blocks: blocks, x, xStride: 0, n: 1, &y, yStride: 0)
        return y
    }

    // MARK: A: Q8_0 rows, four interleaved by block

    /// Rows of A in one group of `interleaveA` layout: 4, or fewer for the last group.
    @inline(__always)
    public static func groupSize(_ group: Int, rank: Int) -> Int { min(4, rank - 4 * group) }

    /// Quantises a [rank × inputs] into the served layout of A: Q8_0 rows in groups of four (the last group may be
    /// smaller), each group interleaved by block, so that block j of row 4g + i is at 4g · rowBytes + (j · n_g + i) · 34
    /// with n_g the group's size. A group is one sequential stream where four rows side by side were four streams:
    /// from memory, 2.3× faster (`raconteur-bench kernel-bench --low-rank`).
    public static func interleaveA(_ a: UnsafePointer<Float>, rank: Int, inputs: Int, into qa: UnsafeMutableRawPointer) {
        let rowBytes = q8_0RowBytes(inputs)
        let row = UnsafeMutableRawPointer.allocate(byteCount: rowBytes, alignment: 64)
        defer { row.deallocate() }
        for k in 0..<rank {
            ActivationQuant.quantizeQ8_0(a + k * inputs, into: row, count: inputs)
            let group = k / 4, size = groupSize(group, rank: rank)
            for j in 0..<(inputs / blockSize) {
                (qa + 4 * group * rowBytes + (j * size + k % 4) * 34).copyMemory(from: row + j * 34, byteCount: 34)
            }
        }
    }

    /// out[i] = the dot of A's row 4 · group + i with the Q8_0 activation row x, for the group's rows of an A in the
    /// `interleaveA` layout; returns the group's size. Each value equals `dotQ8_0` of that row alone, bit for bit.
    @inline(__always)
    @discardableResult
    public static func dotInterleavedA(_ qa: UnsafeRawPointer, group: Int, rank: Int, inputs: Int, _ x: UnsafeRawPointer,
                                       into out: UnsafeMutablePointer<Float>) -> Int {
        let size = groupSize(group, rank: rank)
        DotQ8_0.rowsDot(qa + 4 * group * q8_0RowBytes(inputs), wStride: 34, blockStride: size * 34, rows: size,
                        blocks: inputs / blockSize, x, out)
        return size
    }

    // MARK: B: 8-bit column blocks

    /// Bytes of `bq` (and count of `scales` × 32) for a B of `outputs` × `rank`.
    public static func blockedCount(outputs: Int, rank: Int) -> Int {
        (outputs + blockSize - 1) / blockSize * rank * blockSize
    }

    /// Quantises b [outputs × rank] into bq [⌈outputs / 32⌉ × rank × 32] and scales [⌈outputs / 32⌉ × rank].
    public static func quantizeBlocked(_ b: UnsafePointer<Float>, outputs: Int, rank: Int,
                                       into bq: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>) {
        let blocks = (outputs + blockSize - 1) / blockSize
        for j in 0..<blocks {
            let range = (j * blockSize)..<min(outputs, (j + 1) * blockSize)
            for k in 0..<rank {
                let amax = range.reduce(Float(0)) { max($0, abs(b[$1 * rank + k])) }
                let scale = amax / 127
                let inverse: Float = scale > 0 ? 1 / scale : 0
                scales[j * rank + k] = scale
                let column = bq + (j * rank + k) * blockSize
                for i in 0..<blockSize {
                    let o = j * blockSize + i
                    column[i] = o < outputs ? Int8((b[o * rank + k] * inverse).rounded()) : 0
                }
            }
        }
    }

    /// Scalar reference of `addProduct`.
    public static func addProductReference(_ bq: UnsafePointer<Int8>, scales: UnsafePointer<Float>, rank: Int,
                                           t: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                           columns: Range<Int>) {
        for o in columns {
            let j = o / blockSize, i = o % blockSize
            var acc = y[o]
            for k in 0..<rank {
                acc.addProduct(t[k] * scales[j * rank + k], Float(bq[(j * rank + k) * blockSize + i]))
            }
            y[o] = acc
        }
    }

    /// y[o] += Σ_k t[k] · B[o, k] for o in `columns` (a sub-range of B's outputs).
    public static func addProduct(_ bq: UnsafePointer<Int8>, scales: UnsafePointer<Float>, rank: Int,
                                  t: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        #if arch(x86_64)
        @inline(__always) func column(_ k: Int, _ o: Int) -> __m256 {
            eightFloats(bq + ((o / blockSize) * rank + k) * blockSize + o % blockSize)
        }
        @inline(__always) func coefficient(_ k: Int, _ o: Int) -> __m256 {
            _mm256_set1_ps(t[k] * scales[(o / blockSize) * rank + k])
        }
        @inline(__always) func addEight(_ o: Int) {
            var acc = _mm256_loadu_ps(y + o)
            for k in 0..<rank { acc = _mm256_fmadd_ps(coefficient(k, o), column(k, o), acc) }
            _mm256_storeu_ps(y + o, acc)
        }
        let end = columns.upperBound
        // Scalar up to a multiple of 8, then groups of 8 up to a block boundary, whole blocks, groups, scalar.
        var o = min(end, (columns.lowerBound + 7) & ~7)
        addProductReference(bq, scales: scales, rank: rank, t: t, into: y, columns: columns.lowerBound..<o)
        while o % blockSize != 0 && o + 8 <= end { addEight(o); o += 8 }
        while o + blockSize <= end {
            // A whole block: its rank columns are contiguous; four independent chains of multiply-adds.
            var acc0 = _mm256_loadu_ps(y + o), acc1 = _mm256_loadu_ps(y + o + 8)
            var acc2 = _mm256_loadu_ps(y + o + 16), acc3 = _mm256_loadu_ps(y + o + 24)
            let block = bq + (o / blockSize) * rank * blockSize, blockScales = scales + (o / blockSize) * rank
            for k in 0..<rank {
                let c = _mm256_set1_ps(t[k] * blockScales[k])
                let p = block + k * blockSize
                acc0 = _mm256_fmadd_ps(c, eightFloats(p), acc0)
                acc1 = _mm256_fmadd_ps(c, eightFloats(p + 8), acc1)
                acc2 = _mm256_fmadd_ps(c, eightFloats(p + 16), acc2)
                acc3 = _mm256_fmadd_ps(c, eightFloats(p + 24), acc3)
            }
            _mm256_storeu_ps(y + o, acc0)
            _mm256_storeu_ps(y + o + 8, acc1)
            _mm256_storeu_ps(y + o + 16, acc2)
            _mm256_storeu_ps(y + o + 24, acc3)
            o += blockSize
        }
        while o + 8 <= end { addEight(o); o += 8 }
        addProductReference(bq, scales: scales, rank: rank, t: t, into: y, columns: o..<end)
        #else
        addProductReference(bq, scales: scales, rank: rank, t: t, into: y, columns: columns)
        #endif
    }

    /// `addProduct` for up to four rows that use the same B, each with its own t: whole blocks two rows at a time,
    /// so that each block's bytes are widened once per two rows and each coefficient serves 32 outputs. Per output
    /// each row gets exactly the operations of `addProduct` alone.
    public static func addProduct(_ bq: UnsafePointer<Int8>, scales: UnsafePointer<Float>, rank: Int, rows: Int,
                                  t: UnsafePointer<UnsafePointer<Float>>, into y: UnsafePointer<UnsafeMutablePointer<Float>>,
                                  columns: Range<Int>) {
        precondition((1...4).contains(rows), "one to four rows at a time")
        var r = 0
        while r + 2 <= rows {
            addProduct(bq, scales: scales, rank: rank, t0: t[r], t1: t[r + 1], into: y[r], y[r + 1], columns: columns)
            r += 2
        }
        if r < rows { addProduct(bq, scales: scales, rank: rank, t: t[r], into: y[r], columns: columns) }
    }

    /// Two rows: the whole blocks of `columns` in one pass (eight accumulators), the ragged ends row by row.
    static func addProduct(_ bq: UnsafePointer<Int8>, scales: UnsafePointer<Float>, rank: Int,
                           t0: UnsafePointer<Float>, t1: UnsafePointer<Float>,
                           into y0: UnsafeMutablePointer<Float>, _ y1: UnsafeMutablePointer<Float>, columns: Range<Int>) {
        let wholeStart = (columns.lowerBound + blockSize - 1) / blockSize * blockSize
        let wholeEnd = columns.upperBound / blockSize * blockSize
        guard wholeStart < wholeEnd else {
            addProduct(bq, scales: scales, rank: rank, t: t0, into: y0, columns: columns)
            addProduct(bq, scales: scales, rank: rank, t: t1, into: y1, columns: columns)
            return
        }
        let head = columns.lowerBound..<wholeStart, tail = wholeEnd..<columns.upperBound
        if !head.isEmpty {
            addProduct(bq, scales: scales, rank: rank, t: t0, into: y0, columns: head)
            addProduct(bq, scales: scales, rank: rank, t: t1, into: y1, columns: head)
        }
        if !tail.isEmpty {
            addProduct(bq, scales: scales, rank: rank, t: t0, into: y0, columns: tail)
            addProduct(bq, scales: scales, rank: rank, t: t1, into: y1, columns: tail)
        }
        #if arch(x86_64)
        var o = wholeStart
        while o < wholeEnd {
            var a0 = _mm256_loadu_ps(y0 + o), a1 = _mm256_loadu_ps(y0 + o + 8)
            var a2 = _mm256_loadu_ps(y0 + o + 16), a3 = _mm256_loadu_ps(y0 + o + 24)
            var b0 = _mm256_loadu_ps(y1 + o), b1 = _mm256_loadu_ps(y1 + o + 8)
            var b2 = _mm256_loadu_ps(y1 + o + 16), b3 = _mm256_loadu_ps(y1 + o + 24)
            let block = bq + (o / blockSize) * rank * blockSize, blockScales = scales + (o / blockSize) * rank
            for k in 0..<rank {
                let c0 = _mm256_set1_ps(t0[k] * blockScales[k]), c1 = _mm256_set1_ps(t1[k] * blockScales[k])
                let p = block + k * blockSize
                let w0 = eightFloats(p), w1 = eightFloats(p + 8), w2 = eightFloats(p + 16), w3 = eightFloats(p + 24)
                a0 = _mm256_fmadd_ps(c0, w0, a0); a1 = _mm256_fmadd_ps(c0, w1, a1)
                a2 = _mm256_fmadd_ps(c0, w2, a2); a3 = _mm256_fmadd_ps(c0, w3, a3)
                b0 = _mm256_fmadd_ps(c1, w0, b0); b1 = _mm256_fmadd_ps(c1, w1, b1)
                b2 = _mm256_fmadd_ps(c1, w2, b2); b3 = _mm256_fmadd_ps(c1, w3, b3)
            }
            _mm256_storeu_ps(y0 + o, a0); _mm256_storeu_ps(y0 + o + 8, a1)
            _mm256_storeu_ps(y0 + o + 16, a2); _mm256_storeu_ps(y0 + o + 24, a3)
            _mm256_storeu_ps(y1 + o, b0); _mm256_storeu_ps(y1 + o + 8, b1)
            _mm256_storeu_ps(y1 + o + 16, b2); _mm256_storeu_ps(y1 + o + 24, b3)
            o += blockSize
        }
        #else
        addProductReference(bq, scales: scales, rank: rank, t: t0, into: y0, columns: wholeStart..<wholeEnd)
        addProductReference(bq, scales: scales, rank: rank, t: t1, into: y1, columns: wholeStart..<wholeEnd)
        #endif
    }

    #if arch(x86_64)
    /// Eight signed bytes as eight floats.
    @inline(__always)
    static func eightFloats(_ p: UnsafePointer<Int8>) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(UnsafeRawPointer(p).assumingMemoryBound(to: __m128i.self))))
    }
    #endif
}
