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
    /// The buffer's own anonymous mapping, when it has one.
    private let mappedBytes: Int?

    /// At and above this size a buffer is its own mapping, returned to the system when the buffer goes. A
    /// realign job's dense weights (hundreds of MB in matrices of 1–20 MB) freed to malloc stayed resident after
    /// the job: glibc raises its mmap threshold to the largest block freed, so such blocks come from the heap
    /// and remain there (seen by benchmarks/soak.py: 260 MB serving, 907 MB after one job).
    static var mappingThreshold: Int { 256 << 10 }

    // Zeroing is a memset (all-zero bits are +0 for IEEE floats): a generic `initialize(repeating:)` would run
    // unspecialised, one value-witness call per element. Fresh anonymous mappings are already zero.
    init(_ count: Int) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<T>.stride
        #if os(Linux)
        if bytes >= Self.mappingThreshold,
           let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
           address != UnsafeMutableRawPointer(bitPattern: -1) {
            pointer = address.bindMemory(to: T.self, capacity: max(count, 1))
            mappedBytes = bytes
            return
        }
        #endif
        pointer = .allocate(capacity: max(count, 1))
        memset(pointer, 0, bytes)
        mappedBytes = nil
    }

    deinit {
        if let mappedBytes { munmap(pointer, mappedBytes) } else { pointer.deallocate() }
    }

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
