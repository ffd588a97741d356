import Foundation

/// Settings of the entropic mirror descent (docs/RACO.md, "Solver for any number of objectives (mirror descent)").
public struct MirrorDescentSettings: Sendable, Equatable, Codable {
    /// Upper bound on iterations.
    public var maxIterations: Int
    /// Stop when the Frank–Wolfe gap Σ p_i ∇Φ_i − min_i ∇Φ_i (an upper bound on Φ(p) − Φ(p*)) is
    /// below this, in the normalised units where max H_ii = 1.
    public var gapTolerance: Double

    public init(maxIterations: Int = 200_000, gapTolerance: Double = 1e-15) {
        self.maxIterations = maxIterations
        self.gapTolerance = gapTolerance
    }
}

/// Entropic mirror descent for any k (docs/RACO.md, "Solver for any number of objectives (mirror descent)"):
/// p ← normalise(p · exp(−η ∇Φ(p))), ∇Φ = b + s H p / √(pᵀ H p), from the uniform point.
///
/// The step η is adaptive: a step is accepted when it satisfies the mirror-descent descent
/// inequality Φ(p⁺) ≤ Φ(p) + ⟨∇Φ(p), p⁺ − p⟩ + KL(p⁺‖p)/η, after which η doubles; otherwise η
/// halves and the step is retried. Accepted steps decrease Φ monotonically, and the step tracks the
/// local curvature, which gives fast (locally linear) convergence where a fixed or 1/√t step would
/// need millions of iterations to reach the 1e-6 agreement with the exact solvers. The inequality
/// is evaluated in difference form (p⁺ − p, Φ(p⁺) − Φ(p) and the KL term are computed from their
/// small parts) so that it stays meaningful down to the last digits.
///
/// One safeguard beyond the plain update: at (or within 1e-6 relative of) the kink Σ p_i g_i = 0
/// — the uniform start when two gradients are anti-parallel with equal norms, for instance — Φ is
/// not differentiable, the formula's gradient is noise and no step passes the test. There the
/// solver moves to the best of the points (p + e_i)/2 instead (Φ is exactly linear along each
/// segment from the kink to a vertex, and one of them descends, since for c < 1 the kink is never
/// the minimum), then resumes. The move is taken only when it lowers Φ.
///
/// Cost: O(k²) per iteration. On regular problems it converges in tens to hundreds of iterations;
/// on nearly singular H (a direction along which Φ is almost flat) it can use the whole budget and
/// then agrees with the exact solvers to about 1e-7 in Φ rather than 1e-12.
enum MirrorDescentDualSolver {
    /// η · (max ∇Φ − min ∇Φ) never exceeds this, so one step multiplies a coordinate by at most e^40.
    static let maxExponentRange = 40.0
    /// Steps with η · (max ∇Φ − min ∇Φ) below this change p by less than rounding: the search stalls.
    static let stallStep = 1e-18
    /// ‖Σ p_i g_i‖ below this fraction of Σ p_i ‖g_i‖ counts as "at the kink".
    static let nearKinkRatio = 1e-6

    /// The best of the points (p + e_i)/2 when it is lower than Φ(p), else nil.
    static func halfwayTowardsBestVertex(from p: [Double], in unit: CAGradDualProblem) -> [Double]? {
        let current = unit.objective(p)
        var best: [Double]? = nil, bestValue = current
        for i in p.indices {
            var candidate = p.map { $0 / 2 }
            candidate[i] += 0.5
            let value = unit.objective(candidate)
            if value < bestValue {
                best = candidate
                bestValue = value
            }
        }
        return best
    }

