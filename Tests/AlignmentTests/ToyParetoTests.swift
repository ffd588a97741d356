import Foundation
import Testing
@testable import Alignment

/// On a toy two-objective problem (two quadratics with conflicting minima) RACO converges to a
/// Pareto-critical point whose position along the front moves monotonically with w (docs/RACO.md, "What is tested").
///
/// f_1(θ) = ½‖θ − a‖², f_2(θ) = ½ (θ − b)ᵀ D (θ − b) with D = diag(1, 4): different curvature, so
/// the Pareto set is a curve, not the segment [a, b]. A point is Pareto-critical when g_1 and g_2
/// are anti-parallel or one of them vanishes.
///
/// Where RACO must end up: ‖d − g_0‖ = s = c‖g_0‖ with c < 1 gives ‖d‖ ≥ (1 − c)‖g_0‖, so d = 0 only
/// where g_0 = w_1 g_1 + w_2 g_2 = 0 — the minimiser θ*(w) = (w_1 I + w_2 D)⁻¹ (w_1 a + w_2 D b) of the
/// weighted sum, which is Pareto-critical and moves along the front as w moves. The tests check the
/// iterates get there, with plain gradient descent and with AdamW under the warm-up/cosine schedule.
struct ToyParetoTests {
    static let a = [0.0, 0.0]
    static let b = [2.0, 1.0]
    static let curvature = [1.0, 4.0]
    static let start = [3.0, -2.0]
    /// w_1 from 1 down to 0.
    static let grid = stride(from: 1.0, through: -1e-12, by: -0.125).map { max($0, 0) }

    static func f1(_ theta: [Double]) -> Double { 0.5 * ((theta[0] - a[0]) * (theta[0] - a[0]) + (theta[1] - a[1]) * (theta[1] - a[1])) }
    static func f2(_ theta: [Double]) -> Double {
        0.5 * (curvature[0] * (theta[0] - b[0]) * (theta[0] - b[0]) + curvature[1] * (theta[1] - b[1]) * (theta[1] - b[1]))
    }
    static func gradients(_ theta: [Double]) -> [[Double]] {
        [[theta[0] - a[0], theta[1] - a[1]], [curvature[0] * (theta[0] - b[0]), curvature[1] * (theta[1] - b[1])]]
    }
    static func weightedMinimiser(_ w1: Double) -> [Double] {
        (0..<2).map { j in (w1 * a[j] + (1 - w1) * curvature[j] * b[j]) / (w1 + (1 - w1) * curvature[j]) }
    }

    /// Pareto-critical within `tolerance`: one gradient (nearly) vanishes, or cos(g_1, g_2) ≈ −1.
    static func isParetoCritical(_ theta: [Double], tolerance: Double) -> Bool {
        let g = gradients(theta)
        if min(norm(g[0]), norm(g[1])) <= tolerance { return true }
        return dot(g[0], g[1]) / (norm(g[0]) * norm(g[1])) <= -1 + tolerance
    }

    /// Runs `steps` updates θ ← optimiser(θ, d) and returns the final θ.
    static func run(
        _ method: CombinationMethod, w1: Double, c: Double, steps: Int,
        update: (inout [Double], [Double], Int) throws -> Void
    ) throws -> [Double] {
        let combiner = try GradientCombiner(method: method, conflictAversion: c)
        var theta = start
        for step in 0..<steps {
            let (direction, _) = try combiner.combine(gradients: gradients(theta), weights: [w1, 1 - w1])
            try update(&theta, direction, step)
        }
        return theta
    }

    static func expectMonotoneFront(_ solutions: [[Double]], _ comment: Comment) {
        let firstLosses = solutions.map(f1), secondLosses = solutions.map(f2)
        for i in 1..<solutions.count {
            // As w_1 decreases, objective 1 is given up and objective 2 gained, strictly.
            #expect(firstLosses[i] > firstLosses[i - 1], comment)
            #expect(secondLosses[i] < secondLosses[i - 1], comment)
        }
    }

    @Test(arguments: [CombinationMethod.raco, .cagrad])
    func gradientDescentReachesAMonotoneParetoFront(_ method: CombinationMethod) throws {
        for c in [0.4, 0.9] {
            var solutions: [[Double]] = []
            for w1 in Self.grid {
                let theta = try Self.run(method, w1: w1, c: c, steps: 4000) { theta, direction, _ in
                    theta = add(theta, direction, times: -0.05)
                }
                #expect(Self.isParetoCritical(theta, tolerance: 1e-9), "\(method) c = \(c) w_1 = \(w1)")
                #expect(maxAbsDifference(theta, Self.weightedMinimiser(w1)) <= 1e-9, "\(method) c = \(c) w_1 = \(w1)")
                solutions.append(theta)
            }
            Self.expectMonotoneFront(solutions, "\(method) c = \(c)")
        }
    }

    @Test func adamWWithTheScheduleReachesAMonotoneParetoFront() throws {
        let steps = 3000
        let schedule = try LearningRateSchedule(peak: 0.05, floor: 1e-6, warmupSteps: 50, totalSteps: steps)
        var solutions: [[Double]] = []
        var largestDistance = 0.0
        for w1 in Self.grid {
            var optimizer = AdamW(parameterCount: 2)
            let theta = try Self.run(.raco, w1: w1, c: 0.4, steps: steps) { theta, direction, step in
                try optimizer.step(parameters: &theta, gradient: direction, learningRate: schedule.learningRate(atStep: step))
            }
            #expect(Self.isParetoCritical(theta, tolerance: 1e-9), "w_1 = \(w1)")
            #expect(maxAbsDifference(theta, Self.weightedMinimiser(w1)) <= 1e-9, "w_1 = \(w1)")
            largestDistance = max(largestDistance, maxAbsDifference(theta, Self.weightedMinimiser(w1)))
            solutions.append(theta)
        }
        print("AdamW toy: largest |θ − θ*(w)| over the grid: \(largestDistance)")
        Self.expectMonotoneFront(solutions, "raco with AdamW")
    }
}
