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

extension AdapterMetadata {
    /// Largest version a file may carry: the writer stores it as a GGUF uint32.
    public static let maxVersion = Int(UInt32.max)
    /// Longest method name or base fingerprint kept.
    static let maxTextLength = 128

    /// Checks what a file (or a trainer) could get wrong before anything is computed from it: objectives valid
    /// and distinct (`ObjectiveName`), weights one per objective, finite, non-negative with a positive finite
    /// sum, the version in 1...maxVersion. Throws `AdapterError.invalidMetadata` naming the key.
    public func validate() throws {
        if !objectives.isEmpty, let problem = ObjectiveName.problem(with: objectives) {
            throw AdapterError.invalidMetadata(key: AdapterFile.Key.objectives, reason: problem)
        }
        if !weights.isEmpty || !objectives.isEmpty {
            guard weights.count == objectives.count else {
                throw AdapterError.invalidMetadata(key: AdapterFile.Key.weights,
                                                   reason: "\(weights.count) weights for \(objectives.count) objectives")
            }
            guard weights.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw AdapterError.invalidMetadata(key: AdapterFile.Key.weights, reason: "weights must be finite and ≥ 0")
            }
            let total = weights.reduce(0, +)
            guard total > 0, total.isFinite else {
                throw AdapterError.invalidMetadata(key: AdapterFile.Key.weights, reason: "weights must have a positive, finite sum")
            }
        }
        guard (1...Self.maxVersion).contains(version) else {
            throw AdapterError.invalidMetadata(key: AdapterFile.Key.version, reason: "\(version) is outside 1...\(Self.maxVersion)")
        }
        for (key, text) in [(AdapterFile.Key.method, method), (AdapterFile.Key.baseFingerprint, baseFingerprint)] {
            guard let text else { continue }
            guard text.utf8.count <= Self.maxTextLength, text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
                throw AdapterError.invalidMetadata(key: key, reason: "at most \(Self.maxTextLength) bytes with no control characters")
            }
        }
    }
}
