import Foundation
import Testing
@testable import Alignment

/// docs/RACO.md, "What is tested": the k = 2 closed form, the k = 3 enumeration and mirror descent
/// agree to 1e-6 on random Gram matrices, including singular and near-singular ones.
///
/// What "agree" can mean: Φ is convex but not always strictly, so p* is unique only when H is
/// non-singular (more precisely, when the minimiser is). Everywhere the solvers must agree on
/// Φ(p*) and on the point Σ p*_i g_i (which fixes the CAGrad direction); where p* is unique they
/// must also agree on p* itself to 1e-6. On near-singular H, p* is unique in exact arithmetic but
/// determined only to about √(rounding / smallest curvature), which no solver can beat, so there the
/// first two criteria are the meaningful ones. There mirror descent also converges slowly (Φ is
/// nearly linear along the flat direction, whose slope is ~1e-6 of the curvature across it), so
/// the Φ tolerance is 1e-6 (relative to max H_ii); on regular problems the solvers
/// agree to about 1e-11 in p and the tolerance on Φ is 1e-12.
struct DualSolverAgreementTests {
    static let mirrorDescent = DualSolver.mirrorDescent(MirrorDescentSettings())

    /// Checks two solutions of the same problem against each other.
    /// Checks an exact solution against the mirror-descent one of the same problem.
    func expectAgreement(
        _ problem: CAGradDualProblem, exact a: DualSolution, mirror b: DualSolution, uniqueMinimiser: Bool,
        _ comment: Comment
    ) {
        let scale = (0..<problem.objectiveCount).map { problem.gram[$0, $0] }.max()!
        #expect(abs(a.objective - b.objective) <= (uniqueMinimiser ? 1e-12 : 1e-6) * scale, comment)
        // The exact solvers are never beaten.
        #expect(a.objective <= b.objective + 1e-14 * scale, comment)
        #expect(gradientSpaceDistance(a.weights, b.weights, problem.gram) <= 1e-6 * scale.squareRoot(), comment)
        if uniqueMinimiser {
            #expect(maxAbsDifference(a.weights, b.weights) <= 1e-6, comment)
        }
        for solution in [a, b] {
            #expect(solution.weights.allSatisfy { $0 >= 0 }, comment)
            #expect(abs(solution.weights.reduce(0, +) - 1) <= 1e-12, comment)
        }
    }

