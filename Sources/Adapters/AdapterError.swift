/// Why an adapter cannot be loaded or used with the current base model.
public enum AdapterError: Error, CustomStringConvertible, Equatable {
    case notAnAdapter(path: String, reason: String)
    case architectureMismatch(adapter: String, model: String)
    case baseModelMismatch(expected: String, found: String)
    case unknownTensor(String)
    case unpairedTensor(String)
    case shapeMismatch(tensor: String, expected: [Int], found: [Int])
    case unsupportedType(tensor: String, type: String)
    case nonFiniteValue(tensor: String)
    case rankOutOfRange(Int)
    case notFound(String)
    case invalidName(String)
    case unknownObjective(String)
    case invalidTradeoff(String)
    case invalidMetadata(key: String, reason: String)

    public var description: String {
        switch self {
        case .notAnAdapter(let p, let why): return "\(p) is not a LoRA adapter: \(why)"
        case .architectureMismatch(let a, let m): return "adapter is for architecture '\(a)', the model is '\(m)'"
        case .baseModelMismatch(let e, let f): return "adapter was trained on base model \(e), the loaded model is \(f)"
        case .unknownTensor(let n): return "adapter tensor '\(n)' does not name a projection of the base model"
        case .unpairedTensor(let n): return "adapter tensor '\(n)' has no matching lora_a/lora_b partner"
        case .shapeMismatch(let n, let e, let f): return "adapter tensor '\(n)' has shape \(f), expected \(e)"
        case .unsupportedType(let n, let t): return "adapter tensor '\(n)' has type \(t) (F32 or F16 expected)"
        case .nonFiniteValue(let n): return "adapter tensor '\(n)' holds a value that is not a finite number (NaN or infinity)"
        case .rankOutOfRange(let r): return "adapter rank \(r) is outside 1...\(AdapterFile.maxRank)"
        case .notFound(let id): return "no adapter named '\(id)' is loaded"
        case .invalidName(let n): return "'\(n)' is not a valid adapter name (letters, digits, '-', '_', '.'; at most 64)"
        case .unknownObjective(let o): return "unknown objective '\(o)'"
        case .invalidTradeoff(let why): return "invalid tradeoff: \(why)"
        case .invalidMetadata(let key, let why): return "adapter metadata '\(key)' is invalid: \(why)"
        }
    }
}
