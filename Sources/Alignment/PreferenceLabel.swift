/// One objective's verdict on a preference row (x, A, B), s_i ∈ {+1, −1, 0}: +1 means objective i
/// prefers A, −1 prefers B, 0 is a tie and gives no gradient (docs/RACO.md, "Preference data").
public enum PreferenceLabel: Int8, Codable, CaseIterable, Sendable {
    case prefersA = 1
    case prefersB = -1
    case tie = 0

    /// s_i as a number, for the loss algebra.
    public var sign: Double { Double(rawValue) }
}
