import Foundation

/// AdamW (Loshchilov & Hutter; the update PyTorch's `torch.optim.AdamW` performs) over one flat
/// parameter vector, fed the combined direction d as the gradient (docs/RACO.md, "AdamW").
///
/// Step t (1-based), learning rate α_t, gradient g:
///     θ ← θ − α_t λ θ                              (decoupled weight decay)
///     m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²
///     θ ← θ − α_t (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
/// The moments are kept in Float64 (16 bytes per parameter) and every element is updated in
/// Float64 and rounded once, so a step is deterministic.
public struct AdamW: Sendable, Equatable, Codable {
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    /// λ, the decoupled weight decay (multiplied by the step's learning rate, as PyTorch does).
    public let weightDecay: Double
    /// Steps taken so far (t of the last step).
    public private(set) var stepCount: Int
    public private(set) var firstMoment: [Double]
    public private(set) var secondMoment: [Double]

    public init(parameterCount: Int, weightDecay: Double = 0, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.stepCount = 0
        self.firstMoment = [Double](repeating: 0, count: parameterCount)
        self.secondMoment = [Double](repeating: 0, count: parameterCount)
    }

    public var parameterCount: Int { firstMoment.count }

    /// One step on Float parameters with a Float gradient.
    public mutating func step(parameters: inout [Float], gradient: [Float], learningRate: Double) throws {
        try checkShapes(parameters.count, gradient.count, learningRate)
        stepCount += 1
        let (firstCorrection, secondCorrection) = biasCorrections()
        for i in parameters.indices {
            parameters[i] = Float(update(i, Double(parameters[i]), Double(gradient[i]), learningRate, firstCorrection, secondCorrection))
        }
    }

    /// One step on Float64 parameters with a Float64 gradient.
    public mutating func step(parameters: inout [Double], gradient: [Double], learningRate: Double) throws {
        try checkShapes(parameters.count, gradient.count, learningRate)
        stepCount += 1
        let (firstCorrection, secondCorrection) = biasCorrections()
        for i in parameters.indices {
            parameters[i] = update(i, parameters[i], gradient[i], learningRate, firstCorrection, secondCorrection)
        }
    }

    /// 1 − β1ᵗ and 1 − β2ᵗ for the current step t.
    private func biasCorrections() -> (Double, Double) {
        (1 - pow(beta1, Double(stepCount)), 1 - pow(beta2, Double(stepCount)))
    }

    @inline(__always)
    private mutating func update(
        _ i: Int, _ parameter: Double, _ gradient: Double, _ learningRate: Double,
        _ firstCorrection: Double, _ secondCorrection: Double
    ) -> Double {
        let decayed = parameter - learningRate * weightDecay * parameter
        firstMoment[i] = beta1 * firstMoment[i] + (1 - beta1) * gradient
        secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * gradient * gradient
        let firstUnbiased = firstMoment[i] / firstCorrection
        let secondUnbiased = secondMoment[i] / secondCorrection
        return decayed - learningRate * firstUnbiased / (secondUnbiased.squareRoot() + epsilon)
    }

    private func checkShapes(_ parameters: Int, _ gradient: Int, _ learningRate: Double) throws {
        guard parameters == parameterCount else {
            throw AlignmentError.countMismatch(expected: parameterCount, actual: parameters, what: "parameters")
        }
        guard gradient == parameterCount else {
            throw AlignmentError.countMismatch(expected: parameterCount, actual: gradient, what: "gradient entries")
        }
        guard learningRate.isFinite, learningRate >= 0 else { throw AlignmentError.nonFinite("learning rate") }
    }
}
