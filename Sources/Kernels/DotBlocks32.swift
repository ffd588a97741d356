// Integer dot products of the 32-value block formats with 8-bit activations: Q4_1 × Q8_1, Q8_0 × Q8_0 and
// Q5_0 × Q8_0.
//
//   block_q4_1 (20 bytes): d: Float16 @0 | m: Float16 @2 | qs: UInt8[16] @4
//       value j = d·(qs[j] & 0xF) + m, value j + 16 = d·(qs[j] >> 4) + m        (j in 0..<16)
//   block_q5_0 (22 bytes): d: Float16 @0 | qh: UInt32 @2 (bit j = 5th bit of value j) | qs: UInt8[16] @6
//       value j = d·(((qs[j] & 0xF) | bit(qh, j) << 4) − 16), value j + 16 = d·(((qs[j] >> 4) | bit(qh, j + 16) << 4) − 16)
//   block_q8_0 (34 bytes): d: Float16 @0 | qs: Int8[32] @2                         value j = d·qs[j]
//   block_q8_1 (36 bytes): d: Float16 @0 | s: Float16 @2 (= d·Σq) | qs: Int8[32] @4
//
// Per block, with p the activation quants:
//   Q4_1: Σ_j w_j·x_j = d_w·d_x·Σ_j q_j·p_j + m_w·d_x·Σ_j p_j = d_w·d_x·Σ q·p + m_w·s_x
//   Q8_0: Σ_j w_j·x_j = d_w·d_x·Σ_j q_j·p_j
//   Q5_0: Σ_j w_j·x_j = d_w·d_x·Σ_j (u_j − 16)·p_j = d_w·d_x·Σ u·p − 16·d_w·(d_x·Σp), u = 5-bit quant (0...31)
// AVX2: Q4_1 and Q5_0 multiply unsigned quants with maddubs (UnsignedQuants); their second term comes from the
// activation scale table (ActivationRows: (d_x, s_x) for Q8_1, (d_x, d_x·Σp) for Q8_0) through one multiply
// (d_w, f_w)·(d_x, t_x) per block. Q8_0 multiplies signed bytes as |q| (unsigned) × sign(q)·p.

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

