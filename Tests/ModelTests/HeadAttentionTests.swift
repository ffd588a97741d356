import Foundation
import Testing
@testable import Model

/// One head of attention over an F16 cache, against a float64 softmax; and its way out when F16 overflows.
@Suite struct HeadAttentionTests {
    static let headDim = 64, valueDim = 64

    /// (query, keys, values) with `count` positions; values scaled by `valueScale`.
    func inputs(count: Int, valueScale: Float, seed: UInt64) -> ([Float], [Float16], [Float16]) {
        var rng = SplitMix(seed: seed)
        let query = rng.doubles(Self.headDim, scale: 1).map(Float.init)
        let keys = rng.doubles(count * Self.headDim, scale: 0.3).map { Float16(Float($0)) }
        let values = rng.doubles(count * Self.valueDim, scale: 1).map { Float16(Float($0) * valueScale) }
        return (query, keys, values)
    }

    func attend(_ query: [Float], _ keys: [Float16], _ values: [Float16], count: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: Self.valueDim)
        HeadAttention.attend(query: query, queryScale: 1, scoreScale: 0.125, headDim: Self.headDim,
                             valueDim: Self.valueDim, keys: keys, keyStride: Self.headDim, values: values,
                             valueStride: Self.valueDim, positions: 0...(count - 1), out: &out)
        return out
    }

    /// softmax(0.125 · F16(q)·k) · v in Double.
    func reference(_ query: [Float], _ keys: [Float16], _ values: [Float16], count: Int) -> [Double] {
        let q = query.map { Double(Float16($0)) }
        let scores = (0..<count).map { t in
            0.125 * (0..<Self.headDim).reduce(0.0) { $0 + q[$1] * Double(keys[t * Self.headDim + $1]) }
        }
        let top = scores.max()!
        let weights = scores.map { Foundation.exp($0 - top) }
        let total = weights.reduce(0, +)
        return (0..<Self.valueDim).map { i in
            (0..<count).reduce(0.0) { $0 + weights[$1] * Double(values[$1 * Self.valueDim + i]) } / total
        }
    }

    @Test func matchesTheSoftmaxToF16Precision() {
        let count = 37
        let (query, keys, values) = inputs(count: count, valueScale: 1, seed: 3)
        let out = attend(query, keys, values, count: count)
        for (a, b) in zip(out, reference(query, keys, values, count: count)) {
            #expect(abs(Double(a) - b) <= 2e-3 * max(1, abs(b)))
        }
    }

    @Test func aSumBeyondF16RangeIsRecomputedInFloat() {
        // 600 keys that all score alike and values near 2000: Σ p·v reaches ~1e6, past F16's 65504, where
        // llama.cpp's F16 sum becomes inf. The result must be the (finite) weighted mean.
        let count = 600
        let (rawQuery, keys, _) = inputs(count: count, valueScale: 0, seed: 4)
        let query = rawQuery.map { $0 * 1e-3 }
        let values = (0..<(count * Self.valueDim)).map { Float16(2000 + Float($0 % Self.valueDim)) }
        let out = attend(query, keys, values, count: count)
        let expected = reference(query, keys, values, count: count)
        #expect(out.allSatisfy { $0.isFinite })
        for (a, b) in zip(out, expected) { #expect(abs(Double(a) - b) <= 1e-3 * abs(b)) }
    }
}
