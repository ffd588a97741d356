/// Why a training run could not start or did not finish. Thrown, never trapped: the server reports it on the job.
public enum AlignmentTrainingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A line of a preference JSONL file is not a valid record (1-based line number).
    case invalidRecord(line: Int, reason: String)
    /// A hyper-parameter is out of range.
    case invalidHyperparameter(name: String, reason: String)
    /// The objectives list is empty, repeats a name, or names something no row labels.
    case invalidObjectives(String)
    /// A weight vector cannot be normalised onto the simplex.
    case invalidWeights(String)
    /// Not enough usable rows for the requested split.
    case notEnoughData(String)
    /// `control.isCancelled` returned true between micro-batches.
    case cancelled
    /// A loss, margin or gradient became NaN or infinite.
    case diverged(String)

    public var description: String {
        switch self {
        case .invalidRecord(let line, let why): return "line \(line): \(why)"
        case .invalidHyperparameter(let name, let why): return "invalid \(name): \(why)"
        case .invalidObjectives(let why): return "invalid objectives: \(why)"
        case .invalidWeights(let why): return "invalid weights: \(why)"
        case .notEnoughData(let why): return "not enough preference data: \(why)"
        case .cancelled: return "training was cancelled"
        case .diverged(let why): return "training diverged: \(why)"
        }
    }
}
