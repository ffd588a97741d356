// The integer dot products of quantised weight rows with quantised activation rows, every format in one file: a
// scalar reference and an AVX2 tile per format, and what they share (the grouping of activation rows into tiles of
// up to four, the horizontal sum, the fp16 load). One file because debug builds compile files separately and
// inline only within a file, and the tiles need the shared helpers inlined (a constant row count per group).
// Each format's kernel is reached through its traits entry (`BlockFormat.dot`, from `IntegerDot` below).
//
// Dot products of weights with Q8_0 activations: Q8_0 × Q8_0, Q5_0 × Q8_0 and Q4_0 × Q8_0.
//
//   block_q8_0 (34 bytes, 32 values): d: Float16 @0 | qs: Int8[32] @2      value j = d·qs[j]
//   block_q4_0 (18 bytes, 32 values): d: Float16 @0 | qs: UInt8[16] @2
//       value j = d·((qs[j] & 0xF) − 8), value j + 16 = d·((qs[j] >> 4) − 8)     (j in 0..<16)
//   block_q5_0 (22 bytes, 32 values): d: Float16 @0 | qh: UInt32 @2 (bit j = 5th bit of value j) | qs: UInt8[16] @6
//       value j      = d·(((qs[j] & 0xF) | bit(qh, j) << 4)      − 16)     (j in 0..<16)
//       value j + 16 = d·(((qs[j] >> 4)  | bit(qh, j + 16) << 4) − 16)
//
// Per block: Σ_j w_j·x_j = d_w·d_x·Σ_j q_j·p_j with q_j the signed weight quant (Q5_0: nibble | 5th bit, − 16;
// Q4_0: nibble − 8).
// AVX2 multiplies signed bytes as |q| (unsigned) × sign(q)·p with maddubs.
//
// Q4_1 weights × Q8_1 activations.
//
//   block_q4_1 (20 bytes, 32 values): d: Float16 @0 | m: Float16 @2 | qs: UInt8[16] @4
//       value j      = d·(qs[j] & 0xF) + m        (j in 0..<16)
//       value j + 16 = d·(qs[j] >> 4)  + m
//   block_q8_1 (36 bytes): d: Float16 @0 | s: Float16 @2 (= d·Σq) | qs: Int8[32] @4
//
// Per block: Σ_j w_j·x_j = d_w·d_x·Σ_j q_j·p_j + m_w·d_x·Σ_j p_j = d_w·d_x·Σ q·p + m_w·s_x.
//
// Dot products of K-quant weights with Q8_K activations: Q4_K × Q8_K and Q6_K × Q8_K.
//
//   block_q8_K (292 bytes, 256 values): d: Float32 @0 | qs: Int8[256] @4 | bsums: Int16[16] @260 (Σ of each 16 qs)
//
//   block_q4_K (144 bytes, 256 values): d: Float16 @0 | dmin: Float16 @2 | scales: UInt8[12] @4 | qs: UInt8[128] @16
//       8 sub-blocks of 32 values, each with a 6-bit scale sc_j and a 6-bit min m_j packed in `scales`:
//         j < 4: sc_j = scales[j] & 63,                                m_j = scales[j + 4] & 63
//         j ≥ 4: sc_j = (scales[j + 4] & 0xF) | (scales[j − 4] >> 6) << 4, m_j = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4
//       qs[32c + l] holds value 64c + l in its low nibble (sub-block 2c) and value 64c + 32 + l in its high
//       nibble (sub-block 2c + 1), c in 0..<4, l in 0..<32.
//       value = d·sc_j·q − dmin·m_j
//     Dot: d_x·(d·Σ_j sc_j·Σ_{i∈j} q_i·p_i − dmin·Σ_j m_j·(bsums[2j] + bsums[2j + 1]))
//
//   block_q6_K (210 bytes, 256 values): ql: UInt8[128] @0 | qh: UInt8[64] @128 | scales: Int8[16] @192 | d: Float16 @208
//       For half h in 0..<2 (values 128h..<128h+128; ql += 64h, qh += 32h), l in 0..<32:
//         value 128h + l      : q = (ql[l] & 0xF)      | ((qh[l] >> 0) & 3) << 4
//         value 128h + 32 + l : q = (ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4
//         value 128h + 64 + l : q = (ql[l] >> 4)       | ((qh[l] >> 4) & 3) << 4
//         value 128h + 96 + l : q = (ql[l + 32] >> 4)  | ((qh[l] >> 6) & 3) << 4
//       value i = d·scales[i / 16]·(q − 32)
//     Dot: d_x·d·Σ_k scales[k]·(Σ_{i∈k} q_i·p_i − 32·bsums[k])   (k: the 16 sub-blocks of 16 values)

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

