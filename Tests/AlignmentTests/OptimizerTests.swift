import Foundation
import Testing
@testable import Alignment

struct AdamWTests {
    /// Two steps worked by hand: θ = (1, −2), lr 0.1, λ = 0.01, gradients (0.5, −0.1) then (0.2, 0.3).
    /// Step 1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², so θ_i ← θ_i (1 − 0.001) − 0.1 g_i/(|g_i| + 1e-8):
    ///   θ = (0.999 − 0.1 · 0.5/0.50000001, −1.998 + 0.1 · 0.1/0.10000001) = (0.899000002, −1.89800001).
    /// Step 2: m = (0.065, 0.021), v = (0.00028975, 0.00009999), m̂ = m/0.19, v̂ = v/0.001999.
    @Test func twoStepsMatchTheHandComputation() throws {
        var optimizer = AdamW(parameterCount: 2, weightDecay: 0.01)
        var parameters = [1.0, -2.0]
        try optimizer.step(parameters: &parameters, gradient: [0.5, -0.1], learningRate: 0.1)
        #expect(abs(parameters[0] - (0.999 - 0.1 * 0.5 / 0.50000001)) <= 1e-15)
        #expect(abs(parameters[1] - (-1.998 + 0.1 * 0.1 / 0.10000001)) <= 1e-15)
        #expect(abs(parameters[0] - 0.899000002) <= 1e-15)

        let afterFirst = parameters
        try optimizer.step(parameters: &parameters, gradient: [0.2, 0.3], learningRate: 0.1)
        #expect(maxAbsDifference(optimizer.firstMoment, [0.065, 0.021]) <= 1e-16)
        #expect(maxAbsDifference(optimizer.secondMoment, [0.00028975, 0.00009999]) <= 1e-18)
        for i in 0..<2 {
            let m = [0.065, 0.021][i] / 0.19, v = [0.00028975, 0.00009999][i] / 0.001999
            let expected = afterFirst[i] * 0.999 - 0.1 * m / (v.squareRoot() + 1e-8)
            #expect(abs(parameters[i] - expected) <= 1e-14)
        }
        #expect(abs(parameters[0] - 0.8082434839009282) <= 1e-13)
        #expect(abs(parameters[1] - -1.9455209911100655) <= 1e-13)
        #expect(optimizer.stepCount == 2)
    }

    /// With a zero gradient the Adam term is 0/(0 + ε) = 0: only the decoupled decay acts.
    @Test func weightDecayIsDecoupledFromTheGradient() throws {
        var optimizer = AdamW(parameterCount: 3, weightDecay: 0.1)
        var parameters: [Float] = [2, -4, 0.5]
        try optimizer.step(parameters: &parameters, gradient: [0, 0, 0], learningRate: 0.01)
        let expected: [Float] = [2.0, -4.0, 0.5].map { (x: Double) -> Float in Float(x - 0.01 * 0.1 * x) }
        #expect(parameters == expected)
    }

    /// The Float path updates in Float64 and rounds once: it equals the Float64 path rounded.
    @Test func floatAndDoublePathsAgreeAndAreDeterministic() throws {
        var random = SeededGenerator(seed: 30)
        let start = (0..<50).map { _ in Float(random.normal()) }
        let gradients = (0..<5).map { _ in (0..<50).map { _ in Float(random.normal()) } }
        func run() throws -> ([Float], [Double]) {
            var floatOptimizer = AdamW(parameterCount: 50, weightDecay: 0.01)
            var doubleOptimizer = AdamW(parameterCount: 50, weightDecay: 0.01)
            var floats = start
            var doubles = start.map { Double($0) }
            for g in gradients {
                try floatOptimizer.step(parameters: &floats, gradient: g, learningRate: 0.01)
                try doubleOptimizer.step(parameters: &doubles, gradient: g.map { Double($0) }, learningRate: 0.01)
            }
            return (floats, doubles)
        }
        let (floats, doubles) = try run()
        let (again, _) = try run()
        #expect(floats == again)
        #expect(maxAbsDifference(floats.map { Double($0) }, doubles) <= 1e-6)
    }

    @Test func mismatchedShapesThrow() throws {
        var optimizer = AdamW(parameterCount: 2)
        var parameters: [Float] = [1, 2, 3]
        #expect(throws: AlignmentError.self) { try optimizer.step(parameters: &parameters, gradient: [1, 2, 3], learningRate: 0.1) }
        parameters = [1, 2]
        #expect(throws: AlignmentError.self) { try optimizer.step(parameters: &parameters, gradient: [1], learningRate: 0.1) }
        #expect(optimizer.stepCount == 0)
    }
}

struct LearningRateScheduleTests {
    @Test func warmUpIsLinearAndReachesThePeak() throws {
        let schedule = try LearningRateSchedule(peak: 1e-3, floor: 1e-5, warmupSteps: 10, totalSteps: 110)
        for step in 0..<10 {
            #expect(abs(schedule.learningRate(atStep: step) - 1e-3 * Double(step + 1) / 10) <= 1e-18)
        }
        #expect(schedule.learningRate(atStep: 9) == 1e-3)
        #expect(schedule.learningRate(atStep: 10) == 1e-3)
    }

    @Test func cosineDecaysMonotonicallyToTheFloorAndStaysThere() throws {
        let schedule = try LearningRateSchedule(peak: 1e-3, floor: 1e-5, warmupSteps: 10, totalSteps: 110)
        var previous = schedule.learningRate(atStep: 10)
        for step in 11...110 {
            let rate = schedule.learningRate(atStep: step)
            #expect(rate < previous)
            previous = rate
        }
        // Half-way through the decay the rate is half-way between peak and floor.
        #expect(abs(schedule.learningRate(atStep: 60) - (1e-5 + (1e-3 - 1e-5) / 2)) <= 1e-18)
        #expect(schedule.learningRate(atStep: 110) == 1e-5)
        #expect(schedule.learningRate(atStep: 500) == 1e-5)
    }

    @Test func noWarmUpStartsAtThePeak() throws {
        let schedule = try LearningRateSchedule(peak: 0.5, warmupSteps: 0, totalSteps: 4)
        #expect(schedule.learningRate(atStep: 0) == 0.5)
        #expect(schedule.learningRate(atStep: 4) == 0)
    }

    @Test func invalidSchedulesThrow() {
        #expect(throws: AlignmentError.self) { try LearningRateSchedule(peak: 1e-3, floor: 1e-2, warmupSteps: 0, totalSteps: 10) }
        #expect(throws: AlignmentError.self) { try LearningRateSchedule(peak: 1e-3, warmupSteps: 20, totalSteps: 10) }
        #expect(throws: AlignmentError.self) { try LearningRateSchedule(peak: .nan, warmupSteps: 0, totalSteps: 10) }
    }
}