enum DotQ4_1 {
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
            sum += half(wb, 0) * half(xb, 0) * Float(isum) + half(wb, 2) * half(xb, 2)
        }
        return sum
    }

    /// The tiles DotTiles.dots runs (x: Q8_1): each weight block is decoded once per group of up to four rows.
    #if arch(x86_64)
    static let tiles = DotTiles(
        rows1: { w, rows, x, c, y in
            let (blocks, rowBytes, xr, sr) = (w.blocksPerRow, w.rowBytes, x.row(c), x.scales(c))
            for r in rows {
                y[r] = UnsignedQuants.single(w.data + r * rowBytes, blocks, xr, sr, UnsignedQuants.q4_1, decode: decode)
            }
        },
        width2: { UnsignedQuants.tile($0, $1, $2, $3, $4, $5, columns: 2, UnsignedQuants.q4_1, decode: decode) },
        width3: { UnsignedQuants.tile($0, $1, $2, $3, $4, $5, columns: 3, UnsignedQuants.q4_1, decode: decode) },
        width4: { UnsignedQuants.tile($0, $1, $2, $3, $4, $5, columns: 4, UnsignedQuants.q4_1, decode: decode) })
    #else
    static let tiles = DotTiles(reference: { dotReference($0, $1, blocks: $2) })
    #endif

    #if arch(x86_64)
    /// The 32 quants (0...15, low nibbles = values 0..<16, high nibbles = 16..<32) and (d, m, 0, 0) of the
    /// block at wb.
    @inline(__always)
    static func decode(_ wb: UnsafeRawPointer) -> (__m256i, __m128) {
        let dm = _mm_cvtph_ps(_mm_cvtsi32_si128(wb.loadUnaligned(as: Int32.self)))
        // The 16 bytes in both 128-bit halves, the upper half shifted right by 4 (32-bit lanes: the bits that
        // cross into a byte's high nibble are masked off), then & 0xF.
        let packed = _mm256_broadcastsi128_si256(_mm_loadu_si128(wb.advanced(by: 4).assumingMemoryBound(to: __m128i.self)))
        let q = _mm256_and_si256(_mm256_srlv_epi32(packed, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(0xF))
        return (q, dm)
    }
    #endif
}

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

    /// The tiles DotTiles.dots runs (x: Q8_0): each weight block is decoded once per group of up to four rows.
    #if arch(x86_64)
    static let tiles = DotTiles(
        rows1: { w, rows, x, c, y in
            let (blocks, rowBytes, xr, sr) = (w.blocksPerRow, w.rowBytes, x.row(c), x.scales(c))
            for r in rows { y[r] = single(w.data + r * rowBytes, blocks, xr, sr) }
        },
        width2: { tile($0, $1, $2, $3, $4, $5, columns: 2) },
        width3: { tile($0, $1, $2, $3, $4, $5, columns: 3) },
        width4: { tile($0, $1, $2, $3, $4, $5, columns: 4) })
    #else
    static let tiles = DotTiles(reference: { dotReference($0, $1, blocks: $2) })
    #endif

    #if arch(x86_64)
    /// One weight row × activation rows first..<first + columns (columns 1...4, a constant after inlining).
    @inline(__always)
    static func tile(_ w: UnsafeRawPointer, _ blocks: Int, _ x: ActivationRows, _ first: Int,
                     _ y: UnsafeMutablePointer<Float>, _ yStride: Int, columns: Int) {
        let ones = _mm256_set1_epi16(1)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        let g = x.group(first, columns)
        let (x0, x1, x2, x3, s0, s1, s2, s3) = (g.x0, g.x1, g.x2, g.x3, g.s0, g.s1, g.s2, g.s3)
        var wb = w
        for b in 0..<blocks {
            let (q, magnitude, dw) = decode(wb)
            acc0 = accumulate(q, magnitude, x0 + 34 * b, s0[2 * b] * dw, ones, acc0)
            if columns > 1 { acc1 = accumulate(q, magnitude, x1 + 34 * b, s1[2 * b] * dw, ones, acc1) }
            if columns > 2 { acc2 = accumulate(q, magnitude, x2 + 34 * b, s2[2 * b] * dw, ones, acc2) }
            if columns > 3 { acc3 = accumulate(q, magnitude, x3 + 34 * b, s3[2 * b] * dw, ones, acc3) }
            wb += 34
        }
        y[0] = sum8(acc0)
        if columns > 1 { y[yStride] = sum8(acc1) }
        if columns > 2 { y[2 * yStride] = sum8(acc2) }
        if columns > 3 { y[3 * yStride] = sum8(acc3) }
    }

    /// One weight row × one activation row (its blocks and scale table), even and odd blocks in separate accumulators (two FMA chains).
    @inline(__always)
    static func single(_ w: UnsafeRawPointer, _ blocks: Int, _ xr: UnsafeRawPointer, _ sr: UnsafePointer<Float>) -> Float {
        let ones = _mm256_set1_epi16(1)
        return twoChains(blocks) { b, acc in
            let (q, magnitude, dw) = decode(w + 34 * b)
            acc = accumulate(q, magnitude, xr + 34 * b, sr[2 * b] * dw, ones, acc)
        }
    }

    /// The 32 signed quants of the block at wb, their magnitudes (|q| as unsigned bytes; maddubs takes the
    /// sign from the activations instead) and d.
    @inline(__always)
    static func decode(_ wb: UnsafeRawPointer) -> (__m256i, __m256i, Float) {
        let q = _mm256_loadu_si256(wb.advanced(by: 2).assumingMemoryBound(to: __m256i.self))
        return (q, _mm256_sign_epi8(q, q), half(wb, 0))
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

    /// The tiles DotTiles.dots runs (x: Q8_0): each weight block is decoded once per group of up to four rows.
    #if arch(x86_64)
    static let tiles = DotTiles(
        rows1: { w, rows, x, c, y in
            let (blocks, rowBytes, xr, sr) = (w.blocksPerRow, w.rowBytes, x.row(c), x.scales(c))
            for r in rows {
                y[r] = UnsignedQuants.single(w.data + r * rowBytes, blocks, xr, sr, UnsignedQuants.q5_0, decode: decode)
            }
        },
        width2: { UnsignedQuants.tile($0, $1, $2, $3, $4, $5, columns: 2, UnsignedQuants.q5_0, decode: decode) },
        width3: { UnsignedQuants.tile($0, $1, $2, $3, $4, $5, columns: 3, UnsignedQuants.q5_0, decode: decode) },
        width4: { UnsignedQuants.tile($0, $1, $2, $3, $4, $5, columns: 4, UnsignedQuants.q5_0, decode: decode) })
    #else
    static let tiles = DotTiles(reference: { dotReference($0, $1, blocks: $2) })
    #endif

    #if arch(x86_64)
    /// Byte masks for decode.
    struct Masks {
        let low4 = _mm256_set1_epi8(0xF)
        let bit4 = _mm256_set1_epi8(0x10)
        /// Byte k of the shuffle takes byte k / 8 of qh.
        let byteOfBit = _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202,
                                          0x0101_0101_0101_0101, 0x0000_0000_0000_0000)
        /// Byte k has every bit set but bit k % 8.
        let allButBit = _mm256_set1_epi64x(0x7fbf_dfef_f7fb_fdfe)
        let allOnes = _mm256_set1_epi64x(-1)
    }

    /// The 32 unsigned quants u = q + 16 (0...31) of the block at wb, and (d, d, d, d).
    @inline(__always)
    static func decode(_ wb: UnsafeRawPointer) -> (__m256i, __m128) {
        let masks = Masks()
        // Nibbles: the 16 bytes in both halves, the upper half shifted right by 4, & 0xF.
        let packed = _mm256_broadcastsi128_si256(_mm_loadu_si128(wb.advanced(by: 6).assumingMemoryBound(to: __m128i.self)))
        let nibbles = _mm256_and_si256(_mm256_srlv_epi32(packed, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), masks.low4)
        // 0xFF in byte k where bit k of qh is set: broadcast the byte holding bit k into byte k, set every
        // other bit, compare with all-ones; the 5th bit is then 0x10 of it.
        let qh = Int32(bitPattern: wb.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let spread = _mm256_or_si256(_mm256_shuffle_epi8(_mm256_set1_epi32(qh), masks.byteOfBit), masks.allButBit)
        let high = _mm256_and_si256(_mm256_cmpeq_epi8(spread, masks.allOnes), masks.bit4)
        return (_mm256_or_si256(nibbles, high), _mm_set1_ps(half(wb, 0)))
    }
    #endif
}

