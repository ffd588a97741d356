import GGUF

// The block formats Kernels understands, and one traits entry per format that every operation reads: block
// size and bytes per block (from GGMLType, whose ids and sizes are the file format's), the scalar reference
// decoder, the SIMD decoder with the same results where there is one, the integer dot product and the
// activation format it consumes, and for activation formats their quantiser. Adding a format is a case here,
// its entry in `format`, and the functions the entry names (ggml's type_traits, in the same spirit).

/// A block format with Kernels support: a subset of `GGMLType`, whose ids it shares (`ggmlType.rawValue`). Not
/// RawRepresentable on purpose: hashing would then go through the traits table, which hashes formats as it is built.
public enum QuantType: Sendable, CaseIterable, CustomStringConvertible {
    case f32, f16, bf16
    case q4_0, q4_1, q5_0, q5_1, q8_0, q8_1
    case q4_K, q5_K, q6_K, q8_K

    /// The format's traits: the one table every switch over block formats reads.
    @inline(__always)
    public var format: BlockFormat {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q8_1: return .q8_1
        case .q4_K: return .q4_K
        case .q5_K: return .q5_K
        case .q6_K: return .q6_K
        case .q8_K: return .q8_K
        }
    }

    /// The format of a GGUF tensor type, or nil when Kernels has no decoder for it.
    public init?(_ type: GGMLType) {
        guard let match = QuantType.allCases.first(where: { $0.format.ggmlType == type }) else { return nil }
        self = match
    }

    /// The format with ggml's id `id` (a GGUF tensor's type field), or nil.
    public init?(ggmlID id: UInt32) {
        guard let type = GGMLType(rawValue: id) else { return nil }
        self.init(type)
    }

    public var ggmlType: GGMLType { format.ggmlType }
    /// Values per block (`QK` in ggml).
    public var blockSize: Int { format.blockSize }
    /// Bytes per block.
    public var bytesPerBlock: Int { format.bytesPerBlock }
    /// Bytes needed for `count` values (count must be a multiple of blockSize).
    public func byteCount(for count: Int) -> Int { count / blockSize * bytesPerBlock }
    public var description: String { ggmlType.name }
}

/// Decodes `blockCount` blocks at the source into `blockCount × blockSize` floats.
typealias BlockDecoder = (_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ blockCount: Int) -> Void
/// Quantises `count` floats (a multiple of the block size) into blocks.
typealias ActivationQuantizer = (_ x: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, _ count: Int) -> Void

/// One block format's traits. Its functions hold no state (static functions of the kernels), hence Sendable.
public struct BlockFormat: @unchecked Sendable {
    public let ggmlType: GGMLType
    /// Values per block.
    public let blockSize: Int
    public let bytesPerBlock: Int
    /// The scalar reference decoder: the yardstick of every SIMD kernel (Dequantize.swift).
    let decodeReference: BlockDecoder
    /// A SIMD decoder giving the same floats, where this machine has one (DequantizeSIMD.swift).
    let decodeFast: BlockDecoder?
    /// The integer dot product of weight rows in this format with quantised activations; nil: weights of this
    /// format take MatMul's float path.
    let dot: IntegerDot?
    /// For the activation formats (Q8_0, Q8_1, Q8_K): how floats are quantised into it (ActivationQuant.swift).
    let quantizeActivations: ActivationQuantizer?

    init(_ ggmlType: GGMLType, decodeReference: @escaping BlockDecoder, decodeFast: BlockDecoder? = nil,
         dot: IntegerDot? = nil, quantizeActivations: ActivationQuantizer? = nil) {
        self.ggmlType = ggmlType
        blockSize = ggmlType.blockSize
        bytesPerBlock = ggmlType.typeSize
        self.decodeReference = decodeReference
        self.decodeFast = decodeFast
        self.dot = dot
        self.quantizeActivations = quantizeActivations
    }
}

/// A weight format's dot product with the activation format it pairs with (ggml's `vec_dot_type`).
struct IntegerDot: @unchecked Sendable {
    typealias RowDots = (_ w: UnsafeRawPointer, _ blocks: Int, _ x: UnsafeRawPointer, _ xStride: Int, _ n: Int,
                                   _ y: UnsafeMutablePointer<Float>, _ yStride: Int) -> Void
    let activation: QuantType
    /// Scalar reference: one weight row (`blocks` blocks) with one activation row.
    let reference: (_ w: UnsafeRawPointer, _ x: UnsafeRawPointer, _ blocks: Int) -> Float
    /// One weight row with n activation rows (SIMD where there is one; equal to `reference` within float rounding).
    let rowDots: RowDots
}

// The table. Field layouts are documented beside each decoder and kernel.
extension BlockFormat {
    static let f32 = BlockFormat(.f32, decodeReference: Dequantize.f32)
    static let f16 = BlockFormat(.f16, decodeReference: Dequantize.f16, decodeFast: Dequantize.simdDecoders[.f16])
    static let bf16 = BlockFormat(.bf16, decodeReference: Dequantize.bf16)
    static let q4_0 = BlockFormat(.q4_0, decodeReference: Dequantize.q4_0,
                                  dot: .q4_0)
    static let q4_1 = BlockFormat(.q4_1, decodeReference: Dequantize.q4_1, decodeFast: Dequantize.simdDecoders[.q4_1],
                                  dot: .q4_1)
    static let q5_0 = BlockFormat(.q5_0, decodeReference: Dequantize.q5_0, decodeFast: Dequantize.simdDecoders[.q5_0],
                                  dot: .q5_0)
    static let q5_1 = BlockFormat(.q5_1, decodeReference: Dequantize.q5_1)
    static let q8_0 = BlockFormat(.q8_0, decodeReference: Dequantize.q8_0, decodeFast: Dequantize.simdDecoders[.q8_0],
                                  dot: .q8_0,
                                  quantizeActivations: ActivationQuant.quantizeQ8_0)
    static let q8_1 = BlockFormat(.q8_1, decodeReference: Dequantize.q8_1,
                                  quantizeActivations: ActivationQuant.quantizeQ8_1)
    static let q4_K = BlockFormat(.q4_K, decodeReference: Dequantize.q4_K, decodeFast: Dequantize.simdDecoders[.q4_K],
                                  dot: .q4_K)
    static let q5_K = BlockFormat(.q5_K, decodeReference: Dequantize.q5_K)
    static let q6_K = BlockFormat(.q6_K, decodeReference: Dequantize.q6_K, decodeFast: Dequantize.simdDecoders[.q6_K],
                                  dot: .q6_K)
    static let q8_K = BlockFormat(.q8_K, decodeReference: Dequantize.q8_K,
                                  quantizeActivations: ActivationQuant.quantizeQ8_K)
}
