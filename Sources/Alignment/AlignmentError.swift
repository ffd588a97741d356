/// Invalid input to the alignment algebra. Thrown (never trapped) so that a bad request or a
/// diverged step is reported without taking the serving process down.
public enum AlignmentError: Error, Equatable, Sendable {
    /// The user weight vector must lie on the simplex: every w_i ≥ 0 and finite, Σ w_i = 1 (± 1e-9).
    case weightsNotOnSimplex([Double])
    /// The number of weights, labels, margins or gradients does not match the number of objectives or rows.
    case countMismatch(expected: Int, actual: Int, what: String)
    /// The conflict-aversion constant c must lie in [0, 1) (docs/RACO.md, "The CAGrad dual problem").
    case conflictAversionOutOfRange(Double)
    /// β must be finite and positive.
    case invalidBeta(Double)
    /// A margin, gradient or Gram entry is NaN or infinite.
    case nonFinite(String)
    /// There must be at least one objective.
    case noObjectives
}
