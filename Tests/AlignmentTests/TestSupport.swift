import Foundation
@testable import Alignment

/// SplitMix64: a tiny seeded generator so that every random trial is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform(_ range: ClosedRange<Double> = 0...1) -> Double { Double.random(in: range, using: &self) }
    /// Standard normal by Box–Muller.
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    mutating func normalVector(_ length: Int, scale: Double = 1) -> [Double] {
        (0..<length).map { _ in scale * normal() }
    }
    /// A uniformly random point of the k-simplex.
    mutating func simplexPoint(_ k: Int) -> [Double] {
        let e = (0..<k).map { _ in -log(max(uniform(), 1e-300)) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }
    /// k random gradients of length `length`, each with its own random magnitude.
    mutating func gradients(_ k: Int, length: Int) -> [[Double]] {
        (0..<k).map { _ in normalVector(length, scale: exp(uniform(-2...2))) }
    }
}

func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }
func add(_ a: [Double], _ b: [Double], times t: Double = 1) -> [Double] { zip(a, b).map { $0 + t * $1 } }
func weightedSum(_ gradients: [[Double]], _ x: [Double]) -> [Double] {
    var result = [Double](repeating: 0, count: gradients[0].count)
    for (g, c) in zip(gradients, x) { result = add(result, g, times: c) }
    return result
}

/// The CAGrad dual problem of gradients g_i, weights w and conflict aversion c
/// (docs/RACO.md, "The CAGrad dual problem").
func dualProblem(_ gradients: [[Double]], weights: [Double], c: Double) throws -> CAGradDualProblem {
    let gram = try GramMatrix(gradients: gradients)
    let s = c * norm(weightedSum(gradients, weights))
    return try CAGradDualProblem(gram: gram, linearTerm: gram.multiply(weights), normWeight: s)
}

/// An oracle independent of the closed form: golden-section search of the convex h(λ) = Φ(λ, 1 − λ)
/// on [0, 1] down to the resolution of Float64, then the better of that point and the endpoints.
func goldenSectionMinimiser(_ problem: CAGradDualProblem) -> [Double] {
    let h = { (l: Double) in problem.objective([l, 1 - l]) }
    var lo = 0.0, hi = 1.0
    let ratio = (5.0.squareRoot() - 1) / 2
    var x1 = hi - ratio * (hi - lo), x2 = lo + ratio * (hi - lo)
    var f1 = h(x1), f2 = h(x2)
    for _ in 0..<200 where hi - lo > 1e-15 {
        if f1 <= f2 {
            hi = x2; x2 = x1; f2 = f1
            x1 = hi - ratio * (hi - lo); f1 = h(x1)
        } else {
            lo = x1; x1 = x2; f1 = f2
            x2 = lo + ratio * (hi - lo); f2 = h(x2)
        }
    }
    let candidates = [0.0, 1.0, (lo + hi) / 2]
    let best = candidates.min { h($0) < h($1) }!
    return [best, 1 - best]
}

/// ‖Σ (a_i − b_i) g_i‖ = √((a − b)ᵀ H (a − b)): how far apart two dual points are in gradient space,
/// the quantity that decides the CAGrad direction when p* itself is not unique.
func gradientSpaceDistance(_ a: [Double], _ b: [Double], _ gram: GramMatrix) -> Double {
    gram.quadraticForm(zip(a, b).map { $0 - $1 }).squareRoot()
}

func maxAbsDifference(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
