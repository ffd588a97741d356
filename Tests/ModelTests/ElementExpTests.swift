import Foundation
import Model
import Testing

/// The branch-free Float exp of the SiLU gate against the Float64 exp.
struct ElementExpTests {
    @Test func polynomialExpIsWithinAFewUlp() {
        var worst = 0.0
        var x: Float = -87
        while x <= 88 {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(Float.polynomialExp(x)) - exact) / exact)
            x += 0.001_7
        }
        print("polynomialExp: max relative error \(worst) on [-87, 88]")
        #expect(worst < 4 * Double(Float.ulpOfOne))
        // Clamped outside the range: finite and positive, never NaN.
        #expect(Float.polynomialExp(-1000) > 0 && Float.polynomialExp(1000).isFinite)
        #expect(Float.polynomialExp(0) == 1)
    }
}
