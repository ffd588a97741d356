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

    /// y[c·yStride] = dot(w, x_c) for the n activation rows x_c = x + c·xStride (bytes).
    /// Loads each weight block once for up to four activation rows.
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
            acc0 = accumulate(q, xb, dw, ones, acc0); min0 += mw * half(xb, 2)
            if columns > 1 { acc1 = accumulate(q, xb + xStride, dw, ones, acc1); min1 += mw * half(xb + xStride, 2) }
            if columns > 2 { acc2 = accumulate(q, xb + 2 * xStride, dw, ones, acc2); min2 += mw * half(xb + 2 * xStride, 2) }
            if columns > 3 { acc3 = accumulate(q, xb + 3 * xStride, dw, ones, acc3); min3 += mw * half(xb + 3 * xStride, 2) }
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
private func accumulate(_ q: __m256i, _ xb: UnsafeRawPointer, _ dw: Float, _ ones: __m256i, _ acc: __m256) -> __m256 {
    let p = _mm256_loadu_si256(xb.advanced(by: 4).assumingMemoryBound(to: __m256i.self))
    let products = _mm256_madd_epi16(_mm256_maddubs_epi16(q, p), ones)
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