// MARK: - What the kernels share

/// A weight format's dot product with its activation format, as a scalar reference and a SIMD tile.
protocol RowDotKernel {
    /// Σ over `blocks` blocks of one weight row `w` with one activation row `x` (scalar, the yardstick).
    static func dotReference(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float
    #if arch(x86_64)
    /// One weight row × `columns` (1...4, a constant after inlining) activation rows x + c·xStride, into
    /// y[c·yStride].
    static func tile(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafeRawPointer, _ xStride: Int,
                     _ y: UnsafeMutablePointer<Float>, _ yStride: Int, columns: Int)
    #endif
}

extension RowDotKernel {
    /// y[c·yStride] = dot(w, x + c·xStride) for c in 0..<n; each weight block is decoded once per four rows.
    @inline(__always)
    static func rowDots(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafeRawPointer, xStride: Int, n: Int,
                        _ y: UnsafeMutablePointer<Float>, yStride: Int) {
        #if arch(x86_64)
        forColumnGroups(n) { c, k in tile(w, blocks, x + c * xStride, xStride, y + c * yStride, yStride, columns: k) }
        #else
        for c in 0..<n { y[c * yStride] = dotReference(w, x + c * xStride, blocks: blocks) }
        #endif
    }
}

/// Calls body(first, width) for the groups of at most four rows (width a constant when inlined).
@inline(__always)
private func forColumnGroups(_ n: Int, _ body: (Int, Int) -> Void) {
    for c in stride(from: 0, to: n, by: 4) {
        switch n - c { case 1: body(c, 1); case 2: body(c, 2); case 3: body(c, 3); default: body(c, 4) }
    }
}

#if arch(x86_64)
/// The sum of 8 lanes, in the fixed order every kernel uses (halves, then pairs).
@inline(__always)
private func sum8(_ v: __m256) -> Float {
    let s: SIMD8<Float> = v
    let h = s.lowHalf + s.highHalf
    return (h[0] + h[2]) + (h[1] + h[3])
}
#endif

extension Half {
    /// Reads the binary16 at `byteOffset` from `base` (no alignment needed) and widens it (vcvtph2ps: the Kernels
    /// target is compiled for F16C). Defined in this file so that the kernels below inline it in debug builds too,
    /// where calls across files are not inlined.
    @inlinable @inline(__always)
    public static func load(_ base: UnsafeRawPointer, byteOffset: Int = 0) -> Float {
        Float(Float16(bitPattern: base.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self)))
    }
}

/// Shorthand for `Half.load` in the kernels below.
@inline(__always)
private func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Half.load(p, byteOffset: offset)
}

/// The kernels by weight format, read by the BlockFormat table. Built here, where the kernels' generic row loop is
/// specialised for each one.
extension IntegerDot {
    static let q4_0 = IntegerDot(activation: .q8_0, DotQ4_0.self)
    static let q5_0 = IntegerDot(activation: .q8_0, DotQ5_0.self)
    static let q8_0 = IntegerDot(activation: .q8_0, DotQ8_0.self)
    static let q4_1 = IntegerDot(activation: .q8_1, DotQ4_1.self)
    static let q4_K = IntegerDot(activation: .q8_K, DotQ4_K.self)
    static let q6_K = IntegerDot(activation: .q8_K, DotQ6_K.self)

    init<Kernel: RowDotKernel>(activation: QuantType, _ kernel: Kernel.Type) {
        self.init(activation: activation, reference: { Kernel.dotReference($0, $1, blocks: $2) },
                  rowDots: { Kernel.rowDots($0, blocks: $1, $2, xStride: $3, n: $4, $5, yStride: $6) })
    }
}

// MARK: - Q8_0 activations: Q8_0, Q5_0 and Q4_0 weights