#if arch(x86_64)
/// The shared AVX2 code of the formats multiplied as unsigned quants (Q4_1, Q5_0).
enum UnsignedQuants {
    /// How one such format meets its activations (constants once inlined: the properties below are computed).
    struct Format {
        /// Bytes per weight block and per activation block; offset of the quants in an activation block.
        let weightBytes: Int, activationBytes: Int, quantsOffset: Int
        /// The result is Σ_blocks d_w·d_x·(u·p) + factor·Σ_blocks (lane 1 of (d_w, f_w)·(d_x, t_x)).
        let factor: Float
    }

    static var q4_1: Format { Format(weightBytes: 20, activationBytes: 36, quantsOffset: 4, factor: 1) }
    static var q5_0: Format { Format(weightBytes: 22, activationBytes: 34, quantsOffset: 2, factor: -16) }

    /// One weight row × activation rows first..<first + columns (columns 1...4, a constant after inlining).
    @inline(__always)
    static func tile(_ w: UnsafeRawPointer, _ blocks: Int, _ x: ActivationRows, _ first: Int,
                     _ y: UnsafeMutablePointer<Float>, _ yStride: Int, columns: Int, _ format: Format,
                     decode: (UnsafeRawPointer) -> (__m256i, __m128)) {
        let ones = _mm256_set1_epi16(1)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        // Lane 1 accumulates the second term (lane 0 collects unused d_w·d_x).
        var sum0 = _mm_setzero_ps(), sum1 = _mm_setzero_ps(), sum2 = _mm_setzero_ps(), sum3 = _mm_setzero_ps()
        let g = x.group(first, columns)
        let (x0, x1, x2, x3, s0, s1, s2, s3) = (g.x0, g.x1, g.x2, g.x3, g.s0, g.s1, g.s2, g.s3)
        let (wBytes, xBytes, offset) = (format.weightBytes, format.activationBytes, format.quantsOffset)
        for b in 0..<blocks {
            let (u, dw) = decode(w + wBytes * b)
            accumulate(u, dw, x0 + xBytes * b + offset, s0 + 2 * b, ones, &acc0, &sum0)
            if columns > 1 { accumulate(u, dw, x1 + xBytes * b + offset, s1 + 2 * b, ones, &acc1, &sum1) }
            if columns > 2 { accumulate(u, dw, x2 + xBytes * b + offset, s2 + 2 * b, ones, &acc2, &sum2) }
            if columns > 3 { accumulate(u, dw, x3 + xBytes * b + offset, s3 + 2 * b, ones, &acc3, &sum3) }
        }
        y[0] = sum8(acc0) + format.factor * sum0[1]
        if columns > 1 { y[yStride] = sum8(acc1) + format.factor * sum1[1] }
        if columns > 2 { y[2 * yStride] = sum8(acc2) + format.factor * sum2[1] }
        if columns > 3 { y[3 * yStride] = sum8(acc3) + format.factor * sum3[1] }
    }

