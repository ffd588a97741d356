// SIMD (AVX2 + F16C) dequantisation of the formats Raconteur's models store their weights in, used
// to materialise embedding rows and whole weight matrices for sgemm. Each kernel computes exactly
// what the scalar reference in Dequantize.swift computes (same products and sums in the same order,
// no fused multiply-add), so the two agree bit for bit; the block layouts are documented there.
//
// The Kernels target gets -mavx2 -mfma -mf16c on Linux only (Package.swift), hence the guard.

#if arch(x86_64) && os(Linux)
import _Builtin_intrinsics.intel
#endif

extension Dequantize {
    /// The SIMD decoders this machine has, by format (read once by the BlockFormat table).
    #if arch(x86_64) && os(Linux)
    static let simdDecoders: [QuantType: BlockDecoder] = [
        .f16: AVX2Dequantize.f16, .q4_1: AVX2Dequantize.q4_1, .q5_0: AVX2Dequantize.q5_0,
        .q8_0: AVX2Dequantize.q8_0, .q4_K: AVX2Dequantize.q4_K, .q6_K: AVX2Dequantize.q6_K,
    ]
    #else
    static let simdDecoders: [QuantType: BlockDecoder] = [:]
    #endif
}

#if arch(x86_64) && os(Linux)
/// AVX2 twins of the scalar reference decoders. They work on 8 quants at a time: 8 bytes are loaded
/// into the low half of an SSE register, their nibbles / bit fields separated with byte masks, then
/// widened to 8 int32 lanes and converted to floats.
enum AVX2Dequantize {
    /// 8 bytes from `p` (no alignment needed) in the low half of a 128-bit register.
    @inline(__always)
    private static func load8(_ p: UnsafeRawPointer) -> __m128i {
        _mm_cvtsi64_si128(p.loadUnaligned(as: Int64.self))
    }