enum DotQ8_0: RowDotKernel {
    /// Scalar reference: Σ over `blocks` blocks of one Q8_0 weight row with one Q8_0 activation row.
    static func dotReference(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + 34 * b, xb = x + 34 * b
            var isum: Int32 = 0
            for j in 0..<32 {
                isum += Int32(wb.load(fromByteOffset: 2 + j, as: Int8.self)) * Int32(xb.load(fromByteOffset: 2 + j, as: Int8.self))
            }
            sum += half(wb, 0) * half(xb, 0) * Float(isum)
        }
        return sum
    }


    /// y[r] = dot(w + r·wStride, x) for r in 0..<rows: several weight rows against one activation row, each
    /// with its own chain of the operations `rowDots` gives it (so the same result, bit for bit), four at a time:
    /// four independent chains where `rowDots` at n = 1 has one, and each activation block loaded once for them.
    static func rowsDot(_ w: UnsafeRawPointer, wStride: Int, blockStride: Int = 34, rows: Int, blocks: Int, _ x: UnsafeRawPointer,
                        _ y: UnsafeMutablePointer<Float>) {
        #if arch(x86_64)
        forColumnGroups(rows) { r, k in
            laneTile(w + r * wStride, wLaneStride: wStride, blockBytes: blockStride, blocks, x, xLaneStride: 0, y + r,
                     yStride: 1, lanes: k, decode: quants)
        }
        #else
        for r in 0..<rows { y[r] = dotReference(w + r * wStride, x, blocks: blocks) }
        #endif
    }

    #if arch(x86_64)
    /// A block's 32 signed quants, as stored.
    @inline(__always)
    static func quants(_ wb: UnsafeRawPointer) -> __m256i {
        _mm256_loadu_si256(wb.advanced(by: 2).assumingMemoryBound(to: __m256i.self))
    }

    /// One weight row × `columns` (1...4, a constant after inlining) activation rows.
    @inline(__always)
    static func tile(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafeRawPointer, _ xStride: Int,
                     _ y: UnsafeMutablePointer<Float>, _ yStride: Int, columns: Int) {
        laneTile(w, wLaneStride: 0, blockBytes: 34, blocks, x, xLaneStride: xStride, y, yStride: yStride,
                 lanes: columns, decode: quants)
    }

    #endif
}

enum DotQ5_0: RowDotKernel {
    /// Scalar reference: Σ over `blocks` blocks of one Q5_0 weight row with one Q8_0 activation row.
    static func dotReference(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + 22 * b, xb = x + 34 * b
            let qh = wb.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
            var isum: Int32 = 0
            for j in 0..<16 {
                let byte = Int32(wb.load(fromByteOffset: 6 + j, as: UInt8.self))
                let low = (byte & 0xF) | Int32((qh >> UInt32(j)) & 1) << 4
                let high = (byte >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                isum += (low - 16) * Int32(xb.load(fromByteOffset: 2 + j, as: Int8.self))
                isum += (high - 16) * Int32(xb.load(fromByteOffset: 18 + j, as: Int8.self))
            }
            sum += half(wb, 0) * half(xb, 0) * Float(isum)
        }
        return sum
    }


    #if arch(x86_64)
    /// One weight row × `columns` (1...4, a constant after inlining) activation rows.
    @inline(__always)
    static func tile(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafeRawPointer, _ xStride: Int,
                     _ y: UnsafeMutablePointer<Float>, _ yStride: Int, columns: Int) {
        let low4 = _mm256_set1_epi8(0xF)
        let high4 = _mm256_set1_epi8(-16)   // 0xF0
        // Spreading 32 bits over 32 bytes: byte k gets bit k of qh (see highBits).
        let byteOfBit = _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202,
                                          0x0101_0101_0101_0101, 0x0000_0000_0000_0000)
        let allButBit = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe)
        let allOnes = _mm256_set1_epi64x(-1)
        laneTile(w, wLaneStride: 0, blockBytes: 22, blocks, x, xLaneStride: xStride, y, yStride: yStride,
                 lanes: columns) { wb in
            let packed = _mm_loadu_si128(wb.advanced(by: 6).assumingMemoryBound(to: __m128i.self))
            let nibbles = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low4)
            // 0xFF in byte k where bit k of qh is set: broadcast the byte holding bit k into byte k, set every
            // other bit, compare with all-ones.
            let qh = Int32(bitPattern: wb.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let spread = _mm256_or_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(qh), byteOfBit), allButBit)
            let bitSet = _mm256_cmpeq_epi8(spread, allOnes)
            // Where the 5th bit is clear, q − 16 = nibble | 0xF0 (as Int8); where it is set, q − 16 = nibble.
            return _mm256_or_si256(nibbles, _mm256_andnot_si256(bitSet, high4))
        }
    }

    #endif
}

