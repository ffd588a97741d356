// The block formats Kernels understands, numbered as ggml numbers them (the ids GGUF files store).
// One traits entry per type: how many values a block holds and how many bytes it takes.

public enum QuantType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case bf16 = 30

    /// Values per block (`QK` in ggml).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: return 32
        case .q4_K, .q5_K, .q6_K, .q8_K: return 256
        }
    }

    /// Bytes per block.
    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 2 + 16           // d, 32 × 4-bit
        case .q4_1: return 2 + 2 + 16       // d, m, 32 × 4-bit
        case .q5_0: return 2 + 4 + 16       // d, qh (32 high bits), 32 × low 4-bit
        case .q5_1: return 2 + 2 + 4 + 16   // d, m, qh, qs
        case .q8_0: return 2 + 32           // d, 32 × int8
        case .q8_1: return 2 + 2 + 32       // d, s = d·Σq, 32 × int8
        case .q4_K: return 2 + 2 + 12 + 128 // d, dmin, 8 × (6-bit scale, 6-bit min), 256 × 4-bit
        case .q5_K: return 2 + 2 + 12 + 32 + 128 // d, dmin, scales, qh, qs
        case .q6_K: return 128 + 64 + 16 + 2     // ql, qh, 16 × int8 scales, d
        case .q8_K: return 4 + 256 + 32          // d (f32), 256 × int8, 16 × int16 block sums
        }
    }

    /// Bytes needed for `count` values (count must be a multiple of blockSize).
    public func byteCount(for count: Int) -> Int { count / blockSize * bytesPerBlock }

    public var description: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q8_1: return "Q8_1"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .q8_K: return "Q8_K"
        }
    }
}