    static func solve(_ problem: CAGradDualProblem, settings: MirrorDescentSettings) -> DualSolution {
        let k = problem.objectiveCount
        let uniform = [Double](repeating: 1 / Double(k), count: k)
        guard k > 1, let (unit, scale) = problem.normalised() else {
            return DualSolution(weights: uniform, objective: problem.objective(uniform), iterations: 0, optimalityGap: 0)
        }
        let b = unit.linearTerm, s = unit.normWeight, h = unit.gram
        var p = uniform
        var norm = sqrt(h.quadraticForm(p))
        var eta = 1.0
        var gap = Double.infinity
        var iteration = 0
        let gradientNorms = h.gradientNorms
        while iteration < settings.maxIterations {
            // Next to the kink Σ p_i g_i = 0 the gradient's norm term points wherever the small
            // residual of the cancellation points, and the curvature is huge: jump off it first.
            var boundOnNorm = 0.0
            for i in 0..<k { boundOnNorm += p[i] * gradientNorms[i] }
            if norm <= nearKinkRatio * boundOnNorm, let escape = halfwayTowardsBestVertex(from: p, in: unit) {
                p = escape
                norm = sqrt(h.quadraticForm(p))
                eta = 1
            }
            // ∇Φ = b + s H p / √(pᵀ H p).
            let gradient = unit.gradient(p)
            let smallest = gradient.min()!, largest = gradient.max()!
            gap = 0
            for i in 0..<k { gap += p[i] * (gradient[i] - smallest) }
            if gap <= settings.gapTolerance { break }
            let mean = zip(p, gradient).reduce(0) { $0 + $1.0 * $1.1 }
            eta = min(eta, maxExponentRange / max(largest - smallest, .leastNormalMagnitude))

            var accepted = false
            while !accepted && eta * (largest - smallest) > stallStep {
                // p⁺ = normalise(p · exp(−η ∇Φ(p))). With a_i = −η(∇Φ_i − m), m the
                // p-weighted mean of ∇Φ, the normaliser is 1 + z with z = Σ p_j expm1(a_j) and
                // p⁺_i − p_i = p_i (expm1(a_i) − z) / (1 + z), computed without cancellation.
                let exponents = gradient.map { -eta * ($0 - mean) }
                let growth = exponents.map { expm1($0) }
                var z = 0.0, meanExponent = 0.0
                for i in 0..<k {
                    z += p[i] * growth[i]
                    meanExponent += p[i] * exponents[i]
                }
                let step = (0..<k).map { p[$0] * (growth[$0] - z) / (1 + z) }
                let next = (0..<k).map { max(p[$0] + step[$0], 0) }
                let nextNorm = sqrt(h.quadraticForm(next))
                // Φ(p⁺) − Φ(p) = bᵀΔp + s (‖Gp⁺‖² − ‖Gp‖²)/(‖Gp⁺‖ + ‖Gp‖), ‖Gp⁺‖² − ‖Gp‖² = Δpᵀ H (2p + Δp).
                let twoPPlusStep = (0..<k).map { 2 * p[$0] + step[$0] }
                let hTwoPPlusStep = h.multiply(twoPPlusStep)
                var squaredNormChange = 0.0, linearChange = 0.0
                for i in 0..<k {
                    squaredNormChange += step[i] * hTwoPPlusStep[i]
                    linearChange += b[i] * step[i]
                }
                let normSum = nextNorm + norm
                let objectiveChange = linearChange + (normSum > 0 ? s * squaredNormChange / normSum : 0)
                // ⟨∇Φ, Δp⟩ + KL(p⁺‖p)/η equals (Σ p_j a_j − log(1 + z))/η exactly; Σ p_j a_j is 0 up to
                // the rounding of m, which this keeps from masquerading as a first-order term.
                if objectiveChange <= (meanExponent - log1p(z)) / eta {
                    let total = next.reduce(0, +)
                    p = next.map { $0 / total }
                    norm = sqrt(h.quadraticForm(p))
                    eta *= 2
                    accepted = true
                } else {
                    eta *= 0.5
                }
            }
            iteration += 1
            if !accepted {
                // No step passes the descent test: either p is optimal to rounding, or p sits at (or
                // next to) the kink Σ p_i g_i = 0 where Φ is not differentiable and the test cannot
                // hold. There Φ is linear along each segment towards a vertex e_i (slope
                // b_i − bᵀp + s‖g_i‖), and since the kink is never the minimum for c < 1, some such
                // segment descends: move halfway along the best one (staying inside the simplex).
                guard let escape = halfwayTowardsBestVertex(from: p, in: unit) else { break }
                p = escape
                norm = sqrt(h.quadraticForm(p))
                eta = 1
            }
        }
        let weights = DualSolution.snapped(p)
        return DualSolution(
            weights: weights, objective: problem.objective(weights), iterations: iteration,
            optimalityGap: gap * scale)
    }
}
