/// Dot products and linear combinations of long flat vectors (k gradients of P up to a few
/// million), accumulated in Float64 with a fixed blocking so that results are deterministic.
public enum FlatVectorAlgebra {
    /// Σ_j a_j b_j in Float64 (Float inputs widened exactly).
    static func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Double {
        blockedDot(a, b, loadEight: { SIMD8<Double>(UnsafeRawPointer($0).loadUnaligned(as: SIMD8<Float>.self)) }, widen: Double.init)
    }

    /// Σ_j a_j b_j in Float64.
    static func dot(_ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>) -> Double {
        blockedDot(a, b, loadEight: { UnsafeRawPointer($0).loadUnaligned(as: SIMD8<Double>.self) }, widen: { $0 })
    }

    /// Eight independent Float64 accumulators over blocks of eight, then the tail: a fixed order,
    /// so the result is deterministic (and independent of thread count or alignment).
    @inline(__always)
    private static func blockedDot<Element>(
        _ a: UnsafeBufferPointer<Element>, _ b: UnsafeBufferPointer<Element>,
        loadEight: (UnsafePointer<Element>) -> SIMD8<Double>, widen: (Element) -> Double
    ) -> Double {
        precondition(a.count == b.count)
        var accumulator = SIMD8<Double>()
        let blocked = a.count & ~7
        var j = 0
        while j < blocked {
            accumulator += loadEight(a.baseAddress! + j) * loadEight(b.baseAddress! + j)
            j += 8
        }
        var sum = accumulator.sum()
        while j < a.count {
            sum += widen(a[j]) * widen(b[j])
            j += 1
        }
        return sum
    }

    /// d = Σ_i coefficients_i · g_i, accumulated in Float64 per element and rounded once to Float.
    /// With the coefficients of a `GradientCombination` this is the direction d (docs/RACO.md, "The update direction").
    public static func linearCombination(of gradients: [[Float]], coefficients: [Double]) throws -> [Float] {
        var result: [Float] = []
        try linearCombination(of: gradients, coefficients: coefficients, into: &result)
        return result
    }

    /// The same into a caller's buffer (resized to the gradients' length), so that a training loop
    /// can reuse one P-vector for d from step to step.
    public static func linearCombination(of gradients: [[Float]], coefficients: [Double], into result: inout [Float]) throws {
        try checkShapes(counts: gradients.map(\.count), coefficientCount: coefficients.count)
        let length = gradients[0].count
        let blockLength = 4096
        if result.count != length { result = [Float](repeating: 0, count: length) }
        var accumulator = [Double](repeating: 0, count: blockLength)
        result.withUnsafeMutableBufferPointer { output in
            accumulator.withUnsafeMutableBufferPointer { sums in
                var start = 0
                while start < length {
                    let count = min(blockLength, length - start)
                    for j in 0..<count { sums[j] = 0 }
                    // Element-wise, gradient by gradient in order: the same sum as the Float64 path.
                    for (gradient, coefficient) in zip(gradients, coefficients) {
                        gradient.withUnsafeBufferPointer { g in
                            let block = g.baseAddress! + start
                            for j in 0..<count { sums[j] += coefficient * Double(block[j]) }
                        }
                    }
                    for j in 0..<count { output[start + j] = Float(sums[j]) }
                    start += count
                }
            }
        }
    }

    /// d = Σ_i coefficients_i · g_i in Float64.
    public static func linearCombination(of gradients: [[Double]], coefficients: [Double]) throws -> [Double] {
        try checkShapes(counts: gradients.map(\.count), coefficientCount: coefficients.count)
        var result = [Double](repeating: 0, count: gradients[0].count)
        for (gradient, coefficient) in zip(gradients, coefficients) {
            for j in result.indices { result[j] += coefficient * gradient[j] }
        }
        return result
    }

    private static func checkShapes(counts: [Int], coefficientCount: Int) throws {
        guard let first = counts.first else { throw AlignmentError.noObjectives }
        guard counts.count == coefficientCount else {
            throw AlignmentError.countMismatch(expected: counts.count, actual: coefficientCount, what: "coefficients")
        }
        for count in counts where count != first {
            throw AlignmentError.countMismatch(expected: first, actual: count, what: "gradient length")
        }
    }
}