enum DotQ4_0: RowDotKernel {
    /// Scalar reference: Σ over `blocks` blocks of one Q4_0 weight row with one Q8_0 activation row.
    static func dotReference(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + 18 * b, xb = x + 34 * b
            var isum: Int32 = 0
            for j in 0..<16 {
                let byte = Int32(wb.load(fromByteOffset: 2 + j, as: UInt8.self))
                isum += ((byte & 0xF) - 8) * Int32(xb.load(fromByteOffset: 2 + j, as: Int8.self))
                isum += ((byte >> 4) - 8) * Int32(xb.load(fromByteOffset: 18 + j, as: Int8.self))
            }
            sum += half(wb, 0) * half(xb, 0) * Float(isum)
        }
        return sum
    }


    #if arch(x86_64)
    /// A block's 32 signed quants: bytes 0..<16 from the low nibbles, 16..<32 from the high nibbles, minus 8.
    @inline(__always)
    static func quants(_ wb: UnsafeRawPointer) -> __m256i {
        let packed = _mm_loadu_si128(wb.advanced(by: 2).assumingMemoryBound(to: __m128i.self))
        let nibbles = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0xF))
        return _mm256_sub_epi8(nibbles, _mm256_set1_epi8(8))
    }

    /// One weight row × `columns` (1...4, a constant after inlining) activation rows.
    @inline(__always)
    static func tile(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafeRawPointer, _ xStride: Int,
                     _ y: UnsafeMutablePointer<Float>, _ yStride: Int, columns: Int) {
        laneTile(w, wLaneStride: 0, blockBytes: 18, blocks, x, xLaneStride: xStride, y, yStride: yStride,
                 lanes: columns, decode: quants)
    }
    #endif
}

#if arch(x86_64)
/// `lanes` (1...4, a constant after inlining) dot products over `blocks` blocks, each in its own chain: lane l dots
/// the weight row at w + l·wLaneStride (blocks of `blockBytes` bytes, d (Float16) first, `decode` giving a block's 32
/// signed quants) with the Q8_0 activation row at x + l·xLaneStride, into y[l·yStride]. One weight row against
/// several activation rows (wLaneStride 0) decodes each weight block once for all lanes; several weight rows
/// against one activation row (xLaneStride 0) load each activation block once. Either way each lane gets exactly
/// the operations of a one-lane call.
@inline(__always)
private func laneTile(_ w: UnsafeRawPointer, wLaneStride: Int, blockBytes: Int, _ blocks: Int,
                      _ x: UnsafeRawPointer, xLaneStride: Int, _ y: UnsafeMutablePointer<Float>, yStride: Int,
                      lanes: Int, decode: (UnsafeRawPointer) -> __m256i) {
    let ones = _mm256_set1_epi16(1)
    var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
    var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
    var wb = w, xb = x
    for _ in 0..<blocks {
        let dw = half(wb, 0)
        let q = decode(wb)
        let magnitude = _mm256_sign_epi8(q, q)   // |q| as unsigned bytes; the sign moves to the activations
        @inline(__always) func lane(_ l: Int, _ acc: __m256) -> __m256 {
            if wLaneStride == 0 { return accumulate(q, magnitude, xb + l * xLaneStride, dw, ones, acc) }
            let wl = wb + l * wLaneStride, ql = decode(wl)
            return accumulate(ql, _mm256_sign_epi8(ql, ql), xb + l * xLaneStride, half(wl, 0), ones, acc)
        }
        acc0 = accumulate(q, magnitude, xb, dw, ones, acc0)
        if lanes > 1 { acc1 = lane(1, acc1) }
        if lanes > 2 { acc2 = lane(2, acc2) }
        if lanes > 3 { acc3 = lane(3, acc3) }
        wb += blockBytes
        xb += 34
    }
    y[0] = sum8(acc0)
    if lanes > 1 { y[yStride] = sum8(acc1) }
    if lanes > 2 { y[2 * yStride] = sum8(acc2) }
    if lanes > 3 { y[3 * yStride] = sum8(acc3) }
}

/// acc + d_w·d_x·(q·p) for signed weight quants q (given with their magnitudes) and the Q8_0 block at xb.
@inline(__always)
private func accumulate(_ q: __m256i, _ magnitude: __m256i, _ xb: UnsafeRawPointer, _ dw: Float, _ ones: __m256i,
                        _ acc: __m256) -> __m256 {
    let p = _mm256_sign_epi8(_mm256_loadu_si256(xb.advanced(by: 2).assumingMemoryBound(to: __m256i.self)), q)
    let products = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, p), ones)
    return _mm256_fmadd_ps(_mm256_set1_ps(dw * half(xb, 0)), _mm256_cvtepi32_ps(products), acc)
}
#endif

