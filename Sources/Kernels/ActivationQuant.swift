// Quantisation of float activations into the 8-bit block formats the quantised dot products consume.
//
// Block layouts (byte offsets; every field little-endian, blocks packed back to back, no alignment):
//   block_q8_0 (34 bytes):  d: Float16 @0 | qs: Int8[32] @2
//   block_q8_1 (36 bytes):  d: Float16 @0 | s: Float16 @2 | qs: Int8[32] @4        s = d·Σqs
//   block_q8_K (292 bytes): d: Float32 @0 | qs: Int8[256] @4 | bsums: Int16[16] @260  bsums[j] = Σ qs[16j..<16j+16]
//
// Definitions follow ggml's CPU backend on x86 so that dot products agree with llama.cpp's:
//   Q8_0, Q8_1: amax = max|x|, d = amax/127, q = round-half-even(x · 127/amax) (0 when amax = 0);
//               for Q8_1, s = Float16(d · Σq) with d in full precision (ggml's AVX path).
//   Q8_K:       max = the x of largest |x| (the first such), iscale = −127/max,
//               q = min(127, round-half-even(iscale·x)), d = 1/iscale (Float32, negative when max > 0),
//               bsums as above; an all-zero block has d = 0, q = 0, bsums = 0 (ggml's quantize_row_q8_K_ref,
//               which x86 uses).
// The scalar functions are the reference; the AVX2 ones produce bit-identical blocks.

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

public enum ActivationQuant {
    /// The activation format that dot products with weights of `type` consume (nil: a float dot product).
    public static func format(pairedWith type: QuantType) -> QuantType? {
        type.format.dot?.activation
    }

    /// Quantises `count` floats (a multiple of the format's block size) into `dst` as `format`
    /// (.q8_0, .q8_1 or .q8_K); dst must hold format.byteCount(for: count) bytes.
    public static func quantize(_ x: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int,
                                as format: QuantType) {
        guard let quantizer = format.format.quantizeActivations else {
            preconditionFailure("\(format) is not an activation format")
        }
        quantizer(x, dst, count)
    }

    // MARK: Q8_0 and Q8_1 (blocks of 32)

    public static func quantizeQ8_0(_ x: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int) {
        precondition(count % 32 == 0, "Q8_0 needs a multiple of 32 values")
        blocks32(x, into: dst, count: count, withSums: false, quantizeBlock32)
    }

    public static func quantizeQ8_1(_ x: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int) {
        precondition(count % 32 == 0, "Q8_1 needs a multiple of 32 values")
        blocks32(x, into: dst, count: count, withSums: true, quantizeBlock32)
    }

    /// The block quantiser of this machine: AVX2 where there is one, else the scalar reference (the same blocks).
    @inline(__always)
    static func quantizeBlock32(_ x: UnsafePointer<Float>, qs: UnsafeMutableRawPointer) -> (Float, Int32) {
        #if arch(x86_64)
        quantizeBlock32AVX2(x, qs: qs)
        #else
        quantizeBlock32Reference(x, qs: qs)
        #endif
    }

    /// Scalar reference of Q8_0 (same blocks as quantizeQ8_0 on every architecture).
    static func quantizeQ8_0Reference(_ x: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int) {
        blocks32(x, into: dst, count: count, withSums: false, quantizeBlock32Reference)
    }

    /// Scalar reference of Q8_1.
    static func quantizeQ8_1Reference(_ x: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int) {
        blocks32(x, into: dst, count: count, withSums: true, quantizeBlock32Reference)
    }

    /// Q8_0 blocks (d, qs: 34 bytes) or, `withSums`, Q8_1 blocks (d, s = d·Σq, qs: 36 bytes), each block's quants
    /// written by `quantizeBlock` (which returns d and Σq).
    @inline(__always)
    static func blocks32(_ x: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int, withSums: Bool,
                         _ quantizeBlock: (UnsafePointer<Float>, UnsafeMutableRawPointer) -> (Float, Int32)) {
        let blockBytes = withSums ? 36 : 34
        for b in 0..<count / 32 {
            let block = dst + blockBytes * b
            let (d, sum) = quantizeBlock(x + 32 * b, block + (withSums ? 4 : 2))
            block.storeBytes(of: Float16(d).bitPattern, as: UInt16.self)
            if withSums {
                block.storeBytes(of: Float16(d * Float(sum)).bitPattern, toByteOffset: 2, as: UInt16.self)
            }
        }
    }

