import Foundation
import Testing
@testable import Model

/// The forward pass's activation arithmetic (ports of ggml's, checked for accuracy here; for agreement with
/// llama.cpp bit for bit see ReferenceAgreementTests).
@Suite struct VectorOpsTests {
    func exp8(_ xs: [Float]) -> [Float] {
        var out: [Float] = []
        for c in stride(from: 0, to: xs.count, by: 8) {
            var v = SIMD8<Float>(repeating: 0)
            for j in 0..<8 where c + j < xs.count { v[j] = xs[c + j] }
            let e = VectorOps.exp(v)
            for j in 0..<8 where c + j < xs.count { out.append(e[j]) }
        }
        return out
    }

    @Test func expIsAccurateOverTheNormalRange() {
        let xs = stride(from: Float(-87), through: 88, by: 0.0137).map { $0 }
        for (x, e) in zip(xs, exp8(xs)) {
            let exact = Foundation.exp(Double(x))
            #expect(abs(Double(e) - exact) <= 2.5e-7 * exact, "e^\(x)")
        }
    }

    @Test func expHandlesTheEdgesOfTheRange() {
        // |n| > 126: 2ⁿ rebuilt from two factors (subnormal results), and overflow / flush to zero beyond.
        let xs: [Float] = [-100, -95.5, -89, 88.5, 88.7, 89, 200, -200]
        let e = exp8(xs)
        for (x, value) in zip(xs.prefix(5), e.prefix(5)) {
            let exact = Foundation.exp(Double(x))
            #expect(abs(Double(value) - exact) <= 1e-3 * exact + 1e-44, "e^\(x)")
        }
        #expect(e[5] == .infinity && e[6] == .infinity && e[7] == 0)
    }

    @Test func gatedActivationsMatchTheirDefinitions() {
        let n = 21   // SiLU: two SIMD groups and a scalar tail per row
        let gate = (0..<(2 * n)).map { Float($0 - n) * 0.61 }
        let up = (0..<(2 * n)).map { 1 + Float($0) * 0.01 }
        var silu = gate
        silu.withUnsafeMutableBufferPointer { VectorOps.gatedActivation($0.baseAddress!, up, rows: 2, n, .silu) }
        for i in 0..<(2 * n) {
            let g = Double(gate[i]), exact = g / (1 + Foundation.exp(-g)) * Double(up[i])
            #expect(abs(Double(silu[i]) - exact) <= 1e-6 * max(1, abs(exact)))
        }
        var gelu = gate
        gelu.withUnsafeMutableBufferPointer { VectorOps.gatedActivation($0.baseAddress!, up, rows: 2, n, .geluTanh) }
        for i in 0..<(2 * n) {
            let g = Double(gate[i])
            let exact = 0.5 * g * (1 + tanh(0.797_884_560_802_865_4 * (g + 0.044715 * g * g * g))) * Double(up[i])
            // the table is indexed by F16(g) and holds F16 values: about three decimal digits
            #expect(abs(Double(gelu[i]) - exact) <= 2e-3 * max(1, abs(exact)), "gelu(\(g))")
        }
        #expect(gelu[0] == 0)   // g ≤ −10: exactly zero, as ggml's table path gives
    }
}
