// Everything that can be wrong with a GGUF file or with a request for a key or tensor in it.
// Parsing never traps: every defect in the bytes becomes one of these.

public enum GGUFError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened, sized or mapped (`reason` is the system's message).
    case cannotOpen(path: String, reason: String)
    /// Reading `context` needed `needed` bytes at byte offset `at`, past the end of the file.
    case truncated(at: Int, needed: Int, context: String)
    /// The first four bytes are not "GGUF".
    case badMagic([UInt8])
    case unsupportedVersion(UInt32)
    /// A count or length read at `at` is larger than the bytes that remain could possibly hold.
    case absurdCount(at: Int, count: UInt64, context: String)
    case unknownValueType(key: String, id: UInt32)
    /// Arrays nested deeper than the reader accepts (guards the stack against crafted files).
    case arrayNestingTooDeep(key: String)
    case duplicateKey(String)
    case invalidAlignment(key: String, value: String)
    case unknownTensorType(name: String, id: UInt32)
    case tooManyDimensions(name: String, count: Int)
    case invalidDimensions(name: String, dimensions: [Int64])
    /// The first dimension is not a whole number of `type` blocks.
    case partialBlock(name: String, type: GGMLType, dimensions: [Int])
    case duplicateTensor(String)
    case misalignedTensor(name: String, offset: Int, alignment: Int)
    case tensorOutOfBounds(name: String)
    /// A tensor given to the writer has the wrong number of bytes for its type and dimensions.
    case tensorSizeMismatch(name: String, expected: Int, actual: Int)
    case missingKey(String)
    case typeMismatch(key: String, expected: String, found: String)
    /// The key's value has the right kind but does not fit the requested Swift type.
    case valueOutOfRange(key: String, value: String)
    case missingTensor(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open GGUF file \(path): \(reason)"
        case .truncated(let at, let needed, let context):
            return "GGUF file truncated: reading \(context) needs \(needed) bytes at offset \(at), past the end of the file"
        case .badMagic(let bytes):
            let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            return "not a GGUF file: the magic bytes are [\(hex)], expected \"GGUF\""
        case .unsupportedVersion(let version):
            // A big-endian file reads its version byte-swapped.
            let hint = (version.byteSwapped == 2 || version.byteSwapped == 3) ? " (a big-endian GGUF file?)" : ""
            return "unsupported GGUF version \(version)\(hint); versions 2 and 3 are supported"
        case .absurdCount(let at, let count, let context):
            return "GGUF file corrupt: \(context) at offset \(at) is \(count), more than the rest of the file can hold"
        case .unknownValueType(let key, let id):
            return "metadata key '\(key)' has unknown value type \(id)"
        case .arrayNestingTooDeep(let key):
            return "metadata key '\(key)' nests arrays too deeply"
        case .duplicateKey(let key):
            return "metadata key '\(key)' appears more than once"
        case .invalidAlignment(let key, let value):
            return "metadata key '\(key)' is \(value); the alignment must be a positive power of two"
        case .unknownTensorType(let name, let id):
            return "tensor '\(name)' has unknown ggml type \(id)"
        case .tooManyDimensions(let name, let count):
            return "tensor '\(name)' has \(count) dimensions; at most 4 are allowed"
        case .invalidDimensions(let name, let dimensions):
            return "tensor '\(name)' has invalid dimensions \(dimensions) (negative or too many elements)"
        case .partialBlock(let name, let type, let dimensions):
            return "tensor '\(name)' of type \(type) has dimensions \(dimensions); the first must be a multiple of \(type.blockSize)"
        case .duplicateTensor(let name):
            return "tensor '\(name)' appears more than once"
        case .misalignedTensor(let name, let offset, let alignment):
            return "tensor '\(name)' starts at data offset \(offset), not a multiple of the alignment \(alignment)"
        case .tensorOutOfBounds(let name):
            return "tensor '\(name)' extends past the end of the file"
        case .tensorSizeMismatch(let name, let expected, let actual):
            return "tensor '\(name)' needs \(expected) bytes for its type and dimensions but was given \(actual)"
        case .missingKey(let key):
            return "metadata key '\(key)' is missing"
        case .typeMismatch(let key, let expected, let found):
            return "metadata key '\(key)' is \(found), expected \(expected)"
        case .valueOutOfRange(let key, let value):
            return "metadata key '\(key)' has value \(value), out of range"
        case .missingTensor(let name):
            return "tensor '\(name)' is missing"
        case .writeFailed(let path, let reason):
            return "cannot write GGUF file \(path): \(reason)"
        }
    }
}
