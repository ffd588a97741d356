// F16 vector primitives with llama.cpp's CPU rounding (ggml_vec_dot_f16, ggml_vec_mad_f16, ggml_vec_scale_f16
// on AVX2), for attention over an F16 KV cache that reproduces llama.cpp's figures.
//
// dot:         products of halves in F32, summed in 4 × 8 F32 lanes with FMA over steps of 32, the lanes reduced
//              as ggml's GGML_F32x8_REDUCE does; a tail shorter than 32 is added in Double.
// multiplyAdd: y = F16(fma(x, v, y)) per element (ggml's scalar tail, for lengths not a multiple of 32, which no
//              supported head size has, is written unfused and may round differently).
// scale:       y = F16(y · v).
//
// Each has a scalar reference (the definition) and an AVX2 version tested bit for bit against it.

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

public enum HalfVector {
    static let step = 32   // GGML_F16_STEP on AVX2: four vectors of eight

    // MARK: dot

    /// Σ a[i]·b[i] over F16 inputs, in llama.cpp's order and precision.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float16>, _ b: UnsafePointer<Float16>, count n: Int) -> Float {
        #if arch(x86_64)
        return dotAVX2(a, b, count: n)
        #else
        return dotReference(a, b, count: n)
        #endif
    }

    public static func dotReference(_ a: UnsafePointer<Float16>, _ b: UnsafePointer<Float16>, count n: Int) -> Float {
        let main = n - n % step
        var lanes = [Float](repeating: 0, count: step)   // lanes[8j + l]: accumulator j, lane l
        var i = 0
        while i < main {
            for k in 0..<step { lanes[k] = fusedMultiplyAdd(Float(a[i + k]), Float(b[i + k]), lanes[k]) }
            i += step
        }
        var sum = Double(reduceLanes(lanes))
        while i < n { sum += Double(Float(a[i]) * Float(b[i])); i += 1 }
        return Float(sum)
    }

    /// fma(a, b, c) with one rounding.
    @inline(__always)
    static func fusedMultiplyAdd(_ a: Float, _ b: Float, _ c: Float) -> Float { c.addingProduct(a, b) }

    /// GGML_F32x8_REDUCE of four accumulators: x0 += x2, x1 += x3, x0 += x1, then the halves of x0 added
    /// and two horizontal adds.
    static func reduceLanes(_ lanes: [Float]) -> Float {
        var x0 = [Float](repeating: 0, count: 8)
        for l in 0..<8 {
            let a = lanes[l] + lanes[16 + l], b = lanes[8 + l] + lanes[24 + l]
            x0[l] = a + b
        }
        let t0 = (0..<4).map { x0[$0] + x0[$0 + 4] }
        return (t0[0] + t0[1]) + (t0[2] + t0[3])
    }

    // MARK: multiplyAdd and scale

    /// y[i] = F16(fma(x[i], v, y[i])) (llama.cpp's ggml_vec_mad_f16).
    @inline(__always)
    public static func multiplyAdd(_ x: UnsafePointer<Float16>, _ v: Float, into y: UnsafeMutablePointer<Float16>, count n: Int) {
        #if arch(x86_64)
        multiplyAddAVX2(x, v, into: y, count: n)
        #else
        multiplyAddReference(x, v, into: y, count: n)
        #endif
    }

    public static func multiplyAddReference(_ x: UnsafePointer<Float16>, _ v: Float, into y: UnsafeMutablePointer<Float16>,
                                            count n: Int) {
        for i in 0..<n { y[i] = Float16(fusedMultiplyAdd(Float(x[i]), v, Float(y[i]))) }
    }

    /// y[i] = fma(x[i], v, y[i]) into Float: the widening form, for sums that could leave F16's range.
    @inline(__always)
    public static func multiplyAdd(_ x: UnsafePointer<Float16>, _ v: Float, into y: UnsafeMutablePointer<Float>,
                                   count n: Int) {
        var i = 0
        #if arch(x86_64)
        let vv = _mm256_set1_ps(v)
        while i + 8 <= n {
            _mm256_storeu_ps(y + i, _mm256_fmadd_ps(load8(x + i), vv, _mm256_loadu_ps(y + i)))
            i += 8
        }
        #endif
        while i < n { y[i] = fusedMultiplyAdd(Float(x[i]), v, y[i]); i += 1 }
    }

    public static func multiplyAddReference(_ x: UnsafePointer<Float16>, _ v: Float, into y: UnsafeMutablePointer<Float>,
                                            count n: Int) {
        for i in 0..<n { y[i] = fusedMultiplyAdd(Float(x[i]), v, y[i]) }
    }

    /// y[i] = F16(y[i] · v) (llama.cpp's ggml_vec_scale_f16).
    @inline(__always)
    public static func scale(_ y: UnsafeMutablePointer<Float16>, by v: Float, count n: Int) {
        #if arch(x86_64)
        scaleAVX2(y, by: v, count: n)
        #else
        scaleReference(y, by: v, count: n)
        #endif
    }

    public static func scaleReference(_ y: UnsafeMutablePointer<Float16>, by v: Float, count n: Int) {
        for i in 0..<n { y[i] = Float16(Float(y[i]) * v) }
    }

    // MARK: conversions

    /// y[i] = F16(x[i] · v), round to nearest even (v = 1: a plain conversion).
    @inline(__always)
    public static func round(_ x: UnsafePointer<Float>, times v: Float = 1, into y: UnsafeMutablePointer<Float16>,
                             count n: Int) {
        var i = 0
        #if arch(x86_64)
        let vv = _mm256_set1_ps(v)
        while i + 8 <= n {
            store8(_mm256_mul_ps(_mm256_loadu_ps(x + i), vv), y + i)
            i += 8
        }
        #endif
        while i < n { y[i] = Float16(x[i] * v); i += 1 }
    }

    /// y[i] = Float(x[i]) · v
    @inline(__always)
    public static func widen(_ x: UnsafePointer<Float16>, times v: Float, into y: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        #if arch(x86_64)
        let vv = _mm256_set1_ps(v)
        while i + 8 <= n {
            _mm256_storeu_ps(y + i, _mm256_mul_ps(load8(x + i), vv))
            i += 8
        }
        #endif
        while i < n { y[i] = Float(x[i]) * v; i += 1 }
    }

    // MARK: AVX2

    #if arch(x86_64)
    @inline(__always)
    static func load8(_ p: UnsafePointer<Float16>) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(p).assumingMemoryBound(to: __m128i.self)))
    }

    /// Rounds eight floats to F16 (nearest even) and stores them (vcvtps2ph with F16C).
    @inline(__always)
    static func store8(_ v: __m256, _ p: UnsafeMutablePointer<Float16>) {
        UnsafeMutableRawPointer(p).storeBytes(of: SIMD8<Float16>(SIMD8<Float>(v)), as: SIMD8<Float16>.self)
    }

    @inline(__always)
    static func dotAVX2(_ a: UnsafePointer<Float16>, _ b: UnsafePointer<Float16>, count n: Int) -> Float {
        var s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps()
        var i = 0
        while i + step <= n {
            s0 = _mm256_fmadd_ps(load8(a + i), load8(b + i), s0)
            s1 = _mm256_fmadd_ps(load8(a + i + 8), load8(b + i + 8), s1)
            s2 = _mm256_fmadd_ps(load8(a + i + 16), load8(b + i + 16), s2)
            s3 = _mm256_fmadd_ps(load8(a + i + 24), load8(b + i + 24), s3)
            i += step
        }
        let x0 = SIMD8<Float>(_mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s1, s3)))
        let t0 = x0.lowHalf + x0.highHalf
        var sum = Double((t0[0] + t0[1]) + (t0[2] + t0[3]))
        while i < n { sum += Double(Float(a[i]) * Float(b[i])); i += 1 }
        return Float(sum)
    }

    @inline(__always)
    static func multiplyAddAVX2(_ x: UnsafePointer<Float16>, _ v: Float, into y: UnsafeMutablePointer<Float16>, count n: Int) {
        let vv = _mm256_set1_ps(v)
        var i = 0
        while i + 8 <= n {
            store8(_mm256_fmadd_ps(load8(x + i), vv, load8(y + i)), y + i)
            i += 8
        }
        while i < n { y[i] = Float16(fusedMultiplyAdd(Float(x[i]), v, Float(y[i]))); i += 1 }
    }

    @inline(__always)
    static func scaleAVX2(_ y: UnsafeMutablePointer<Float16>, by v: Float, count n: Int) {
        let vv = _mm256_set1_ps(v)
        var i = 0
        while i + 8 <= n {
            store8(_mm256_mul_ps(load8(y + i), vv), y + i)
            i += 8
        }
        while i < n { y[i] = Float16(Float(y[i]) * v); i += 1 }
    }
    #endif
}
