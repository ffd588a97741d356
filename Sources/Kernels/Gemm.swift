// Dense row-major matrix products through OpenBLAS (the training path's frozen weights are dense copies).
//
// C[m × n] = alpha · op(A) · op(B) + beta · C, all row-major, op(A) m × k, op(B) k × n. With a pool, the
// product is split along its larger output dimension into chunks that the pool's threads run, each chunk one
// single-threaded BLAS call (OpenBLAS's own threads are switched off once, process-wide: they would busy-wait
// against ours on the same cores). In Float (training) and Double (gradient checks): see `GemmScalar`.

import CBLAS

public enum Gemm {
    /// OpenBLAS runs single-threaded inside our threads (set once, process-wide).
    static let singleThreadedBLAS: Void = { openblas_set_num_threads(1) }()

    /// Products below this many multiply-adds run on the calling thread.
    static let minimumParallelWork = 1 << 18

    /// The chunks of a split product: the output rows (`alongRows`) or columns are cut in `count` ranges.
    @inline(__always)
    static func split(m: Int, n: Int, k: Int, threads: Int) -> (count: Int, alongRows: Bool) {
        if threads <= 1 || m * n * k < minimumParallelWork { return (1, true) }
        let alongRows = m >= n
        let extent = alongRows ? m : n
        // Two chunks per thread balance a thread slowed down by other processes; never below 16 rows a chunk.
        return (max(1, min(2 * threads, extent / 16)), alongRows)
    }

    /// C[m × n] = alpha · op(A) · op(B) + beta · C (row-major; op(A) is Aᵀ when transA, A then stored k × m).
    public static func multiply<Scalar: GemmScalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Scalar,
                                                    a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
                                                    beta: Scalar, c: UnsafeMutablePointer<Scalar>, ldc: Int,
                                                    pool: ThreadPool? = nil) {
        let opA = transA ? CblasTrans : CblasNoTrans, opB = transB ? CblasTrans : CblasNoTrans
        inChunks(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                 pool: pool) { pa, pb, pc, mm, nn in
            Scalar.gemm(opA, opB, Int32(mm), Int32(nn), Int32(k), alpha, pa, Int32(lda), pb, Int32(ldb), beta, pc, Int32(ldc))
        }
    }

    /// Cuts the product along its larger output dimension and hands each chunk's (A, B, C, rows, columns) to
    /// `call`, on the pool's threads.
    @inline(__always)
    static func inChunks<S>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: UnsafePointer<S>, lda: Int, b: UnsafePointer<S>, ldb: Int,
                            c: UnsafeMutablePointer<S>, ldc: Int, pool: ThreadPool?,
                            _ call: (UnsafePointer<S>, UnsafePointer<S>, UnsafeMutablePointer<S>, Int, Int) -> Void) {
        if m == 0 || n == 0 { return }
        _ = singleThreadedBLAS
        let (count, alongRows) = split(m: m, n: n, k: k, threads: pool?.threadCount ?? 1)
        func run(_ part: Int) {
            let extent = alongRows ? m : n
            let lo = extent * part / count, hi = extent * (part + 1) / count
            if lo >= hi { return }
            if alongRows {
                call(transA ? a + lo : a + lo * lda, b, c + lo * ldc, hi - lo, n)
            } else {
                call(a, transB ? b + lo * ldb : b + lo, c + lo, m, hi - lo)
            }
        }
        if count == 1 { run(0) } else { pool!.parallelFor(count, run) }
    }
}

/// The element types the products run in, each with its row-major BLAS routine: Float (training) and Double
/// (gradient checks against finite differences).
public protocol GemmScalar {
    static func gemm(_ opA: CBLAS_TRANSPOSE, _ opB: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Self,
                     _ a: UnsafePointer<Self>, _ lda: Int32, _ b: UnsafePointer<Self>, _ ldb: Int32, _ beta: Self,
                     _ c: UnsafeMutablePointer<Self>, _ ldc: Int32)
}

extension Float: GemmScalar {
    public static func gemm(_ opA: CBLAS_TRANSPOSE, _ opB: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Float,
                            _ a: UnsafePointer<Float>, _ lda: Int32, _ b: UnsafePointer<Float>, _ ldb: Int32, _ beta: Float,
                            _ c: UnsafeMutablePointer<Float>, _ ldc: Int32) {
        cblas_sgemm(CblasRowMajor, opA, opB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}

extension Double: GemmScalar {
    public static func gemm(_ opA: CBLAS_TRANSPOSE, _ opB: CBLAS_TRANSPOSE, _ m: Int32, _ n: Int32, _ k: Int32, _ alpha: Double,
                            _ a: UnsafePointer<Double>, _ lda: Int32, _ b: UnsafePointer<Double>, _ ldb: Int32, _ beta: Double,
                            _ c: UnsafeMutablePointer<Double>, _ ldc: Int32) {
        cblas_dgemm(CblasRowMajor, opA, opB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}
