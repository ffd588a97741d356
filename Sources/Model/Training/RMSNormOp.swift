import Kernels

/// RMSNorm with a frozen weight over `rows` rows of `n` values: y = x · r · w with r = 1/√(mean(x²) + ε).
/// Serves the block norms, the gemma post-norms, QK-norm (rows = tokens × heads, n = headDim) and the final norm.
enum RMSNormOp {
    /// x [rows × n], weight [n] → y [rows × n] (must not alias x), r [rows] saved for backward.
    /// The sum of squares and r are computed in Double, as the inference forward does.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: TrainingScalar>(x: UnsafePointer<T>, weight: UnsafePointer<T>, y: UnsafeMutablePointer<T>,
                                           r: UnsafeMutablePointer<T>, rows: Int, n: Int, epsilon: Float,
                                           pool: ThreadPool?) {
        let eps = Double(epsilon)
        parallelChunks(rows, work: rows * n, pool: pool) { range in
            for row in range {
                let xr = x + row * n, yr = y + row * n
                var sum: Double = 0
                for i in 0..<n { sum += Double(xr[i]) * Double(xr[i]) }
                let inv = T(1 / (sum / Double(n) + eps).squareRoot())
                r[row] = inv
                for i in 0..<n { yr[i] = xr[i] * inv * weight[i] }
            }
        }
    }

    /// Differentiates `forward` (weight frozen): dx [rows × n] += r · (w ⊙ dy − x · r² · ⟨w ⊙ dy, x⟩ / n).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: TrainingScalar>(dy: UnsafePointer<T>, x: UnsafePointer<T>, weight: UnsafePointer<T>,
                                            r: UnsafePointer<T>, dx: UnsafeMutablePointer<T>, rows: Int, n: Int,
                                            pool: ThreadPool?) {
        parallelChunks(rows, work: rows * n, pool: pool) { range in
            for row in range {
                let xr = x + row * n, dyr = dy + row * n, dxr = dx + row * n
                let inv = r[row]
                var dot0: T = 0, dot1: T = 0
                var i = 0
                while i + 1 < n {
                    dot0 += weight[i] * dyr[i] * xr[i]
                    dot1 += weight[i + 1] * dyr[i + 1] * xr[i + 1]
                    i += 2
                }
                if i < n { dot0 += weight[i] * dyr[i] * xr[i] }
                let c = inv * inv * inv * (dot0 + dot1) / T(n)
                for i in 0..<n { dxr[i] += inv * weight[i] * dyr[i] - c * xr[i] }
            }
        }
    }
}
