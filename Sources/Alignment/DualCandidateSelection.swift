/// Picks the minimiser among the candidate points of an exact solver: the candidate with the smallest Φ
/// (docs/RACO.md, "Solver for two objectives" and "Solver for three objectives"; ties as in "Numerical safeguards").
///
/// Φ is evaluated directly at every candidate rather than trusted from a formula (for the k = 3
/// interior point, Φ = ν holds only for the genuine root of the KKT quadratic, see
/// `ThreeObjectiveDualSolver`). Because every candidate is a feasible point, an extra or inexact
/// candidate can only lose; it can never report a Φ below the true minimum.
///
/// Ties: when the minimiser is not unique (identical gradients, or three affinely dependent ones)
/// the candidates whose Φ is within `tieTolerance` of the smallest are equally good, and the one
/// closest (Euclidean) to `preferred` — the user weights w — is returned, so that a dual that is
/// indifferent does not move the clip (docs/RACO.md, "The clip") away from w.
enum DualCandidateSelection {
    /// In the normalised units of `CAGradDualProblem.normalised()` (max H_ii = 1, |Φ| ≲ 2): a few
    /// ulps of Φ's evaluation, far below any difference a genuine minimiser makes.
    static let tieTolerance = 1e-14

    static func best(
        of candidates: [[Double]], in problem: CAGradDualProblem, preferred: [Double]?
    ) -> (point: [Double], objective: Double) {
        let values = candidates.map { problem.objective($0) }
        let smallest = values.min()!
        var bestIndex = values.firstIndex(of: smallest)!
        if let preferred {
            var bestDistance = Double.infinity
            for (index, value) in values.enumerated() where value <= smallest + tieTolerance {
                var distance = 0.0
                for i in preferred.indices { distance += (candidates[index][i] - preferred[i]) * (candidates[index][i] - preferred[i]) }
                if distance < bestDistance {
                    bestDistance = distance
                    bestIndex = index
                }
            }
        }
        return (candidates[bestIndex], values[bestIndex])
    }
}
