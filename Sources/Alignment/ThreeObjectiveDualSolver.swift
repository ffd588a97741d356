import Foundation

/// The k = 3 enumeration (docs/RACO.md, "Solver for three objectives"): the smallest Φ among the three vertices, the
/// k = 2 solution on each of the three edges, and the interior KKT point.
///
/// When H is singular an edge or vertex always attains the minimum, so skipping the interior point
/// loses nothing: if Gn = 0 with 1ᵀn = 0 the minimisers form a segment that reaches the boundary;
/// if 1ᵀn ≠ 0 then 0 lies in the affine hull of the g_i, and an interior stationary point would
/// need g_0 + s·u = 0 with ‖u‖ = 1 inside span{g_i}, i.e. ‖g_0‖ = s = c‖g_0‖, impossible for c < 1.
enum ThreeObjectiveDualSolver {
    static func solve(_ problem: CAGradDualProblem, preferred: [Double]?) -> DualSolution {
        precondition(problem.objectiveCount == 3)
        guard let (unit, _) = problem.normalised() else {
            return DualSolution(weights: preferred ?? [1.0 / 3, 1.0 / 3, 1.0 / 3], objective: 0, iterations: 0, optimalityGap: nil)
        }
        var candidates: [[Double]] = []
        // The 3 vertices, Φ(e_i) = b_i + s ‖g_i‖.
        for i in 0..<3 {
            var vertex = [0.0, 0.0, 0.0]
            vertex[i] = 1
            candidates.append(vertex)
        }
        // The 3 edges, the k = 2 solution on each.
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            let edgePreference = preferred.flatMap { w -> [Double]? in
                let total = w[i] + w[j]
                return total > 0 ? [w[i] / total, w[j] / total] : nil
            }
            let lambda = TwoObjectiveDualSolver.minimiser(of: unit.restricted(to: i, j), preferred: edgePreference)
            var point = [0.0, 0.0, 0.0]
            point[i] = lambda[0]
            point[j] = lambda[1]
            candidates.append(point)
        }
        candidates += interiorKKTPoints(of: unit)
        if let preferred { candidates.append(preferred) }
        let chosen = DualCandidateSelection.best(of: candidates, in: unit, preferred: preferred).point
        let weights = DualSolution.snapped(chosen)
        return DualSolution(weights: weights, objective: problem.objective(weights), iterations: 0, optimalityGap: nil)
    }

    /// The interior KKT points: with A = 1ᵀH⁻¹1, B = 1ᵀH⁻¹b, C = bᵀH⁻¹b solve A ν² − 2 B ν + C − s² = 0,
    /// p(ν) = H⁻¹(ν 1 − b) / (A ν − B), kept when all p > 0.
    ///
    /// Only the root with A ν − B > 0 is the genuine stationary point (there Φ(p) = ν); the other
    /// root is a stationary point of bᵀp − s‖Σ p_i g_i‖ and would claim a Φ = ν below the true
    /// value. Both are returned as candidates and Φ is evaluated at them directly, which settles it.
    static func interiorKKTPoints(of unit: CAGradDualProblem) -> [[Double]] {
        guard let inverse = inverseOfSymmetric3x3(unit.gram) else { return [] }
        let b = unit.linearTerm, s = unit.normWeight
        let inverseOnes = (0..<3).map { i in inverse[i][0] + inverse[i][1] + inverse[i][2] }
        let inverseB = (0..<3).map { i in inverse[i][0] * b[0] + inverse[i][1] * b[1] + inverse[i][2] * b[2] }
        let a = inverseOnes.reduce(0, +)
        let bigB = inverseB.reduce(0, +)
        let c = b[0] * inverseB[0] + b[1] * inverseB[1] + b[2] * inverseB[2]
        guard a > 0 else { return [] }
        // A ν² − 2 B ν + (C − s²) = 0  ⇒  ν = (B ± √(B² − A (C − s²))) / A.
        let discriminant = bigB * bigB - a * (c - s * s)
        guard discriminant >= 0 else { return [] }
        let root = sqrt(discriminant)
        var points: [[Double]] = []
        for nu in [(bigB + root) / a, (bigB - root) / a] {
            let denominator = a * nu - bigB
            guard denominator != 0 else { continue }
            let p = (0..<3).map { i in (nu * inverseOnes[i] - inverseB[i]) / denominator }
            if p.allSatisfy({ $0 > 0 && $0.isFinite }) { points.append(p) }
        }
        return points
    }

    /// H⁻¹ by cofactors, or nil when det H ≤ 0 (singular: see the type's comment).
    static func inverseOfSymmetric3x3(_ h: GramMatrix) -> [[Double]]? {
        let c00 = h[1, 1] * h[2, 2] - h[1, 2] * h[2, 1]
        let c01 = h[1, 2] * h[2, 0] - h[1, 0] * h[2, 2]
        let c02 = h[1, 0] * h[2, 1] - h[1, 1] * h[2, 0]
        let determinant = h[0, 0] * c00 + h[0, 1] * c01 + h[0, 2] * c02
        guard determinant > 0, determinant.isFinite else { return nil }
        let c11 = h[0, 0] * h[2, 2] - h[0, 2] * h[2, 0]
        let c12 = h[0, 1] * h[2, 0] - h[0, 0] * h[2, 1]
        let c22 = h[0, 0] * h[1, 1] - h[0, 1] * h[1, 0]
        let cofactors = [[c00, c01, c02], [c01, c11, c12], [c02, c12, c22]]
        return cofactors.map { row in row.map { $0 / determinant } }
    }
}