    /// Solves with the exact solver for k (2 or 3) and with mirror descent, checks agreement (and
    /// for k = 2 against a golden-section search), and returns max_i |p*_exact − p*_mirror|.
    @discardableResult
    func compareSolvers(_ problem: CAGradDualProblem, uniqueMinimiser: Bool, _ comment: Comment) throws -> Double {
        let k = problem.objectiveCount
        let exactSolver: DualSolver = k == 2 ? .twoObjectiveClosedForm : .threeObjectiveEnumeration
        let exact = try exactSolver.solve(problem)
        let mirror = try Self.mirrorDescent.solve(problem)
        expectAgreement(problem, exact: exact, mirror: mirror, uniqueMinimiser: uniqueMinimiser, comment)
        if k == 2 {
            let oracle = goldenSectionMinimiser(problem)
            if uniqueMinimiser { #expect(maxAbsDifference(exact.weights, oracle) <= 1e-6, comment) }
            #expect(exact.objective <= problem.objective(oracle) + 1e-14 * max(problem.gram[0, 0], problem.gram[1, 1]), comment)
        }
        return maxAbsDifference(exact.weights, mirror.weights)
    }

    /// Random full-rank gradients: the k = 2 closed form and the k = 3 enumeration against mirror descent.
    @Test(arguments: [2, 3])
    func exactSolverAgreesWithMirrorDescentOnRandomGradients(_ k: Int) throws {
        var random = SeededGenerator(seed: UInt64(k))
        var worst = 0.0
        for trial in 0..<400 {
            let gradients = random.gradients(k, length: Int.random(in: k...(k + 4), using: &random))
            let problem = try dualProblem(gradients, weights: random.simplexPoint(k), c: random.uniform(0.05...0.95))
            worst = max(worst, try compareSolvers(problem, uniqueMinimiser: true, "trial \(trial)"))
        }
        print("k = \(k): largest |p*_exact − p*_mirror| over 400 random trials: \(worst)")
    }

    /// Rank-deficient and near-rank-deficient pairs: identical, parallel, anti-parallel, zero and
    /// scalar gradients, and the same plus 1e-6 / 1e-9 perturbations.
    static let singularPairs: [(String, (inout SeededGenerator) -> [[Double]])] = [
        ("identical", { r in let g = r.normalVector(5); return [g, g] }),
        ("parallel, norms 1 : 3", { r in let g = r.normalVector(5); return [g, g.map { 3 * $0 }] }),
        ("anti-parallel, norms 1 : 2", { r in let g = r.normalVector(5); return [g, g.map { -2 * $0 }] }),
        ("second gradient zero", { r in [r.normalVector(5), [Double](repeating: 0, count: 5)] }),
        ("first gradient zero", { r in [[Double](repeating: 0, count: 5), r.normalVector(5)] }),
        ("scalar parameter", { r in [[r.normal()], [r.normal()]] }),
        ("nearly parallel (1e-6)", { r in let g = r.normalVector(5); return [g, add(g.map { 2 * $0 }, r.normalVector(5), times: 1e-6)] }),
        ("nearly anti-parallel (1e-9)", { r in let g = r.normalVector(5); return [g, add(g.map { -$0 }, r.normalVector(5), times: 1e-9)] }),
        ("nearly identical (1e-7)", { r in let g = r.normalVector(5); return [g, add(g, r.normalVector(5), times: 1e-7)] }),
    ]

    /// Rank-deficient triples: coplanar (P = 2), a duplicate, an affine combination, a zero
    /// gradient, all parallel, and near versions of these.
    static let singularTriples: [(String, (inout SeededGenerator) -> [[Double]])] = [
        ("coplanar (P = 2)", { r in [r.normalVector(2), r.normalVector(2), r.normalVector(2)] }),
        ("duplicate", { r in let g = r.normalVector(4); return [g, r.normalVector(4), g] }),
        ("midpoint g3 = (g1 + g2)/2", { r in let a = r.normalVector(4), b = r.normalVector(4); return [a, b, add(a, b).map { $0 / 2 }] }),
        ("zero gradient", { r in [r.normalVector(4), r.normalVector(4), [Double](repeating: 0, count: 4)] }),
        ("all parallel (2, −1, 0.5)", { r in let g = r.normalVector(4); return [g.map { 2 * $0 }, g.map { -$0 }, g.map { 0.5 * $0 }] }),
        ("nearly coplanar (1e-7)", { r in
            let a = r.normalVector(4), b = r.normalVector(4)
            return [a, b, add(add(a.map { -0.7 * $0 }, b, times: 0.4), r.normalVector(4), times: 1e-7)]
        }),
        ("nearly a midpoint (1e-6)", { r in
            let a = r.normalVector(4), b = r.normalVector(4)
            return [a, b, add(add(a, b).map { $0 / 2 }, r.normalVector(4), times: 1e-6)]
        }),
    ]

    @Test(arguments: [2, 3])
    func exactSolverAgreesWithMirrorDescentOnSingularAndNearSingularGradients(_ k: Int) throws {
        var random = SeededGenerator(seed: 3 + UInt64(k))
        for (name, make) in k == 2 ? Self.singularPairs : Self.singularTriples {
            for trial in 0..<25 {
                let problem = try dualProblem(make(&random), weights: random.simplexPoint(k), c: random.uniform(0.05...0.95))
                try compareSolvers(problem, uniqueMinimiser: false, "\(name), trial \(trial)")
            }
        }
    }

    /// Φ is homogeneous: scaling every gradient by α scales Φ by α² and leaves p* alone, so the
    /// solvers' thresholds must not depend on the gradients' magnitude (LoRA gradients may be tiny).
    @Test(arguments: [1e-6, 1e-3, 1e3, 1e6])
    func minimiserDoesNotDependOnGradientScale(_ alpha: Double) throws {
        var random = SeededGenerator(seed: 6)
        for trial in 0..<50 {
            let k = trial % 2 == 0 ? 2 : 3
            let gradients = random.gradients(k, length: 6)
            let w = random.simplexPoint(k), c = random.uniform(0.05...0.95)
            let reference = try DualSolver.automatic.solve(dualProblem(gradients, weights: w, c: c))
            let scaled = try DualSolver.automatic.solve(dualProblem(gradients.map { $0.map { alpha * $0 } }, weights: w, c: c))
            #expect(maxAbsDifference(reference.weights, scaled.weights) <= 1e-9, "trial \(trial)")
        }
    }

    /// Mirror descent on k = 5 (no exact solver) reaches a point whose Frank–Wolfe gap certifies
    /// optimality, and no vertex or random point of the simplex does better.
    @Test func mirrorDescentCertifiesItsMinimumForFiveObjectives() throws {
        var random = SeededGenerator(seed: 7)
        for trial in 0..<40 {
            let gradients = random.gradients(5, length: 8)
            let problem = try dualProblem(gradients, weights: random.simplexPoint(5), c: random.uniform(0.05...0.95))
            let solution = try DualSolver.automatic.solve(problem)
            let scale = (0..<5).map { problem.gram[$0, $0] }.max()!
            #expect((solution.optimalityGap ?? .infinity) <= 1e-12 * scale, "trial \(trial)")
            for _ in 0..<200 {
                #expect(problem.objective(random.simplexPoint(5)) >= solution.objective - 1e-12 * scale, "trial \(trial)")
            }
        }
    }

    // MARK: cases checkable by hand

    /// Orthonormal gradients and uniform w: by symmetry p* is the centre of the simplex, which only
    /// the interior KKT point (docs/RACO.md, "Solver for three objectives") reaches; there Φ(p*) = ν.
    @Test func interiorKKTPointSolvesTheSymmetricThreeObjectiveProblem() throws {
        let gradients: [[Double]] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
        let w = [1.0 / 3, 1.0 / 3, 1.0 / 3]
        let problem = try dualProblem(gradients, weights: w, c: 0.5)
        let interior = ThreeObjectiveDualSolver.interiorKKTPoints(of: problem)
        // Both roots ν = 1/2 and ν = 1/6 of the KKT quadratic map to the same p = w here; only
        // ν = 1/2 (A ν − B > 0) is Φ(w), which is why Φ is evaluated at the candidates, not read off ν.
        #expect(!interior.isEmpty)
        for point in interior { #expect(maxAbsDifference(point, w) <= 1e-15) }
        let solution = try DualSolver.threeObjectiveEnumeration.solve(problem)
        #expect(maxAbsDifference(solution.weights, w) <= 1e-15)
        // H = I, b = w, s = 0.5/√3: A = 3, B = 1, C = 1/3, so 3ν² − 2ν + 1/3 − 1/12 = 0 and the
        // genuine root is ν = (1 + √(1 − 3/4))/3 = 1/2 = Φ(w) = 1/3 + (0.5/√3)(1/√3).
        #expect(abs(solution.objective - 0.5) <= 1e-15)
    }

    /// Orthonormal pair with w = (½, ½): p* = (½, ½) by symmetry, a root of the quadratic of
    /// docs/RACO.md, "Solver for two objectives" (δ = 0, so it reads
    /// −s² q_2² λ² − s² q_1 q_2 λ − s² q_1²/4 = −s²(2λ − 1)² = 0).
    @Test func closedFormFindsTheSymmetricTwoObjectiveRoot() throws {
        let problem = try dualProblem([[1, 0], [0, 1]], weights: [0.5, 0.5], c: 0.5)
        #expect(TwoObjectiveDualSolver.candidateLambdas(of: problem).contains { abs($0 - 0.5) <= 1e-15 })
        #expect(try DualSolver.twoObjectiveClosedForm.solve(problem).weights == [0.5, 0.5])
    }

    /// Nearly identical gradients make the leading coefficient of the quadratic fall below 1e-12
    /// (docs/RACO.md, "Solver for two objectives"): the linear fallback runs, and the answer still
    /// matches the golden-section search.
    @Test func linearFallbackRunsForNearlyIdenticalGradients() throws {
        var random = SeededGenerator(seed: 8)
        let g = random.normalVector(4)
        let problem = try dualProblem([g, add(g, random.normalVector(4), times: 1e-5)], weights: [0.3, 0.7], c: 0.6)
        let unit = try #require(problem.normalised()).problem
        let q2 = unit.gram[0, 0] + unit.gram[1, 1] - 2 * unit.gram[0, 1]
        let delta = unit.linearTerm[0] - unit.linearTerm[1], s = unit.normWeight
        #expect(abs(delta * delta * q2 - s * s * q2 * q2) < TwoObjectiveDualSolver.leadingCoefficientThreshold)
        let solution = try DualSolver.twoObjectiveClosedForm.solve(problem)
        #expect(solution.objective <= problem.objective(goldenSectionMinimiser(problem)) + 1e-15 * problem.gram[0, 0])
    }
}
