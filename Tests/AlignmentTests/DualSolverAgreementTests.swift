import Foundation
import Testing
@testable import Alignment

/// RACO.md "Properties to test": the k = 2 closed form, the k = 3 enumeration and mirror descent
/// agree to 1e-6 on random Gram matrices, including singular and near-singular ones.
///
/// What "agree" can mean: Φ is convex but not always strictly, so p* is unique only when H is
/// non-singular (more precisely, when the minimiser is). Everywhere the solvers must agree on
/// Φ(p*) and on the point Σ p*_i g_i (which fixes the CAGrad direction); where p* is unique they
/// must also agree on p* itself to 1e-6. On near-singular H, p* is unique in exact arithmetic but
/// determined only to about √(rounding / smallest curvature), which no solver can beat, so there the
/// first two criteria are the meaningful ones. There mirror descent also converges slowly (Φ is
/// nearly linear along the flat direction, whose slope is ~1e-6 of the curvature across it), so
/// the Φ tolerance is the 1e-6 (relative to max H_ii) of RACO.md; on regular problems the solvers
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

    @Test func twoObjectiveClosedFormAgreesWithMirrorDescentAndGoldenSection() throws {
        var random = SeededGenerator(seed: 2)
        var worst = 0.0
        for trial in 0..<400 {
            let gradients = random.gradients(2, length: Int.random(in: 2...6, using: &random))
            let problem = try dualProblem(gradients, weights: random.simplexPoint(2), c: random.uniform(0.05...0.95))
            let closedForm = try DualSolver.twoObjectiveClosedForm.solve(problem)
            let mirror = try Self.mirrorDescent.solve(problem)
            let oracle = goldenSectionMinimiser(problem)
            expectAgreement(problem, exact: closedForm, mirror: mirror, uniqueMinimiser: true, "trial \(trial)")
            #expect(maxAbsDifference(closedForm.weights, oracle) <= 1e-6, "trial \(trial)")
            #expect(closedForm.objective <= problem.objective(oracle) + 1e-14 * max(problem.gram[0, 0], problem.gram[1, 1]), "trial \(trial)")
            worst = max(worst, maxAbsDifference(closedForm.weights, mirror.weights))
        }
        print("k = 2: largest |p*_closed − p*_mirror| over 400 random trials: \(worst)")
    }

    @Test func threeObjectiveEnumerationAgreesWithMirrorDescent() throws {
        var random = SeededGenerator(seed: 3)
        var worst = 0.0
        for trial in 0..<400 {
            let gradients = random.gradients(3, length: Int.random(in: 3...7, using: &random))
            let problem = try dualProblem(gradients, weights: random.simplexPoint(3), c: random.uniform(0.05...0.95))
            let enumeration = try DualSolver.threeObjectiveEnumeration.solve(problem)
            let mirror = try Self.mirrorDescent.solve(problem)
            expectAgreement(problem, exact: enumeration, mirror: mirror, uniqueMinimiser: true, "trial \(trial)")
            worst = max(worst, maxAbsDifference(enumeration.weights, mirror.weights))
        }
        print("k = 3: largest |p*_enumeration − p*_mirror| over 400 random trials: \(worst)")
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

    @Test func twoObjectiveSolversAgreeOnSingularAndNearSingularGradients() throws {
        var random = SeededGenerator(seed: 4)
        for (name, make) in Self.singularPairs {
            for trial in 0..<25 {
                let gradients = make(&random)
                let problem = try dualProblem(gradients, weights: random.simplexPoint(2), c: random.uniform(0.05...0.95))
                let closedForm = try DualSolver.twoObjectiveClosedForm.solve(problem)
                let mirror = try Self.mirrorDescent.solve(problem)
                let oracle = goldenSectionMinimiser(problem)
                expectAgreement(problem, exact: closedForm, mirror: mirror, uniqueMinimiser: false, "\(name), trial \(trial)")
                #expect(closedForm.objective <= problem.objective(oracle) + 1e-14 * max(problem.gram[0, 0], problem.gram[1, 1]),
                        "\(name), trial \(trial)")
            }
        }
    }

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

    @Test func threeObjectiveSolversAgreeOnSingularAndNearSingularGradients() throws {
        var random = SeededGenerator(seed: 5)
        for (name, make) in Self.singularTriples {
            for trial in 0..<25 {
                let gradients = make(&random)
                let problem = try dualProblem(gradients, weights: random.simplexPoint(3), c: random.uniform(0.05...0.95))
                let enumeration = try DualSolver.threeObjectiveEnumeration.solve(problem)
                let mirror = try Self.mirrorDescent.solve(problem)
                expectAgreement(problem, exact: enumeration, mirror: mirror, uniqueMinimiser: false, "\(name), trial \(trial)")
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
}
