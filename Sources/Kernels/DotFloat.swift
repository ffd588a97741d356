// Float × float dot products (the float path of MatMul).

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

enum FloatDot {
    /// Σ a[i]·b[i] for i in 0..<count.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var i = 0
        var sum: Float = 0
        #if arch(x86_64)
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps()
        while i + 32 <= count {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0)
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1)
            acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2)
            acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3)
            i += 32
        }
        while i + 8 <= count {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0)
            i += 8
        }
        let total: SIMD8<Float> = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3))
        sum = total.sum()
        #endif
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }
}
