import Foundation
import Kernels

/// The scalar type of the training graph: Float for training, Double for finite-difference gradient checks.
/// Every op is generic over it; only the transcendental functions and the BLAS product are written per type.
///
/// Generic ops carry `@_specialize(where T == Float)` and `@_specialize(where T == Double)`: the module is
/// compiled file by file, so without pre-specialised entry points a call from another file would run the
/// unspecialised generic body (about 100× slower on element loops).
public protocol TrainingScalar: BinaryFloatingPoint, Sendable {
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    /// e^x inside element loops (the SiLU gate): Float uses `Float.polynomialExp` (branch-free, so the loop
    /// vectorises; `expf` is one library call per element), Double the library exp (gradient checks).
    static func elementExp(_ x: Self) -> Self
    /// C[m × n] = alpha · op(A)·op(B) + beta · C, row-major (see `Gemm.multiply`).
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int, pool: ThreadPool?)
}

extension Float: TrainingScalar {
    @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) public static func elementExp(_ x: Float) -> Float { polynomialExp(x) }

    /// e^x to within about 2 ulp for x in [−87, 88] (clamped outside), without branches or calls: Cephes' expf.
    /// x = n ln 2 + r with n = round(x / ln 2) and |r| ≤ ln 2 / 2 (ln 2 split in two constants so n ln 2 is exact),
    /// e^r by a degree-7 polynomial, then 2ⁿ assembled in the exponent bits.
    @inline(__always)
    public static func polynomialExp(_ x: Float) -> Float {
        let clamped = Swift.min(Swift.max(x, -87), 88)
        let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
        let r = (clamped - n * 0.693_359_375) + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let er = p * (r * r) + r + 1
        return er * Float(bitPattern: UInt32(bitPattern: Int32(n) &+ 127) << 23)
    }
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, pool: ThreadPool?) {
        Gemm.multiply(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, pool: pool)
    }
}

extension Double: TrainingScalar {
    @inline(__always) public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) public static func log(_ x: Double) -> Double { Foundation.log(x) }
    @inline(__always) public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) public static func elementExp(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int, pool: ThreadPool?) {
        Gemm.multiply(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                      b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, pool: pool)
    }
}

/// A heap buffer of `count` scalars, zeroed on allocation, freed with its owner.
final class TrainingBuffer<T: TrainingScalar>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
    let count: Int

    // Zeroing is a memset (all-zero bits are +0 for IEEE floats): a generic `initialize(repeating:)` would run
    // unspecialised, one value-witness call per element.
    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        memset(pointer, 0, max(count, 1) * MemoryLayout<T>.stride)
    }

    deinit { pointer.deallocate() }

    /// Zeroes the first `n` values (the part a smaller batch uses).
    @inline(__always) func zero(_ n: Int) { memset(pointer, 0, min(n, count) * MemoryLayout<T>.stride) }
}

/// Runs body(lo..<hi) over `count` items in chunks on the pool (serially for small work or no pool).
@inline(__always)
func parallelChunks(_ count: Int, work: Int, pool: ThreadPool?, _ body: (Range<Int>) -> Void) {
    let threads = pool?.threadCount ?? 1
    if threads == 1 || count < 2 || work < 1 << 15 {
        if count > 0 { body(0..<count) }
        return
    }
    let chunks = min(count, 2 * threads)
    pool!.parallelFor(chunks) { c in body((count * c / chunks)..<(count * (c + 1) / chunks)) }
}
