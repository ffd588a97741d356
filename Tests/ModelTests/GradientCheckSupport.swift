@testable import Model

/// Finite differences in Float64 for the gradient checks.
enum FiniteDifference {
    /// ∂loss/∂x[i] for each i in `indices`, by the five-point central stencil
    /// (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h (truncation error O(h⁴)).
    static func gradient(_ x: [Double], indices: [Int], h: Double = 1e-3, loss: ([Double]) throws -> Double) rethrows -> [Double] {
        var x = x
        return try indices.map { i in
            let x0 = x[i]
            func at(_ delta: Double) throws -> Double {
                x[i] = x0 + delta
                defer { x[i] = x0 }
                return try loss(x)
            }
            return (try -at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)
        }
    }

    /// max over entries of |a − n| / max(|a|, |n|), with the denominator floored at `floor` × the largest |n|
    /// (entries whose true gradient is ~0 have no meaningful relative error).
    static func maxRelativeError(analytic: [Double], numeric: [Double], floor: Double = 1e-6) -> Double {
        let scale = numeric.map(abs).max() ?? 0
        var worst = 0.0
        for (a, n) in zip(analytic, numeric) {
            let denominator = max(abs(a), abs(n), floor * scale, 1e-300)
            worst = max(worst, abs(a - n) / denominator)
        }
        return worst
    }

    /// ⟨c, y⟩ in Double.
    static func dot(_ c: [Double], _ y: [Double]) -> Double { zip(c, y).reduce(0) { $0 + $1.0 * $1.1 } }
}

extension SplitMix {
    mutating func doubles(_ count: Int, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in Double(gaussian()) * scale }
    }
}