// MARK: - Q8_1 activations: Q4_1 weights

enum DotQ4_1: RowDotKernel {
    /// Scalar reference: Σ over `blocks` blocks of one Q4_1 row `w` with one Q8_1 row `x`.
    static func dotReference(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + 20 * b, xb = x + 36 * b
            var isum: Int32 = 0
            for j in 0..<16 {
                let byte = wb.load(fromByteOffset: 4 + j, as: UInt8.self)
                isum += Int32(byte & 0xF) * Int32(xb.load(fromByteOffset: 4 + j, as: Int8.self))
                isum += Int32(byte >> 4) * Int32(xb.load(fromByteOffset: 20 + j, as: Int8.self))
            }
            sum += half(wb, 0) * half(xb, 0) * Float(isum)
                + half(wb, 2) * half(xb, 2)
        }
        return sum
    }


    #if arch(x86_64)
    /// One weight row × `columns` (1...4, a constant after inlining) activation rows.
    @inline(__always)
    static func tile(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafeRawPointer, _ xStride: Int,
                     _ y: UnsafeMutablePointer<Float>, _ yStride: Int, columns: Int) {
        let low4 = _mm256_set1_epi8(0xF)
        let ones = _mm256_set1_epi16(1)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        var min0: Float = 0, min1: Float = 0, min2: Float = 0, min3: Float = 0
        var wb = w, xb = x
        for _ in 0..<blocks {
            let dw = half(wb, 0), mw = half(wb, 2)
            // 16 bytes → 32 nibbles: low nibbles are values 0..<16, high nibbles 16..<32.
            let packed = _mm_loadu_si128(wb.advanced(by: 4).assumingMemoryBound(to: __m128i.self))
            let q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low4)
            acc0 = accumulateUnsigned(q, xb, dw, ones, acc0); min0 += mw * half(xb, 2)
            if columns > 1 { acc1 = accumulateUnsigned(q, xb + xStride, dw, ones, acc1); min1 += mw * half(xb + xStride, 2) }
            if columns > 2 { acc2 = accumulateUnsigned(q, xb + 2 * xStride, dw, ones, acc2); min2 += mw * half(xb + 2 * xStride, 2) }
            if columns > 3 { acc3 = accumulateUnsigned(q, xb + 3 * xStride, dw, ones, acc3); min3 += mw * half(xb + 3 * xStride, 2) }
            wb += 20
            xb += 36
        }
        y[0] = sum8(acc0) + min0
        if columns > 1 { y[yStride] = sum8(acc1) + min1 }
        if columns > 2 { y[2 * yStride] = sum8(acc2) + min2 }
        if columns > 3 { y[3 * yStride] = sum8(acc3) + min3 }
    }

    #endif
}

#if arch(x86_64)
/// acc + d_w·d_x·(q·p) for unsigned weight quants q (0...15) and the Q8_1 block at xb.
@inline(__always)
private func accumulateUnsigned(_ q: __m256i, _ xb: UnsafeRawPointer, _ dw: Float, _ ones: __m256i, _ acc: __m256) -> __m256 {
    let p = _mm256_loadu_si256(xb.advanced(by: 4).assumingMemoryBound(to: __m256i.self))
    let products = _mm256_madd_epi16(_mm256_maddubs_epi16(q, p), ones)
    return _mm256_fmadd_ps(_mm256_set1_ps(dw * half(xb, 0)), _mm256_cvtepi32_ps(products), acc)
}
#endif

// MARK: - Q8_K activations: Q4_K and Q6_K weights

enum DotQ4_K: RowDotKernel {
    /// The 6-bit scale and min of sub-block j (0..<8) from the 12 packed bytes at `scales`.
    @inline(__always)
    static func scaleAndMin(_ j: Int, _ scales: UnsafeRawPointer) -> (Int32, Int32) {
        let byte = { (i: Int) in Int32(scales.load(fromByteOffset: i, as: UInt8.self)) }
        if j < 4 { return (byte(j) & 63, byte(j + 4) & 63) }
        return ((byte(j + 4) & 0xF) | (byte(j - 4) >> 6) << 4, (byte(j + 4) >> 4) | (byte(j) >> 6) << 4)
    }

