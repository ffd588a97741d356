import Engine
import Testing

struct SamplerTests {
    let logits: [Float] = [1.0, 3.0, 2.5, -1.0, 0.0, 2.9]

    func draws(_ p: SamplingParameters, _ n: Int = 2000) -> [Int: Int] {
        var sampler = Sampler(p)
        var counts = [Int: Int]()
        logits.withUnsafeBufferPointer { l in
            for _ in 0..<n { counts[sampler.sample(l), default: 0] += 1 }
        }
        return counts
    }

    @Test func greedyPicksTheArgmax() {
        #expect(draws(.greedy, 10) == [1: 10])
    }

    @Test func sameSeedSameTokens() {
        let p = SamplingParameters(temperature: 1, seed: 42)
        var a = Sampler(p), b = Sampler(p)
        logits.withUnsafeBufferPointer { l in
            for _ in 0..<100 { #expect(a.sample(l) == b.sample(l)) }
        }
    }

    @Test func topKKeepsOnlyTheBestK() {
        let counts = draws(SamplingParameters(temperature: 1, topK: 2, seed: 1))
        #expect(Set(counts.keys) == [1, 5])
    }

    @Test func topPKeepsTheSmallestSufficientSet() {
        // p(1) ≈ 0.36, p(5) ≈ 0.33, p(2) ≈ 0.22: top-p 0.5 keeps tokens 1 and 5 only.
        let counts = draws(SamplingParameters(temperature: 1, topP: 0.5, seed: 2))
        #expect(Set(counts.keys) == [1, 5])
    }

    @Test func minPDropsUnlikelyTokens() {
        // min-p 0.5: keep tokens with p ≥ 0.5 · p(1): tokens 1, 5, 2 (e^-0.5 ≈ 0.61) but not 0 (e^-2 ≈ 0.14).
        let counts = draws(SamplingParameters(temperature: 1, minP: 0.5, seed: 3))
        #expect(Set(counts.keys) == [1, 2, 5])
    }

    @Test func lowTemperatureConcentratesOnTheBest() {
        let counts = draws(SamplingParameters(temperature: 0.05, seed: 4), 500)
        #expect(counts[1, default: 0] > 400)
    }

    @Test func samplingFollowsTheDistribution() {
        let n = 20000
        let counts = draws(SamplingParameters(temperature: 1, seed: 5), n)
        let z = logits.map { expf($0) }.reduce(0, +)
        for (t, l) in logits.enumerated() {
            let expected = Double(expf(l) / z)
            let observed = Double(counts[t, default: 0]) / Double(n)
            #expect(abs(observed - expected) < 0.015, "token \(t): \(observed) vs \(expected)")
        }
    }

    @Test func frequencyPenaltyDiscouragesRepeats() {
        // Greedy with a strong frequency penalty cannot pick the same token twice in a row.
        var sampler = Sampler(SamplingParameters(temperature: 0, frequencyPenalty: 1))
        let picks = logits.withUnsafeBufferPointer { l in (0..<3).map { _ in sampler.sample(l) } }
        #expect(picks[0] == 1)
        #expect(picks[1] == 5)
    }

    @Test func repetitionPenaltyDividesPositiveLogits() {
        var sampler = Sampler(SamplingParameters(temperature: 0, repetitionPenalty: 2))
        let picks = logits.withUnsafeBufferPointer { l in (0..<2).map { _ in sampler.sample(l) } }
        #expect(picks == [1, 5])
    }

    @Test func logprobsAreANormalisedLogSoftmax() {
        let report = logits.withUnsafeBufferPointer { TokenLogprobs(logits: $0, token: 2, topCount: 3) }
        let z = logf(logits.map { expf($0) }.reduce(0, +))
        #expect(abs(report.logprob - (2.5 - z)) < 1e-5)
        #expect(report.top.map(\.token) == [1, 5, 2])
        #expect(abs(report.top[0].logprob - (3.0 - z)) < 1e-5)
    }
}

import Foundation
