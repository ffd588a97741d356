/// Which solver computes p* = argmin over the simplex of Φ (docs/RACO.md, "The CAGrad dual problem").
public enum DualSolver: Sendable, Equatable {
    /// k = 1: p* = (1); k = 2: the closed form; k = 3: the enumeration; k ≥ 4: mirror descent.
    case automatic
    /// docs/RACO.md, "Solver for two objectives" (k = 2 only).
    case twoObjectiveClosedForm
    /// docs/RACO.md, "Solver for three objectives" (k = 3 only).
    case threeObjectiveEnumeration
    /// docs/RACO.md, "Solver for any number of objectives (mirror descent)" (any k).
    case mirrorDescent(MirrorDescentSettings)

    /// Solves the dual. `preferred` (the user weights w) breaks exact ties between minimisers in
    /// the exact solvers; mirror descent starts from the uniform point and ignores it.
    public func solve(_ problem: CAGradDualProblem, preferred: [Double]? = nil) throws -> DualSolution {
        let k = problem.objectiveCount
        if let preferred, preferred.count != k {
            throw AlignmentError.countMismatch(expected: k, actual: preferred.count, what: "preferred weights")
        }
        switch self {
        case .automatic:
            switch k {
            case 1: return DualSolution(weights: [1], objective: problem.objective([1]), iterations: 0, optimalityGap: nil)
            case 2: return TwoObjectiveDualSolver.solve(problem, preferred: preferred)
            case 3: return ThreeObjectiveDualSolver.solve(problem, preferred: preferred)
            default: return MirrorDescentDualSolver.solve(problem, settings: MirrorDescentSettings())
            }
        case .twoObjectiveClosedForm:
            guard k == 2 else { throw AlignmentError.countMismatch(expected: 2, actual: k, what: "objectives for the closed form") }
            return TwoObjectiveDualSolver.solve(problem, preferred: preferred)
        case .threeObjectiveEnumeration:
            guard k == 3 else { throw AlignmentError.countMismatch(expected: 3, actual: k, what: "objectives for the enumeration") }
            return ThreeObjectiveDualSolver.solve(problem, preferred: preferred)
        case .mirrorDescent(let settings):
            return MirrorDescentDualSolver.solve(problem, settings: settings)
        }
    }
}
