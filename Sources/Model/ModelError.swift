/// Why a model file cannot be served. Every case names what is wrong so the message is actionable.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unsupportedArchitecture(String)
    case missingMetadata(String)
    case invalidMetadata(key: String, reason: String)
    case missingTensor(String)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int])
    case unsupportedTensorType(tensor: String, type: String)
    case contextOverflow(needed: Int, capacity: Int)
    case invalidToken(Int)
    case positionGap(position: Int, cached: Int)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a):
            return "unsupported model architecture '\(a)' (supported: \(ArchitectureRegistry.names.joined(separator: ", ")))"
        case .missingMetadata(let k): return "model metadata lacks '\(k)'"
        case .invalidMetadata(let k, let why): return "model metadata '\(k)' is invalid: \(why)"
        case .missingTensor(let n): return "model file lacks tensor '\(n)'"
        case .shapeMismatch(let n, let e, let f): return "tensor '\(n)' has shape \(f), expected \(e)"
        case .unsupportedTensorType(let n, let t): return "tensor '\(n)' has type \(t), which the engine cannot compute with"
        case .contextOverflow(let needed, let cap): return "sequence needs \(needed) positions but its cache holds \(cap)"
        case .invalidToken(let t): return "token id \(t) is outside the vocabulary"
        case .positionGap(let p, let n): return "position \(p) skips ahead of the \(n) cached positions"
        }
    }
}
