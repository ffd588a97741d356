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

    /// out = x / rms(x) · weight, over n values (out may alias x), rounded as llama.cpp's rms_norm rounds: squares
    /// in Float summed in Double, the mean and 1/√(mean + ε) in Float, then (x · scale) · weight. Matching it bit for
    /// bit matters: the next product quantises this output to 8 bits, and a one-ulp difference can move a rounding.
    @inline(__always)
    static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                        _ n: Int, epsilon: Float) {
        var sum: Double = 0
        for i in 0..<n { sum += Double(x[i] * x[i]) }
        let mean = Float(sum / Double(n))
        let scale: Float = 1 / (mean + epsilon).squareRoot()
        for i in 0..<n { out[i] = x[i] * scale * weight[i] }
    }

    /// y = x + y (residual add)
    @inline(__always)
    static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, _ n: Int) {
        axpy(1, x, y, n)
    }

    /// gate[r, i] = act(gate[r, i]) · up[r, i] over `rows` rows of `n` values, rounded as llama.cpp's CPU backend
    /// rounds (its AVX2 SiLU with its polynomial e^x; its GELU as an F16 table), so that the down projection
    /// quantises the same values.
    static func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, rows: Int, _ n: Int,
                                _ activation: FeedForwardActivation) {
        for r in 0..<rows {
            let g = gate + r * n, u = up + r * n
            switch activation {
            case .silu:
                var i = 0
                let rg = UnsafeMutableRawPointer(g), ru = UnsafeRawPointer(u)
                while i + 8 <= n {
                    let x = rg.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                    let y = silu(x) * ru.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                    rg.storeBytes(of: y, toByteOffset: 4 * i, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < n { g[i] = g[i] / (1 + expf(-g[i])) * u[i]; i += 1 }   // ggml's scalar tail
            case .geluTanh:
                let table = geluTable
                for i in 0..<n {
                    let x = g[i]
                    if x <= -10 { g[i] = 0 } else if x >= 10 { g[i] = x * u[i] } else {
                        g[i] = Float(table[Int(Float16(x).bitPattern)]) * u[i]
                    }
                }
            }
        }
    }

    /// x · σ(x) = x / (1 + e^−x), eight at a time, as ggml_v_silu.
    @inline(__always)
    static func silu(_ x: SIMD8<Float>) -> SIMD8<Float> {
        x / (1 + exp(SIMD8<Float>() - x))
    }

    /// ggml_v_expf (AVX2): e^x = 2ⁿ · (1 + j(b)) with n = round(x / ln 2), b = x − n ln 2 (ln 2 in two parts), j a
    /// degree-5 polynomial; lanes with |n| > 126 rebuild 2ⁿ in two factors (and overflow or flush beyond 192).
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let r = SIMD8<Float>(repeating: 0x1.8p23)
        let z = r.addingProduct(x, SIMD8(repeating: 0x1.715476p+0))
        let n = z - r
        let b = x.addingProduct(-n, SIMD8(repeating: 0x1.62e4p-1)).addingProduct(-n, SIMD8(repeating: 0x1.7f7d1cp-20))
        let e = unsafeBitCast(z, to: SIMD8<UInt32>.self) &<< 23
        let k = unsafeBitCast(e &+ (1 as Float).bitPattern, to: SIMD8<Float>.self)
        let u = b * b
        let high = SIMD8<Float>(repeating: 0x1.573e2ep-5).addingProduct(SIMD8(repeating: 0x1.0e4020p-7), b)
        let low = SIMD8<Float>(repeating: 0x1.fffdb6p-2).addingProduct(SIMD8(repeating: 0x1.555e66p-3), b)
        let j = (SIMD8<Float>(repeating: 0x1.ffffecp-1) * b).addingProduct(low.addingProduct(high, u), u)
        let normal = k.addingProduct(j, k)
        let magnitude = unsafeBitCast(unsafeBitCast(n, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
        let far = magnitude .> 126
        if !any(far) { return normal }
        let g = SIMD8<UInt32>(repeating: 0).replacing(with: 0x8200_0000, where: n .<= 0)
        let s1 = unsafeBitCast(g &+ 0x7F00_0000, to: SIMD8<Float>.self)
        let s2 = unsafeBitCast(e &- g, to: SIMD8<Float>.self)
        let scaled = s2.addingProduct(s2, j) * s1
        return normal.replacing(with: scaled, where: far).replacing(with: s1 * s1, where: magnitude .> 192)
    }

    /// ggml's GELU table: F16(gelu(x)) for every F16 x, gelu in Float as ggml_gelu_f32 computes it.
    static let geluTable: [Float16] = (0...UInt16.max).map { bits in
        let x = Float(Float16(bitPattern: bits))
        let a: Float = 0.044715, c: Float = 0.797_884_560_802_865_355_879_892_119_868_76
        let inner = (1 as Float).addingProduct(a * x, x)   // 1 + A·x·x, fused as GCC fuses it
        return Float16(0.5 * x * (1 + tanhf(c * x * inner)))
    }
}
