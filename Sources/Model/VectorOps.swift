import Foundation

// Float vector primitives of the forward pass. SIMD8 over contiguous rows; lengths need not be multiples of 8.
enum VectorOps {
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 16 <= n {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                  * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
                  * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            i += 16
        }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// y += alpha · x
    @inline(__always)
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let av = SIMD8<Float>(repeating: alpha)
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        while i + 8 <= n {
            let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                + av * rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            ry.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }

    /// y *= alpha
    @inline(__always)
    static func scale(_ y: UnsafeMutablePointer<Float>, _ alpha: Float, _ n: Int) {
        for i in 0..<n { y[i] *= alpha }
    }

    /// out = x / rms(x) · weight, over n values (out may alias x).
    @inline(__always)
    static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                        _ n: Int, epsilon: Float) {
        var sum: Double = 0
        for i in 0..<n { sum += Double(x[i]) * Double(x[i]) }
        let inv = Float(1 / (sum / Double(n) + Double(epsilon)).squareRoot())
        for i in 0..<n { out[i] = x[i] * inv * weight[i] }
    }

    /// y = x + y (residual add)
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        axpy(1, x, y, n)
    }

    /// gate[i] = act(gate[i]) · up[i]
    static func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ n: Int,
                                _ activation: FeedForwardActivation) {
        switch activation {
        case .silu:
            for i in 0..<n {
                let g = gate[i]
                gate[i] = g / (1 + expf(-g)) * up[i]
            }
        case .geluTanh:
            let c: Float = 0.797_884_560_802_865_4 // √(2/π)
            for i in 0..<n {
                let g = gate[i]
                gate[i] = 0.5 * g * (1 + tanhf(c * (g + 0.044715 * g * g * g))) * up[i]
            }
        }
    }

    // F16 helpers (the KV cache). Compiled with F16C, each conversion is one instruction per 8 values.

    @inline(__always)
    static func toHalf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float16>, _ n: Int) {
        for i in 0..<n { y[i] = Float16(x[i]) }
    }

    /// Σ a[i]·b[i] for F32 a and F16 b, in F32.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float16>, _ n: Int) -> Float {
        var acc = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(a)
        while i + 8 <= n {
            var vb = SIMD8<Float>()
            for j in 0..<8 { vb[j] = Float(b[i + j]) }
            acc.addProduct(ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self), vb)
            i += 8
        }
        var s = acc.sum()
        while i < n { s += a[i] * Float(b[i]); i += 1 }
        return s
    }

    /// y += alpha · x for F16 x.
    @inline(__always)
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float16>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += alpha * Float(x[i]) }
    }
}
