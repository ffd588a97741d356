/// The result of combining k gradients for one step: the coefficients that define
/// d = Σ_i coefficients_i · g_i, and the diagnostics of how they were obtained.
public struct GradientCombination: Sendable, Equatable {
    public let method: CombinationMethod
    /// The user weights w.
    public let weights: [Double]
    /// ‖g_0‖ = ‖Σ w_i g_i‖ = √(wᵀ H w).
    public let userDirectionNorm: Double
    /// s = c · ‖g_0‖; 0 for dpo-lw.
    public let normWeight: Double
    /// p*, the dual minimiser; nil when the dual was not solved (dpo-lw, c = 0 or ‖g_0‖ = 0).
    public let dualWeights: [Double]?
    /// p̃: min(p*, w) for raco, p* for cagrad; nil when the dual was not solved.
    public let clippedDualWeights: [Double]?
    /// ‖G̃‖ = ‖Σ p̃_i g_i‖; nil when the dual was not solved.
    public let correctionNorm: Double?
    /// Coefficient of g_i in d: w_i + (s/‖G̃‖) p̃_i, or w_i when d = g_0 (docs/RACO.md, "The update direction").
    public let coefficients: [Double]
    /// ⟨g_i, d⟩ = (H · coefficients)_i: > 0 means a step along −d decreases L_i to first order.
    public let alignments: [Double]
    /// ‖d‖.
    public let directionNorm: Double
    /// Which dual solver ran (nil when none did), its iterations and its optimality gap.
    public let dualSolution: DualSolution?
}
