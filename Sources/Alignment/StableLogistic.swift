import Foundation

/// Numerically stable logistic functions in Float64, for the DPO loss (docs/RACO.md, "Per-objective DPO loss").
enum StableLogistic {
    /// softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^−|x|); never overflows.
    static func softplus(_ x: Double) -> Double {
        max(x, 0) + log1p(exp(-abs(x)))
    }

    /// log σ(z) = −softplus(−z) (the identity the DPO loss uses so that large |z| neither
    /// overflows nor loses the tail).
    static func logSigmoid(_ z: Double) -> Double {
        -softplus(-z)
    }

    /// σ(z) = 1 / (1 + e^−z), evaluated on the side where the exponential cannot overflow.
    static func sigmoid(_ z: Double) -> Double {
        if z >= 0 { return 1 / (1 + exp(-z)) }
        let e = exp(z)
        return e / (1 + e)
    }
}