    /// The low 8 bytes of `bytes`, as unsigned integers, converted to 8 floats.
    @inline(__always)
    private static func floatsFromUnsignedBytes(_ bytes: __m128i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes))
    }

    @inline(__always) private static func lowNibbles(_ bytes: __m128i) -> __m128i {
        _mm_and_si128(bytes, _mm_set1_epi8(0x0F))
    }

    @inline(__always) private static func highNibbles(_ bytes: __m128i) -> __m128i {
        _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0F))
    }

    /// F16: 8 halves at a time with vcvtph2ps; the last count % 8 values one by one.
    static func f16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        var i = 0
        while i + 8 <= count {
            let halves = src.loadUnaligned(fromByteOffset: 2 * i, as: __m128i.self)
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(halves))
            i += 8
        }
        while i < count {
            dst[i] = Half.load(src, byteOffset: 2 * i)
            i += 1
        }
    }

    /// Q4_1: x = d · q + m; value j in the low nibble of byte j, value j+16 in the high nibble.
    static func q4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        for b in 0..<blockCount {
            let block = src + b * 20
            let out = dst + b * 32
            let d = _mm256_set1_ps(Half.load(block, byteOffset: 0))
            let m = _mm256_set1_ps(Half.load(block, byteOffset: 2))
            for group in 0..<2 {
                let bytes = load8(block + 4 + 8 * group)
                let low = floatsFromUnsignedBytes(lowNibbles(bytes))
                let high = floatsFromUnsignedBytes(highNibbles(bytes))
                _mm256_storeu_ps(out + 8 * group, _mm256_add_ps(_mm256_mul_ps(low, d), m))
                _mm256_storeu_ps(out + 16 + 8 * group, _mm256_add_ps(_mm256_mul_ps(high, d), m))
            }
        }
    }

    /// Q5_0: x = d · (q − 16); bit 4 of value j is bit j of the 32-bit qh.
    static func q5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        let laneIndex = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
        let one = _mm256_set1_epi32(1)
        let sixteen = _mm256_set1_epi32(16)
        /// Bit 4 of the 8 values starting at `first`: (qh >> (first + lane)) & 1, moved to bit 4.
        @inline(__always) func fifthBits(_ qh: __m256i, _ first: Int32) -> __m256i {
            let shifts = _mm256_add_epi32(laneIndex, _mm256_set1_epi32(first))
            return _mm256_slli_epi32(_mm256_and_si256(_mm256_srlv_epi32(qh, shifts), one), 4)
        }
        /// 8 quants (low 4 bits in `nibbles`, bit 4 in `fifth`) minus 16, times d.
        @inline(__always) func decode(_ nibbles: __m128i, _ fifth: __m256i, _ d: __m256) -> __m256 {
            let q = _mm256_sub_epi32(_mm256_or_si256(_mm256_cvtepu8_epi32(nibbles), fifth), sixteen)
            return _mm256_mul_ps(_mm256_cvtepi32_ps(q), d)
        }
        for b in 0..<blockCount {
            let block = src + b * 22
            let out = dst + b * 32
            let d = _mm256_set1_ps(Half.load(block, byteOffset: 0))
            let qh = _mm256_set1_epi32(block.loadUnaligned(fromByteOffset: 2, as: Int32.self))
            for group in 0..<2 {
                let bytes = load8(block + 6 + 8 * group)
                let first = Int32(8 * group)
                _mm256_storeu_ps(out + 8 * group, decode(lowNibbles(bytes), fifthBits(qh, first), d))
                _mm256_storeu_ps(out + 16 + 8 * group, decode(highNibbles(bytes), fifthBits(qh, 16 + first), d))
            }
        }
    }

    /// Q8_0: x = d · q, q signed bytes.
    static func q8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        for b in 0..<blockCount {
            let block = src + b * 34
            let out = dst + b * 32
            let d = _mm256_set1_ps(Half.load(block, byteOffset: 0))
            for group in 0..<4 {
                let q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(block + 2 + 8 * group)))
                _mm256_storeu_ps(out + 8 * group, _mm256_mul_ps(q, d))
            }
        }
    }

    /// Q4_K: per sub-block s, x = (d · scale_s) · q − (dmin · min_s); 32 bytes of quants per pair of
    /// sub-blocks, the first sub-block in the low nibbles, the second in the high nibbles.
    static func q4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        for b in 0..<blockCount {
            let block = src + b * 144
            let d = Half.load(block, byteOffset: 0)
            let dmin = Half.load(block, byteOffset: 2)
            let scales = block + 4
            for chunk in 0..<4 {
                let out = dst + b * 256 + chunk * 64
                let quants = block + 16 + chunk * 32
                let low = KQuantScales.factors(scales, 2 * chunk, d: d, dmin: dmin)
                let high = KQuantScales.factors(scales, 2 * chunk + 1, d: d, dmin: dmin)
                let dLow = _mm256_set1_ps(low.scale), mLow = _mm256_set1_ps(low.min)
                let dHigh = _mm256_set1_ps(high.scale), mHigh = _mm256_set1_ps(high.min)
                for group in 0..<4 {
                    let bytes = load8(quants + 8 * group)
                    let qLow = floatsFromUnsignedBytes(lowNibbles(bytes))
                    let qHigh = floatsFromUnsignedBytes(highNibbles(bytes))
                    _mm256_storeu_ps(out + 8 * group, _mm256_sub_ps(_mm256_mul_ps(dLow, qLow), mLow))
                    _mm256_storeu_ps(out + 32 + 8 * group, _mm256_sub_ps(_mm256_mul_ps(dHigh, qHigh), mHigh))
                }
            }
        }
    }

    /// Q6_K: per sub-block of 16, x = (d · scale) · (q − 32); q's low 4 bits in ql, high 2 in qh.
    static func q6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        let twoBits = _mm_set1_epi8(0x03)
        let thirtyTwo = _mm256_set1_epi32(32)
        /// 8 quants from their low 4 bits and their high 2 bits (both in the low bits of each byte),
        /// minus 32, times `scale`.
        @inline(__always) func decode(_ low: __m128i, _ high: __m128i, _ scale: Float) -> __m256 {
            let q = _mm_or_si128(low, _mm_slli_epi16(_mm_and_si128(high, twoBits), 4))
            let centred = _mm256_sub_epi32(_mm256_cvtepu8_epi32(q), thirtyTwo)
            return _mm256_mul_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(centred))
        }
        for b in 0..<blockCount {
            let block = src + b * 210
            let d = Half.load(block, byteOffset: 208)
            for half in 0..<2 {
                let out = dst + b * 256 + half * 128
                let ql = block + half * 64
                let qh = block + 128 + half * 32
                let scales = (block + 192 + half * 8).assumingMemoryBound(to: Int8.self)
                for group in 0..<4 {
                    let subBlock = group / 2  // 16 values per scale, 8 per group
                    let lowA = load8(ql + 8 * group), lowB = load8(ql + 32 + 8 * group)
                    let high = load8(qh + 8 * group)
                    let l = 8 * group
                    _mm256_storeu_ps(out + l, decode(lowNibbles(lowA), high, d * Float(scales[subBlock])))
                    _mm256_storeu_ps(out + l + 32, decode(lowNibbles(lowB), _mm_srli_epi16(high, 2), d * Float(scales[subBlock + 2])))
                    _mm256_storeu_ps(out + l + 64, decode(highNibbles(lowA), _mm_srli_epi16(high, 4), d * Float(scales[subBlock + 4])))
                    _mm256_storeu_ps(out + l + 96, decode(highNibbles(lowB), _mm_srli_epi16(high, 6), d * Float(scales[subBlock + 6])))
                }
            }
        }
    }
}
#endif
