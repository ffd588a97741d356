// Q4_1 weights × Q8_1 activations.
//
//   block_q4_1 (20 bytes, 32 values): d: Float16 @0 | m: Float16 @2 | qs: UInt8[16] @4
//       value j      = d·(qs[j] & 0xF) + m        (j in 0..<16)
//       value j + 16 = d·(qs[j] >> 4)  + m
//   block_q8_1 (36 bytes): d: Float16 @0 | s: Float16 @2 (= d·Σq) | qs: Int8[32] @4
//
// Per block: Σ_j w_j·x_j = d_w·d_x·Σ_j q_j·p_j + m_w·d_x·Σ_j p_j = d_w·d_x·Σ q·p + m_w·s_x.

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

enum DotQ4_1 {
    static let weightBlockBytes = 20
    static let activationBlockBytes = 36

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
            let blocks = w.blocksPerRow
            for r in rows { y[r] = single(w.row(r), blocks, x, c) }
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
        let low4 = _mm256_set1_epi8(0xF)
        let ones = _mm256_set1_epi16(1)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        // Lane 1 accumulates m_w·s_x (lane 0 collects unused d_w·d_x).
        var min0 = _mm_setzero_ps(), min1 = _mm_setzero_ps(), min2 = _mm_setzero_ps(), min3 = _mm_setzero_ps()
        let g = x.group(first, columns)
        let (x0, x1, x2, x3, s0, s1, s2, s3) = (g.x0, g.x1, g.x2, g.x3, g.s0, g.s1, g.s2, g.s3)
        var wb = w
        for b in 0..<blocks {
            let (q, dm) = decode(wb, low4)
            accumulate(q, dm, x0 + 36 * b, s0 + 2 * b, ones, &acc0, &min0)
            if columns > 1 { accumulate(q, dm, x1 + 36 * b, s1 + 2 * b, ones, &acc1, &min1) }
            if columns > 2 { accumulate(q, dm, x2 + 36 * b, s2 + 2 * b, ones, &acc2, &min2) }
            if columns > 3 { accumulate(q, dm, x3 + 36 * b, s3 + 2 * b, ones, &acc3, &min3) }
            wb += 20
        }
        y[0] = sum8(acc0) + min0[1]
        if columns > 1 { y[yStride] = sum8(acc1) + min1[1] }
        if columns > 2 { y[2 * yStride] = sum8(acc2) + min2[1] }
        if columns > 3 { y[3 * yStride] = sum8(acc3) + min3[1] }
    }

    /// One weight row × activation row `row`, even and odd blocks in separate accumulators (two FMA chains).
    @inline(__always)
    static func single(_ w: UnsafeRawPointer, _ blocks: Int, _ x: ActivationRows, _ row: Int) -> Float {
        let low4 = _mm256_set1_epi8(0xF)
        let ones = _mm256_set1_epi16(1)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var min0 = _mm_setzero_ps(), min1 = _mm_setzero_ps()
        let xr = x.row(row), sr = x.scales(row)
        var b = 0
        while b + 1 < blocks {
            let (q0, dm0) = decode(w + 20 * b, low4)
            let (q1, dm1) = decode(w + 20 * (b + 1), low4)
            accumulate(q0, dm0, xr + 36 * b, sr + 2 * b, ones, &acc0, &min0)
            accumulate(q1, dm1, xr + 36 * (b + 1), sr + 2 * (b + 1), ones, &acc1, &min1)
            b += 2
        }
        if b < blocks {
            let (q, dm) = decode(w + 20 * b, low4)
            accumulate(q, dm, xr + 36 * b, sr + 2 * b, ones, &acc0, &min0)
        }
        return sum8(_mm256_add_ps(acc0, acc1)) + _mm_add_ps(min0, min1)[1]
    }

    /// The 32 quants (0...15, low nibbles = values 0..<16, high nibbles = 16..<32) and (d, m, 0, 0) of the
    /// block at wb.
    @inline(__always)
    static func decode(_ wb: UnsafeRawPointer, _ low4: __m256i) -> (__m256i, __m128) {
        let dm = _mm_cvtph_ps(_mm_cvtsi32_si128(wb.loadUnaligned(as: Int32.self)))
        // The 16 bytes in both 128-bit halves, the upper half shifted right by 4 (32-bit lanes: the bits that
        // cross into a byte's high nibble are masked off), then & 0xF.
        let packed = _mm256_broadcastsi128_si256(_mm_loadu_si128(wb.advanced(by: 4).assumingMemoryBound(to: __m128i.self)))
        let q = _mm256_and_si256(_mm256_srlv_epi32(packed, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), low4)
        return (q, dm)
    }
    #endif
}

#if arch(x86_64)
/// acc += d_w·d_x·(q·p) and mins += (·, m_w·s_x) for unsigned weight quants q (0...15), dm = (d_w, m_w),
/// the Q8_1 block at xb and its widened scales (d_x, s_x) at ds.
@inline(__always)
private func accumulate(_ q: __m256i, _ dm: __m128, _ xb: UnsafeRawPointer, _ ds: UnsafePointer<Float>,
                        _ ones: __m256i, _ acc: inout __m256, _ mins: inout __m128) {
    let p = _mm256_loadu_si256(xb.advanced(by: 4).assumingMemoryBound(to: __m256i.self))
    let products = _mm256_madd_epi16(_mm256_maddubs_epi16(q, p), ones)
    let scales = _mm_mul_ps(dm, _mm_castsi128_ps(_mm_loadl_epi64(UnsafeRawPointer(ds).assumingMemoryBound(to: __m128i.self))))
    acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(scales), _mm256_cvtepi32_ps(products), acc)
    mins = _mm_add_ps(mins, scales)
}

@inline(__always)
private func sum8(_ v: __m256) -> Float {
    let s: SIMD8<Float> = v
    let h = s.lowHalf + s.highHalf
    return (h[0] + h[2]) + (h[1] + h[3])
}
#endif

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
