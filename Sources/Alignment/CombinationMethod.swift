/// How the k per-objective gradients of one step are combined into the update direction d
/// (RACO.md, "Combining the gradients" and "Variants the trainer must also offer").
public enum CombinationMethod: String, Codable, CaseIterable, Sendable {
    /// Clipped CAGrad: steps 1–5 of RACO.md, with the clip p̃_i = min(p*_i, w_i) of step 4.
    case raco
    /// CAGrad: RACO.md line 47, "as above without step 4 (p̃ = p*)".
    case cagrad
    /// Linear scalarisation: RACO.md line 46, "d = g_0".
    case dpoLW = "dpo-lw"
}
