import Foundation

/// The CAGrad dual (docs/RACO.md, "The CAGrad dual problem"): minimise Φ(p) = bᵀp + s · √(pᵀ H p) over the simplex
/// {p ≥ 0, Σ p_i = 1}. Φ is convex (a linear term plus s times the norm ‖Σ p_i g_i‖).
public struct CAGradDualProblem: Sendable, Equatable {
    /// H, the Gram matrix of the gradients.
    public let gram: GramMatrix
    /// b = H w.
    public let linearTerm: [Double]
    /// s = c · ‖g_0‖.
    public let normWeight: Double

    public init(gram: GramMatrix, linearTerm: [Double], normWeight: Double) throws {
        guard linearTerm.count == gram.size else {
            throw AlignmentError.countMismatch(expected: gram.size, actual: linearTerm.count, what: "entries of b")
        }
        guard linearTerm.allSatisfy(\.isFinite) else { throw AlignmentError.nonFinite("b") }
        guard normWeight.isFinite, normWeight >= 0 else { throw AlignmentError.nonFinite("s") }
        self.gram = gram
        self.linearTerm = linearTerm
        self.normWeight = normWeight
    }

    public var objectiveCount: Int { gram.size }

    /// Φ(p) = bᵀp + s · √(pᵀ H p).
    public func objective(_ p: [Double]) -> Double {
        var linear = 0.0
        for i in 0..<objectiveCount { linear += linearTerm[i] * p[i] }
        return linear + normWeight * sqrt(gram.quadraticForm(p))
    }

    /// ∇Φ = b + s H p / √(pᵀ H p). Where Σ p_i g_i = 0 the norm is not
    /// differentiable; there the subgradient b (the norm's subgradient 0) is returned.
    public func gradient(_ p: [Double]) -> [Double] {
        let norm = sqrt(gram.quadraticForm(p))
        guard norm > 0 else { return linearTerm }
        let hp = gram.multiply(p)
        return (0..<objectiveCount).map { linearTerm[$0] + normWeight * hp[$0] / norm }
    }

    /// The same problem in units where max_i H_ii = 1: H/m, b/m, s/√m. Φ scales by 1/m and the
    /// minimiser is unchanged (Φ is homogeneous of degree 2 in the gradients), so the solvers'
    /// absolute thresholds (the closed form's 1e-12) mean the same thing whatever the gradients'
    /// magnitude (docs/RACO.md, "Numerical safeguards"). Returns nil when every gradient is zero (H = 0).
    func normalised() -> (problem: CAGradDualProblem, scale: Double)? {
        let scale = (0..<objectiveCount).map { gram[$0, $0] }.max() ?? 0
        guard scale > 0, scale.isFinite else { return nil }
        let problem = CAGradDualProblem(
            uncheckedGram: gram.scaled(by: 1 / scale),
            linearTerm: linearTerm.map { $0 / scale },
            normWeight: normWeight / sqrt(scale))
        return (problem, scale)
    }

    /// The k = 2 problem on the edge {p_i + p_j = 1} of the simplex (docs/RACO.md, "Solver for three objectives").
    func restricted(to i: Int, _ j: Int) -> CAGradDualProblem {
        CAGradDualProblem(
            uncheckedGram: gram.restricted(to: [i, j]),
            linearTerm: [linearTerm[i], linearTerm[j]],
            normWeight: normWeight)
    }

    private init(uncheckedGram: GramMatrix, linearTerm: [Double], normWeight: Double) {
        self.gram = uncheckedGram
        self.linearTerm = linearTerm
        self.normWeight = normWeight
    }
}

/// A minimiser p* of the dual and what the solver knows about it.
public struct DualSolution: Sendable, Equatable {
    /// p* on the simplex. Coordinates below `DualSolution.zeroThreshold` are set to exactly 0.
    public let weights: [Double]
    /// Φ(p*), in the units of the problem that was passed in.
    public let objective: Double
    /// Iterations taken (0 for the exact solvers).
    public let iterations: Int
    /// For mirror descent, the Frank–Wolfe gap Σ p_i ∇Φ_i − min_i ∇Φ_i ≥ Φ(p) − Φ(p*) at the end
    /// (problem units); nil for the exact solvers.
    public let optimalityGap: Double?

    /// Dual weights below this are rounding, not signal: they are snapped to 0 (and the rest
    /// renormalised) because the clip and the normalisation G̃/‖G̃‖ (docs/RACO.md, "Numerical safeguards") are
    /// discontinuous where p̃ → 0, and a solver's last digits must not choose between d = g_0 and
    /// d = (1 + c) g_0. Moves p by at most k · 1e-10.
    public static let zeroThreshold = 1e-10

    static func snapped(_ p: [Double]) -> [Double] {
        let cleaned = p.map { $0 < zeroThreshold ? 0 : $0 }
        let sum = cleaned.reduce(0, +)
        return cleaned.map { $0 / sum }
    }
}
