import Kernels

/// One projection's trainable low-rank pair, viewed in the flat parameter vector:
/// A [rank × inputs], B [outputs × rank], scale = alpha / rank.
struct LoRAWeights<T: TrainingScalar> {
    var a: UnsafePointer<T>
    var b: UnsafePointer<T>
    var rank: Int
    var scale: T
}

/// Where the gradients of one projection's A and B accumulate (same shapes as the pair).
struct LoRAGradients<T: TrainingScalar> {
    var a: UnsafeMutablePointer<T>
    var b: UnsafeMutablePointer<T>
}

/// A frozen linear layer with an optional LoRA update: y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ.
enum LinearOp {
    /// x [rows × inputs], W [outputs × inputs] → y [rows × outputs]; with LoRA, u = x·Aᵀ [rows × rank] is
    /// written to `u` (kept for backward: dB needs it).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: TrainingScalar>(x: UnsafePointer<T>, w: UnsafePointer<T>, y: UnsafeMutablePointer<T>,
                                           rows: Int, inputs: Int, outputs: Int,
                                           lora: LoRAWeights<T>?, u: UnsafeMutablePointer<T>?, pool: ThreadPool?) {
        // y = x·Wᵀ
        T.gemm(transA: false, transB: true, m: rows, n: outputs, k: inputs, alpha: 1, a: x, lda: inputs,
               b: w, ldb: inputs, beta: 0, c: y, ldc: outputs, pool: pool)
        guard let lora, let u else { return }
        // u = x·Aᵀ   [rows × rank]
        T.gemm(transA: false, transB: true, m: rows, n: lora.rank, k: inputs, alpha: 1, a: x, lda: inputs,
               b: lora.a, ldb: inputs, beta: 0, c: u, ldc: lora.rank, pool: pool)
        // y += s · u·Bᵀ
        T.gemm(transA: false, transB: true, m: rows, n: outputs, k: lora.rank, alpha: lora.scale, a: u,
               lda: lora.rank, b: lora.b, ldb: lora.rank, beta: 1, c: y, ldc: outputs, pool: pool)
    }

    /// Differentiates `forward` (W frozen), accumulating:
    ///   dx += dy·W + s·(dy·B)·A       (skipped when dx is nil)
    ///   dA += s·(dy·B)ᵀ·x,  dB += s·dyᵀ·u
    /// `t` is scratch of [rows × rank] for dy·B.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: TrainingScalar>(dy: UnsafePointer<T>, x: UnsafePointer<T>, w: UnsafePointer<T>,
                                            u: UnsafePointer<T>?, lora: LoRAWeights<T>?, gradients: LoRAGradients<T>?,
                                            dx: UnsafeMutablePointer<T>?, t: UnsafeMutablePointer<T>?,
                                            rows: Int, inputs: Int, outputs: Int, pool: ThreadPool?) {
        backward(dy: dy, x: x, w: w, u: u, lora: lora,
                 targets: gradients.map { [LoRAGradientTarget(gradients: $0, segments: nil)] } ?? [],
                 dx: dx, t: t, rows: rows, inputs: inputs, outputs: outputs, pool: pool)
    }

    /// `backward` with the parameter gradient split over several targets: target j accumulates, for each of its row
    /// segments (rows lo..<hi, scale c), c·s·(dy·B)[lo..<hi]ᵀ·x[lo..<hi] into dA and c·s·dy[lo..<hi]ᵀ·u[lo..<hi] into
    /// dB (all rows with c = 1 when `segments` is nil). dx and dy·B are computed once whatever the number of targets.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: TrainingScalar>(dy: UnsafePointer<T>, x: UnsafePointer<T>, w: UnsafePointer<T>,
                                            u: UnsafePointer<T>?, lora: LoRAWeights<T>?,
                                            targets: [LoRAGradientTarget<T>],
                                            dx: UnsafeMutablePointer<T>?, t: UnsafeMutablePointer<T>?,
                                            rows: Int, inputs: Int, outputs: Int, pool: ThreadPool?) {
        // dx += dy·W
        if let dx {
            T.gemm(transA: false, transB: false, m: rows, n: inputs, k: outputs, alpha: 1, a: dy, lda: outputs,
                   b: w, ldb: inputs, beta: 1, c: dx, ldc: inputs, pool: pool)
        }
        guard let lora, let t else { return }
        let r = lora.rank
        // t = dy·B   [rows × rank]
        T.gemm(transA: false, transB: false, m: rows, n: r, k: outputs, alpha: 1, a: dy, lda: outputs,
               b: lora.b, ldb: r, beta: 0, c: t, ldc: r, pool: pool)
        // dx += s · t·A
        if let dx {
            T.gemm(transA: false, transB: false, m: rows, n: inputs, k: r, alpha: lora.scale, a: t, lda: r,
                   b: lora.a, ldb: inputs, beta: 1, c: dx, ldc: inputs, pool: pool)
        }
        guard let u else { return }
        for target in targets {
            let g = target.gradients
            for segment in target.segments ?? [RowSegment(rows: 0..<rows, scale: 1)] where segment.scale != 0 {
                let lo = segment.rows.lowerBound, n = segment.rows.count, alpha = lora.scale * segment.scale
                if n == 0 { continue }
                // dA += c·s · t[lo..<hi]ᵀ·x[lo..<hi]   [rank × inputs]
                T.gemm(transA: true, transB: false, m: r, n: inputs, k: n, alpha: alpha, a: t + lo * r, lda: r,
                       b: x + lo * inputs, ldb: inputs, beta: 1, c: g.a, ldc: inputs, pool: pool)
                // dB += c·s · dy[lo..<hi]ᵀ·u[lo..<hi]   [outputs × rank]
                T.gemm(transA: true, transB: false, m: outputs, n: r, k: n, alpha: alpha, a: dy + lo * outputs,
                       lda: outputs, b: u + lo * r, ldb: r, beta: 1, c: g.b, ldc: r, pool: pool)
            }
        }
    }
}

/// Rows lo..<hi of a packed batch whose parameter-gradient contribution is multiplied by `scale`.
struct RowSegment<T: TrainingScalar> {
    var rows: Range<Int>
    var scale: T
}

/// One projection's gradient destination and the row segments (with their scales) that feed it.
struct LoRAGradientTarget<T: TrainingScalar> {
    var gradients: LoRAGradients<T>
    var segments: [RowSegment<T>]?   // nil: every row, scale 1
}
