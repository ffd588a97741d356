import Foundation

/// Combines the per-objective gradients g_1..g_k of one step into the direction d handed to the
/// optimiser (docs/RACO.md: "The Gram matrix" to "The update direction", and "Baselines").
///
/// Everything is computed from the Gram matrix H in Float64; `combine(gram:weights:)` returns only
/// the k coefficients, so a caller holding the gradients can form d = Σ coefficients_i g_i itself
/// (or use `combine(gradients:weights:)`, which does both).
public struct GradientCombiner: Sendable, Equatable {
    public let method: CombinationMethod
    /// c ∈ [0, 1) (default 0.4; docs/RACO.md, "The CAGrad dual problem").
    public let conflictAversion: Double
    public let solver: DualSolver

    /// Norms computed from H below this fraction of the triangle-inequality bound Σ |x_i| ‖g_i‖ are
    /// treated as 0; this decides "‖G̃‖ > 0" and "‖g_0‖ = 0" (docs/RACO.md, "Numerical safeguards").
    /// xᵀHx is a sum of terms as large as that bound squared, and each H_ij carries the rounding of a
    /// length-P dot product (about √P · 1e-16 relative typically, P/8 · 1e-16 at worst), so for P of a
    /// few million a norm below ~1e-6 of the bound cannot be told from 0 — and normalising it
    /// (G̃/‖G̃‖) would point d anywhere.
    /// Real gradients never cancel to six digits except where g_0 → 0 at convergence, where s = c‖g_0‖
    /// is negligible anyway.
    public static let relativeZeroNorm = 1e-6

    public init(method: CombinationMethod, conflictAversion: Double = 0.4, solver: DualSolver = .automatic) throws {
        // c ∈ [0, 1) (docs/RACO.md, "The CAGrad dual problem").
        guard conflictAversion.isFinite, conflictAversion >= 0, conflictAversion < 1 else {
            throw AlignmentError.conflictAversionOutOfRange(conflictAversion)
        }
        self.method = method
        self.conflictAversion = conflictAversion
        self.solver = solver
    }

    /// The coefficients of d and the diagnostics, from H and w alone.
    public func combine(gram: GramMatrix, weights: [Double]) throws -> GradientCombination {
        let k = gram.size
        try Self.validate(weights: weights, objectiveCount: k)
        let gradientNorms = gram.gradientNorms

        // docs/RACO.md, "The CAGrad dual problem": g_0 = Σ w_i g_i, b = H w, s = c · ‖g_0‖.
        let userNorm = Self.norm(of: weights, in: gram, gradientNorms: gradientNorms)
        let b = gram.multiply(weights)
        let s = conflictAversion * userNorm

        // dpo-lw: d = g_0 (docs/RACO.md, "Baselines"); so too when ‖g_0‖ = 0 or c = 0
        // (docs/RACO.md, "The update direction").
        if method == .dpoLW || conflictAversion == 0 || userNorm == 0 {
            return finish(gram: gram, weights: weights, userNorm: userNorm,
                          normWeight: method == .dpoLW ? 0 : s, coefficients: weights,
                          dual: nil, clipped: nil, correctionNorm: nil)
        }

        // p* = argmin over the simplex of Φ(p) = bᵀp + s · √(pᵀ H p).
        let problem = try CAGradDualProblem(gram: gram, linearTerm: b, normWeight: s)
        let dual = try solver.solve(problem, preferred: weights)
        let pStar = dual.weights

        // p̃_i = min(p*_i, w_i), not renormalised (docs/RACO.md, "The clip"); cagrad keeps p̃ = p*
        // (docs/RACO.md, "Baselines").
        let clipped = method == .raco ? zip(pStar, weights).map { min($0, $1) } : pStar

        // G̃ = Σ p̃_i g_i; d = g_0 + s · G̃/‖G̃‖ when ‖G̃‖ > 0, else d = g_0; the coefficient on g_i is
        // w_i + (s/‖G̃‖) p̃_i (docs/RACO.md, "The update direction").
        let correctionNorm = Self.norm(of: clipped, in: gram, gradientNorms: gradientNorms)
        let coefficients = correctionNorm > 0
            ? (0..<k).map { weights[$0] + s / correctionNorm * clipped[$0] }
            : weights
        return finish(gram: gram, weights: weights, userNorm: userNorm, normWeight: s,
                      coefficients: coefficients, dual: dual, clipped: clipped, correctionNorm: correctionNorm)
    }

    /// Combines k flat Float gradients: H in one pass, the coefficients, then d = Σ coefficients_i g_i.
    public func combine(gradients: [[Float]], weights: [Double]) throws -> (direction: [Float], combination: GradientCombination) {
        let combination = try combine(gram: GramMatrix(gradients: gradients), weights: weights)
        let direction = try FlatVectorAlgebra.linearCombination(of: gradients, coefficients: combination.coefficients)
        return (direction, combination)
    }

    /// Combines k flat Float64 gradients.
    public func combine(gradients: [[Double]], weights: [Double]) throws -> (direction: [Double], combination: GradientCombination) {
        let combination = try combine(gram: GramMatrix(gradients: gradients), weights: weights)
        let direction = try FlatVectorAlgebra.linearCombination(of: gradients, coefficients: combination.coefficients)
        return (direction, combination)
    }

    /// w must lie on the simplex: finite, ≥ 0, summing to 1 within 1e-9.
    public static func validate(weights: [Double], objectiveCount: Int) throws {
        guard weights.count == objectiveCount else {
            throw AlignmentError.countMismatch(expected: objectiveCount, actual: weights.count, what: "weights")
        }
        guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }),
              abs(weights.reduce(0, +) - 1) <= 1e-9 else {
            throw AlignmentError.weightsNotOnSimplex(weights)
        }
    }

    /// ‖Σ x_i g_i‖ from H, or 0 when it is below rounding (see `relativeZeroNorm`).
    static func norm(of x: [Double], in gram: GramMatrix, gradientNorms: [Double]) -> Double {
        let norm = gram.quadraticForm(x).squareRoot()
        var bound = 0.0
        for i in x.indices { bound += abs(x[i]) * gradientNorms[i] }
        return norm <= relativeZeroNorm * bound ? 0 : norm
    }

    private func finish(
        gram: GramMatrix, weights: [Double], userNorm: Double, normWeight: Double, coefficients: [Double],
        dual: DualSolution?, clipped: [Double]?, correctionNorm: Double?
    ) -> GradientCombination {
        GradientCombination(
            method: method, weights: weights, userDirectionNorm: userNorm, normWeight: normWeight,
            dualWeights: dual?.weights, clippedDualWeights: clipped, correctionNorm: correctionNorm,
            coefficients: coefficients, alignments: gram.multiply(coefficients),
            directionNorm: gram.quadraticForm(coefficients).squareRoot(), dualSolution: dual)
    }
}
