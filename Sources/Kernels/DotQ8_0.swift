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

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

enum DotQ8_0 {
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

    /// y[c·yStride] = dot(w, x + c·xStride) for c in 0..<n; each weight block is loaded once per four rows.
    static func rowDots(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafeRawPointer, xStride: Int, n: Int,
                        _ y: UnsafeMutablePointer<Float>, yStride: Int) {
        #if arch(x86_64)
        forColumnGroups(n) { c, k in tile(w, blocks, x + c * xStride, xStride, y + c * yStride, yStride, columns: k) }
        #else
        for c in 0..<n { y[c * yStride] = dotReference(w, x + c * xStride, blocks: blocks) }
        #endif
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

enum DotQ5_0 {
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

    /// y[c·yStride] = dot(w, x + c·xStride) for c in 0..<n; each weight block is decoded once per four rows.
    static func rowDots(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafeRawPointer, xStride: Int, n: Int,
                        _ y: UnsafeMutablePointer<Float>, yStride: Int) {
        #if arch(x86_64)
        forColumnGroups(n) { c, k in tile(w, blocks, x + c * xStride, xStride, y + c * yStride, yStride, columns: k) }
        #else
        for c in 0..<n { y[c * yStride] = dotReference(w, x + c * xStride, blocks: blocks) }
        #endif
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

enum DotQ4_0 {
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

    /// y[c·yStride] = dot(w, x + c·xStride) for c in 0..<n; each weight block is decoded once per four rows.
    static func rowDots(_ w: UnsafeRawPointer, blocks: Int, _ x: UnsafeRawPointer, xStride: Int, n: Int,
                        _ y: UnsafeMutablePointer<Float>, yStride: Int) {
        #if arch(x86_64)
        forColumnGroups(n) { c, k in tile(w, blocks, x + c * xStride, xStride, y + c * yStride, yStride, columns: k) }
        #else
        for c in 0..<n { y[c * yStride] = dotReference(w, x + c * xStride, blocks: blocks) }
        #endif
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

// sum8, forColumnGroups and half are private copies in each kernel file on purpose: debug builds compile files
// separately and inline only within a file, and the tiles need them inlined (a constant row count per group).
@inline(__always)
private func sum8(_ v: __m256) -> Float {
    let s: SIMD8<Float> = v
    let h = s.lowHalf + s.highHalf
    return (h[0] + h[2]) + (h[1] + h[3])
}
#endif

/// Calls body(first, width) for the groups of at most four activation rows (width a constant when inlined).
@inline(__always)
private func forColumnGroups(_ n: Int, _ body: (Int, Int) -> Void) {
    for c in stride(from: 0, to: n, by: 4) {
        switch n - c { case 1: body(c, 1); case 2: body(c, 2); case 3: body(c, 3); default: body(c, 4) }
    }
}

@inline(__always)
private func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}
