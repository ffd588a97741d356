import Foundation

/// The k = 2 closed form (docs/RACO.md, "Solver for two objectives"). With p = (λ, 1 − λ),
/// Φ(p) = h(λ) and the minimiser is among λ = 0, λ = 1 and the real roots in [0, 1] of the quadratic
/// from h'(λ) = 0.
enum TwoObjectiveDualSolver {
    /// Below this |leading coefficient| the quadratic is solved as a linear equation, in the
    /// normalised units where max H_ii = 1.
    static let leadingCoefficientThreshold = 1e-12

    /// Solves a 2-objective problem. `preferred` is the tie-break point (the user weights).
    static func solve(_ problem: CAGradDualProblem, preferred: [Double]?) -> DualSolution {
        precondition(problem.objectiveCount == 2)
        guard let (unit, _) = problem.normalised() else {
            return DualSolution(weights: preferred ?? [0.5, 0.5], objective: 0, iterations: 0, optimalityGap: nil)
        }
        let chosen = minimiser(of: unit, preferred: preferred)
        let weights = DualSolution.snapped(chosen)
        return DualSolution(weights: weights, objective: problem.objective(weights), iterations: 0, optimalityGap: nil)
    }

    /// The minimising p = (λ, 1 − λ) of an already normalised problem.
    static func minimiser(of unit: CAGradDualProblem, preferred: [Double]?) -> [Double] {
        var lambdas = candidateLambdas(of: unit)
        if let preferred { lambdas.append(preferred[0]) }
        let candidates = lambdas.map { [$0, 1 - $0] }
        return DualCandidateSelection.best(of: candidates, in: unit, preferred: preferred).point
    }

    /// λ = 0, λ = 1 and the real roots in [0, 1] of the quadratic h'(λ) = 0 leads to.
    static func candidateLambdas(of unit: CAGradDualProblem) -> [Double] {
        let h = unit.gram, b = unit.linearTerm, s = unit.normWeight
        // δ = b_1 − b_2, q_2 = H11 + H22 − 2 H12, q_1 = 2 (H12 − H22), q_0 = H22,
        // so that pᵀHp = q_2 λ² + q_1 λ + q_0 and bᵀp = b_2 + δ λ.
        let delta = b[0] - b[1]
        let q2 = h[0, 0] + h[1, 1] - 2 * h[0, 1]
        let q1 = 2 * (h[0, 1] - h[1, 1])
        let q0 = h[1, 1]
        // h'(λ) = 0, squared: (δ² q_2 − s² q_2²) λ² + (δ² q_1 − s² q_1 q_2) λ + (δ² q_0 − s² q_1²/4) = 0.
        // (Squaring h' = 0 may add roots of δ = +s(…)/√(…) as well; evaluating h discards them.)
        let quadratic = delta * delta * q2 - s * s * q2 * q2
        let linear = delta * delta * q1 - s * s * q1 * q2
        let constant = delta * delta * q0 - s * s * q1 * q1 / 4

        var roots: [Double] = []
        if abs(quadratic) < leadingCoefficientThreshold {
            // Below 1e-12 solve the linear equation linear · λ + constant = 0.
            if linear != 0 { roots.append(-constant / linear) }
        } else {
            let discriminant = linear * linear - 4 * quadratic * constant
            if discriminant >= 0 {
                // Both roots without cancellation: q = −(B + sign(B)√D)/2, λ = q/A and λ = C/q.
                let q = -0.5 * (linear + (linear >= 0 ? 1 : -1) * sqrt(discriminant))
                roots.append(q / quadratic)
                if q != 0 { roots.append(constant / q) }
            } else {
                // A double root whose discriminant rounded below 0: keep the vertex as a candidate
                // (a feasible extra candidate can only lose, see DualCandidateSelection).
                roots.append(-linear / (2 * quadratic))
            }
        }
        // Candidates: 0, 1 and the real roots inside (0, 1); the caller compares Φ at each.
        return [0, 1] + roots.filter { $0.isFinite && $0 > 0 && $0 < 1 }
    }
}