    /// Scalar reference: Σ over `blocks` blocks of one Q4_K weight row with one Q8_K activation row.
    static func dotReference(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + 144 * b, xb = x + 292 * b
            var scaled: Int32 = 0, mins: Int32 = 0
            for j in 0..<8 {
                let (sc, m) = scaleAndMin(j, wb + 4)
                var isum: Int32 = 0
                for l in 0..<32 {
                    let byte = Int32(wb.load(fromByteOffset: 16 + 32 * (j / 2) + l, as: UInt8.self))
                    let q = j % 2 == 0 ? byte & 0xF : byte >> 4
                    isum += q * Int32(xb.load(fromByteOffset: 4 + 32 * j + l, as: Int8.self))
                }
                scaled += sc * isum
                let bsum = Int32(xb.loadUnaligned(fromByteOffset: 260 + 4 * j, as: Int16.self))
                    + Int32(xb.loadUnaligned(fromByteOffset: 262 + 4 * j, as: Int16.self))
                mins += m * bsum
            }
            let dx = xb.loadUnaligned(as: Float.self)
            sum += dx * (half(wb, 0) * Float(scaled) - half(wb, 2) * Float(mins))
        }
        return sum
    }


    #if arch(x86_64)
    /// One weight row × `columns` (1...4, a constant after inlining) activation rows.
    @inline(__always)
    static func tile(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafeRawPointer, _ xStride: Int,
                     _ y: UnsafeMutablePointer<Float>, _ yStride: Int, columns: Int) {
        let low4 = _mm256_set1_epi8(0xF)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        var wb = w, xb = x
        for _ in 0..<blocks {
            // Unpack the 12 scale bytes into 8 scales and 8 mins (one byte each).
            let u0 = wb.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            let u1 = wb.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
            let u2 = wb.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
            let low6: UInt32 = 0x3f3f_3f3f, nibble: UInt32 = 0x0f0f_0f0f, two: UInt32 = 0x0303_0303
            let scales = UInt64(u0 & low6) | UInt64((u2 & nibble) | ((u0 >> 6) & two) << 4) << 32
            let mins = UInt64(u1 & low6) | UInt64(((u2 >> 4) & nibble) | ((u1 >> 6) & two) << 4) << 32
            // Σ_j m_j·(bsums[2j] + bsums[2j+1]) per activation row: 8 int16 mins × pairwise bsum sums.
            let mins16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(Int64(bitPattern: mins)))
            var sumi0 = _mm256_setzero_si256(), sumi1 = _mm256_setzero_si256()
            var sumi2 = _mm256_setzero_si256(), sumi3 = _mm256_setzero_si256()
            for chunk in 0..<4 {
                let bits = _mm256_loadu_si256(wb.advanced(by: 16 + 32 * chunk).assumingMemoryBound(to: __m256i.self))
                let qLow = _mm256_and_si256(bits, low4)
                let qHigh = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low4)
                let scaleLow = _mm256_set1_epi16(Int16(truncatingIfNeeded: (scales >> (16 * chunk)) & 0xFF))
                let scaleHigh = _mm256_set1_epi16(Int16(truncatingIfNeeded: (scales >> (16 * chunk + 8)) & 0xFF))
                let offset = 4 + 64 * chunk
                sumi0 = subBlockPair(qLow, qHigh, scaleLow, scaleHigh, xb + offset, sumi0)
                if columns > 1 { sumi1 = subBlockPair(qLow, qHigh, scaleLow, scaleHigh, xb + xStride + offset, sumi1) }
                if columns > 2 { sumi2 = subBlockPair(qLow, qHigh, scaleLow, scaleHigh, xb + 2 * xStride + offset, sumi2) }
                if columns > 3 { sumi3 = subBlockPair(qLow, qHigh, scaleLow, scaleHigh, xb + 3 * xStride + offset, sumi3) }
            }
            let d = half(wb, 0), dmin = half(wb, 2)
            acc0 = finishBlock(sumi0, mins16, d, dmin, xb, acc0)
            if columns > 1 { acc1 = finishBlock(sumi1, mins16, d, dmin, xb + xStride, acc1) }
            if columns > 2 { acc2 = finishBlock(sumi2, mins16, d, dmin, xb + 2 * xStride, acc2) }
            if columns > 3 { acc3 = finishBlock(sumi3, mins16, d, dmin, xb + 3 * xStride, acc3) }
            wb += 144
            xb += 292
        }
        y[0] = sum8(acc0)
        if columns > 1 { y[yStride] = sum8(acc1) }
        if columns > 2 { y[2 * yStride] = sum8(acc2) }
        if columns > 3 { y[3 * yStride] = sum8(acc3) }
    }

    /// sumi + sc_low·(qLow·p[0..<32]) + sc_high·(qHigh·p[32..<64]) as 8 int32 lanes; `p` points at 64 quants.
    @inline(__always)
    static func subBlockPair(_ qLow: __m256i, _ qHigh: __m256i, _ scaleLow: __m256i, _ scaleHigh: __m256i,
                             _ p: UnsafeRawPointer, _ sumi: __m256i) -> __m256i {
        let pLow = _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self))
        let pHigh = _mm256_loadu_si256(p.advanced(by: 32).assumingMemoryBound(to: __m256i.self))
        let low = _mm256_madd_epi16(scaleLow, _mm256_maddubs_epi16(qLow, pLow))
        let high = _mm256_madd_epi16(scaleHigh, _mm256_maddubs_epi16(qHigh, pHigh))
        return _mm256_add_epi32(sumi, _mm256_add_epi32(low, high))
    }

    /// acc + d_x·(d·sumi − dmin·Σ_j m_j·(bsums[2j] + bsums[2j+1])) for the Q8_K block at xb.
    @inline(__always)
    static func finishBlock(_ sumi: __m256i, _ mins16: __m128i, _ d: Float, _ dmin: Float, _ xb: UnsafeRawPointer,
                            _ acc: __m256) -> __m256 {
        let dx = xb.loadUnaligned(as: Float.self)
        let bsumsLow = _mm_loadu_si128(xb.advanced(by: 260).assumingMemoryBound(to: __m128i.self))
        let bsumsHigh = _mm_loadu_si128(xb.advanced(by: 276).assumingMemoryBound(to: __m128i.self))
        let minProducts = _mm_madd_epi16(mins16, _mm_hadd_epi16(bsumsLow, bsumsHigh))   // 4 int32
        let scaled = _mm256_fmadd_ps(_mm256_set1_ps(d * dx), _mm256_cvtepi32_ps(sumi), acc)
        return _mm256_fmadd_ps(_mm256_set1_ps(-dmin * dx), _mm256_cvtepi32_ps(_mm256_zextsi128_si256(minProducts)), scaled)
    }
    #endif
}

