/// How the k per-objective gradients of one step are combined into the update direction d
/// (docs/RACO.md, "The update direction" and "Baselines").
public enum CombinationMethod: String, Codable, CaseIterable, Sendable {
    /// Clipped CAGrad: CAGrad with the clip p̃_i = min(p*_i, w_i) (docs/RACO.md, "The clip").
    case raco
    /// CAGrad: the same without the clip, p̃ = p* (docs/RACO.md, "Baselines").
    case cagrad
    /// Linear weighting: d = g_0 (docs/RACO.md, "Baselines").
    case dpoLW = "dpo-lw"
}