    /// Writes the 32 int8 quants of one block to `qs`; returns (d = amax/127 in Float32, Σq).
    @inline(__always)
    static func quantizeBlock32Reference(_ x: UnsafePointer<Float>, qs: UnsafeMutableRawPointer) -> (Float, Int32) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id: Float = amax != 0 ? 127 / amax : 0
        var sum: Int32 = 0
        for j in 0..<32 {
            let q = Int32((x[j] * id).rounded(.toNearestOrEven))
            let clamped = Int8(max(-128, min(127, q)))
            qs.storeBytes(of: clamped, toByteOffset: j, as: Int8.self)
            sum += q
        }
        return (d, sum)
    }

    #if arch(x86_64)
    /// AVX2 version of quantizeBlock32Reference (bit-identical: same multiply, same rounding).
    @inline(__always)
    static func quantizeBlock32AVX2(_ x: UnsafePointer<Float>, qs: UnsafeMutableRawPointer) -> (Float, Int32) {
        let v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8)
        let v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24)
        let sign = _mm256_set1_ps(-0.0)
        var m = _mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1))
        m = _mm256_max_ps(m, _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)))
        let amax = horizontalMax(m)
        let d = amax / 127
        let mul = _mm256_set1_ps(amax != 0 ? 127 / amax : 0)
        // cvtps rounds to nearest-even (the default MXCSR mode), as _mm256_round_ps(_MM_ROUND_NEAREST) does.
        let i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, mul)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, mul))
        let i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, mul)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, mul))
        let total = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3))
        let sum = unsafeBitCast(total, to: SIMD8<Int32>.self).wrappedSum()
        // int32 → int16 → int8 with saturation; the packs interleave 128-bit lanes, the permute undoes it.
        let p16a = _mm256_packs_epi32(i0, i1), p16b = _mm256_packs_epi32(i2, i3)
        let p8 = _mm256_packs_epi16(p16a, p16b)
        let ordered = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
        _mm256_storeu_si256(qs.assumingMemoryBound(to: __m256i.self), ordered)
        return (d, sum)
    }

    @inline(__always)
    static func horizontalMax(_ v: __m256) -> Float {
        let s: SIMD8<Float> = v
        let h = pointwiseMax(s.lowHalf, s.highHalf)
        return max(max(h[0], h[1]), max(h[2], h[3]))
    }
    #endif

    // MARK: Q8_K (blocks of 256)

    public static func quantizeQ8_K(_ x: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int) {
        precondition(count % 256 == 0, "Q8_K needs a multiple of 256 values")
        #if arch(x86_64)
        for b in 0..<count / 256 { quantizeBlockQ8_KAVX2(x + 256 * b, dst + 292 * b) }
        #else
        quantizeQ8_KReference(x, into: dst, count: count)
        #endif
    }

    /// Scalar reference of Q8_K (ggml's quantize_row_q8_K_ref).
    static func quantizeQ8_KReference(_ x: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int) {
        for b in 0..<count / 256 {
            let xb = x + 256 * b
            let block = dst + 292 * b
            let max = signedMaximum(xb)
            if max == 0 {
                zeroQ8_KBlock(block)
                continue
            }
            let iscale = -127 / max
            for j in 0..<256 {
                let q = min(127, Int32((iscale * xb[j]).rounded(.toNearestOrEven)))
                block.storeBytes(of: Int8(q), toByteOffset: 4 + j, as: Int8.self)
            }
            for j in 0..<16 {
                var sum: Int32 = 0
                for i in 0..<16 { sum += Int32(block.load(fromByteOffset: 4 + 16 * j + i, as: Int8.self)) }
                block.storeBytes(of: Int16(sum), toByteOffset: 260 + 2 * j, as: Int16.self)
            }
            block.storeBytes(of: 1 / iscale, as: Float.self)
        }
    }

    /// The first value of largest magnitude among x[0..<256] (0 when all are zero).
    @inline(__always)
    static func signedMaximum(_ x: UnsafePointer<Float>) -> Float {
        var amax: Float = 0, max: Float = 0
        for j in 0..<256 {
            let ax = abs(x[j])
            if ax > amax { amax = ax; max = x[j] }
        }
        return max
    }

    @inline(__always)
    static func zeroQ8_KBlock(_ block: UnsafeMutableRawPointer) {
        block.initializeMemory(as: UInt8.self, repeating: 0, count: 292)
    }

    #if arch(x86_64)
    @inline(__always)
    static func quantizeBlockQ8_KAVX2(_ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer) {
        // Largest magnitude with AVX2, then the first element that has it (for its sign).
        let sign = _mm256_set1_ps(-0.0)
        var m = _mm256_andnot_ps(sign, _mm256_loadu_ps(x))
        for j in stride(from: 8, to: 256, by: 8) { m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j))) }
        let amax = horizontalMax(m)
        if amax == 0 {
            zeroQ8_KBlock(block)
            return
        }
        var j = 0
        while abs(x[j]) != amax { j += 1 }
        let iscale = -127 / x[j]
        let mul = _mm256_set1_ps(iscale)
        let limit = _mm256_set1_epi32(127)
        let ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1)
        let qs = block + 4
        for c in 0..<8 {   // 32 values per step: bsums[2c], bsums[2c+1]
            let xc = x + 32 * c
            let i0 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xc), mul)), limit)
            let i1 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xc + 8), mul)), limit)
            let i2 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xc + 16), mul)), limit)
            let i3 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xc + 24), mul)), limit)
            let p8 = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3))
            let ordered = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
            _mm256_storeu_si256((qs + 32 * c).assumingMemoryBound(to: __m256i.self), ordered)
            // Sums of 4 consecutive quants (sign applied through maddubs' signed operand), then of 16.
            let s4 = unsafeBitCast(_mm256_madd_epi16(_mm256_maddubs_epi16(ones8, ordered), ones16), to: SIMD8<Int32>.self)
            let low = s4[0] &+ s4[1] &+ s4[2] &+ s4[3], high = s4[4] &+ s4[5] &+ s4[6] &+ s4[7]
            block.storeBytes(of: Int16(truncatingIfNeeded: low), toByteOffset: 260 + 4 * c, as: Int16.self)
            block.storeBytes(of: Int16(truncatingIfNeeded: high), toByteOffset: 262 + 4 * c, as: Int16.self)
        }
        block.storeBytes(of: 1 / iscale, as: Float.self)
    }
    #endif
}