enum DotQ6_K: RowDotKernel {
    /// Scalar reference: Σ over `blocks` blocks of one Q6_K weight row with one Q8_K activation row.
    static func dotReference(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, blocks: Int) -> Float {
        var sum: Float = 0
        for b in 0..<blocks {
            let wb = w + 210 * b, xb = x + 292 * b
            var total: Int32 = 0
            for k in 0..<16 {
                var isum: Int32 = 0
                for i in 16 * k..<16 * k + 16 {
                    let q = Int32(quant(wb, i))
                    isum += q * Int32(xb.load(fromByteOffset: 4 + i, as: Int8.self))
                }
                let bsum = Int32(xb.loadUnaligned(fromByteOffset: 260 + 2 * k, as: Int16.self))
                total += Int32(wb.load(fromByteOffset: 192 + k, as: Int8.self)) * (isum - 32 * bsum)
            }
            sum += xb.loadUnaligned(as: Float.self) * half(wb, 208) * Float(total)
        }
        return sum
    }

    /// The unsigned 6-bit quant (0...63) of value i (0..<256) of the block at wb.
    @inline(__always)
    static func quant(_ wb: UnsafeRawPointer, _ i: Int) -> UInt8 {
        let h = i / 128, r = i % 128, part = r / 32, l = r % 32
        let ql = wb.load(fromByteOffset: 64 * h + l + (part % 2 == 1 ? 32 : 0), as: UInt8.self)
        let qh = wb.load(fromByteOffset: 128 + 32 * h + l, as: UInt8.self)
        let low = part < 2 ? ql & 0xF : ql >> 4
        return low | ((qh >> UInt8(2 * part)) & 3) << 4
    }