    /// One weight row × one activation row (its blocks and scale table), even and odd blocks in separate accumulators (two FMA chains).
    @inline(__always)
    static func single(_ w: UnsafeRawPointer, _ blocks: Int, _ row: UnsafeRawPointer, _ sr: UnsafePointer<Float>,
                       _ format: Format,
                       decode: (UnsafeRawPointer) -> (__m256i, __m128)) -> Float {
        let ones = _mm256_set1_epi16(1)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var sum0 = _mm_setzero_ps(), sum1 = _mm_setzero_ps()
        let xr = row + format.quantsOffset
        let (wBytes, xBytes) = (format.weightBytes, format.activationBytes)
        var b = 0
        while b + 1 < blocks {
            let (u0, dw0) = decode(w + wBytes * b)
            let (u1, dw1) = decode(w + wBytes * (b + 1))
            accumulate(u0, dw0, xr + xBytes * b, sr + 2 * b, ones, &acc0, &sum0)
            accumulate(u1, dw1, xr + xBytes * (b + 1), sr + 2 * (b + 1), ones, &acc1, &sum1)
            b += 2
        }
        if b < blocks {
            let (u, dw) = decode(w + wBytes * b)
            accumulate(u, dw, xr + xBytes * b, sr + 2 * b, ones, &acc0, &sum0)
        }
        return sum8(_mm256_add_ps(acc0, acc1)) + format.factor * _mm_add_ps(sum0, sum1)[1]
    }

    /// acc += d_w·d_x·(u·p) and sums += (d_w, f_w)·(d_x, t_x) for unsigned weight quants u, the 32 activation
    /// quants at p and the activation table entry (d_x, t_x) at ds.
    @inline(__always)
    static func accumulate(_ u: __m256i, _ dw: __m128, _ p: UnsafeRawPointer, _ ds: UnsafePointer<Float>,
                           _ ones: __m256i, _ acc: inout __m256, _ sums: inout __m128) {
        let products = _mm256_madd_epi16(_mm256_maddubs_epi16(u, _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self))), ones)
        let scales = _mm_mul_ps(dw, _mm_castsi128_ps(_mm_loadl_epi64(UnsafeRawPointer(ds).assumingMemoryBound(to: __m128i.self))))
        acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(scales), _mm256_cvtepi32_ps(products), acc)
        sums = _mm_add_ps(sums, scales)
    }
}

/// acc + scale·(q·p) for signed weight quants q (given with their magnitudes), the Q8_0 block at xb and
/// scale = d_w·d_x.
@inline(__always)
private func accumulate(_ q: __m256i, _ magnitude: __m256i, _ xb: UnsafeRawPointer, _ scale: Float, _ ones: __m256i,
                        _ acc: __m256) -> __m256 {
    let p = _mm256_sign_epi8(_mm256_loadu_si256(xb.advanced(by: 2).assumingMemoryBound(to: __m256i.self)), q)
    let products = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, p), ones)
    return _mm256_fmadd_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(products), acc)
}

@inline(__always)
private func sum8(_ v: __m256) -> Float {
    let s: SIMD8<Float> = v
    let h = s.lowHalf + s.highHalf
    return (h[0] + h[2]) + (h[1] + h[3])
}
#endif

#if arch(x86_64)
/// Σ of step over blocks 0..<blocks, even and odd blocks accumulated separately (two FMA dependency chains).
@inline(__always)
private func twoChains(_ blocks: Int, _ step: (Int, inout __m256) -> Void) -> Float {
    var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
    var b = 0
    while b + 1 < blocks {
        step(b, &acc0)
        step(b + 1, &acc1)
        b += 2
    }
    if b < blocks { step(b, &acc0) }
    return sum8(_mm256_add_ps(acc0, acc1))
}
#endif

@inline(__always)
private func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}
