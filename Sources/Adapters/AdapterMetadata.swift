/// What Raconteur records about an adapter besides its tensors (stored as `raconteur.*` GGUF keys).
public struct AdapterMetadata: Sendable, Equatable, Codable {
    /// Objective names, in the order of `weights`.
    public var objectives: [String]
    /// The weight vector on the simplex this adapter was trained for (empty for hand-made adapters).
    public var weights: [Double]
    /// Training method (`raco`, `cagrad`, `dpo-lw`) or nil.
    public var method: String?
    /// Monotonic version written by the trainer (a realignment job: the store's durable count for the name); the
    /// registry serves the file at this version or, if it already served the name that far, the next one.
    public var version: Int
    /// Fingerprint of the base model the adapter was trained on (`BaseModelFingerprint`).
    public var baseFingerprint: String?

    public init(objectives: [String] = [], weights: [Double] = [], method: String? = nil, version: Int = 1,
                baseFingerprint: String? = nil) {
        self.objectives = objectives
        self.weights = weights
        self.method = method
        self.version = version
        self.baseFingerprint = baseFingerprint
    }
}