    #if arch(x86_64)
    /// One weight row × `columns` (1...4, a constant after inlining) activation rows.
    @inline(__always)
    static func tile(_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafeRawPointer, _ xStride: Int,
                     _ y: UnsafeMutablePointer<Float>, _ yStride: Int, columns: Int) {
        let low4 = _mm256_set1_epi8(0xF), low2 = _mm256_set1_epi8(3)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        var wb = w, xb = x
        for _ in 0..<blocks {
            let scales8 = _mm_loadu_si128(wb.advanced(by: 192).assumingMemoryBound(to: __m128i.self))
            let scales16 = _mm256_cvtepi8_epi16(scales8)
            var sumi0 = _mm256_setzero_si256(), sumi1 = _mm256_setzero_si256()
            var sumi2 = _mm256_setzero_si256(), sumi3 = _mm256_setzero_si256()
            for h in 0..<2 {
                let bits1 = _mm256_loadu_si256(wb.advanced(by: 64 * h).assumingMemoryBound(to: __m256i.self))
                let bits2 = _mm256_loadu_si256(wb.advanced(by: 64 * h + 32).assumingMemoryBound(to: __m256i.self))
                let high = _mm256_loadu_si256(wb.advanced(by: 128 + 32 * h).assumingMemoryBound(to: __m256i.self))
                for part in 0..<4 {
                    let lowBits = part % 2 == 0 ? bits1 : bits2
                    let nibble = part < 2 ? _mm256_and_si256(lowBits, low4)
                                          : _mm256_and_si256(_mm256_srli_epi16(lowBits, 4), low4)
                    let top = _mm256_and_si256(_mm256_srli_epi16(high, Int32(2 * part)), low2)
                    let q = _mm256_or_si256(nibble, _mm256_slli_epi16(top, 4))
                    // int16 scales: lanes 0..<8 use sub-block 8h + 2·part, lanes 8..<16 the next one.
                    let k = 8 * h + 2 * part
                    let pick = _mm_set_epi64x(Int64(k + 1) * 0x0101_0101_0101_0101, Int64(k) * 0x0101_0101_0101_0101)
                    let scale = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, pick))
                    let offset = 4 + 128 * h + 32 * part
                    sumi0 = scaledProducts(q, scale, xb + offset, sumi0)
                    if columns > 1 { sumi1 = scaledProducts(q, scale, xb + xStride + offset, sumi1) }
                    if columns > 2 { sumi2 = scaledProducts(q, scale, xb + 2 * xStride + offset, sumi2) }
                    if columns > 3 { sumi3 = scaledProducts(q, scale, xb + 3 * xStride + offset, sumi3) }
                }
            }
            let d = half(wb, 208)
            acc0 = finishBlock(sumi0, scales16, d, xb, acc0)
            if columns > 1 { acc1 = finishBlock(sumi1, scales16, d, xb + xStride, acc1) }
            if columns > 2 { acc2 = finishBlock(sumi2, scales16, d, xb + 2 * xStride, acc2) }
            if columns > 3 { acc3 = finishBlock(sumi3, scales16, d, xb + 3 * xStride, acc3) }
            wb += 210
            xb += 292
        }
        y[0] = sum8(acc0)
        if columns > 1 { y[yStride] = sum8(acc1) }
        if columns > 2 { y[2 * yStride] = sum8(acc2) }
        if columns > 3 { y[3 * yStride] = sum8(acc3) }
    }

    /// sumi + scale·(q·p[0..<32]) as 8 int32 lanes (q unsigned 0...63; the −32 is applied in finishBlock).
    @inline(__always)
    static func scaledProducts(_ q: __m256i, _ scale: __m256i, _ p: UnsafeRawPointer, _ sumi: __m256i) -> __m256i {
        let products = _mm256_maddubs_epi16(q, _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self)))
        return _mm256_add_epi32(sumi, _mm256_madd_epi16(scale, products))
    }

    /// acc + d_x·d·(sumi − 32·Σ_k scales[k]·bsums[k]) for the Q8_K block at xb.
    @inline(__always)
    static func finishBlock(_ sumi: __m256i, _ scales16: __m256i, _ d: Float, _ xb: UnsafeRawPointer,
                            _ acc: __m256) -> __m256 {
        let bsums = _mm256_loadu_si256(xb.advanced(by: 260).assumingMemoryBound(to: __m256i.self))
        let offset = _mm256_slli_epi32(_mm256_madd_epi16(scales16, bsums), 5)
        let dx = xb.loadUnaligned(as: Float.self)
        return _mm256_fmadd_ps(_mm256_set1_ps(d * dx), _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi, offset)), acc)
    }
    #endif
}
