// Conversions between Float and the two 16-bit float encodings that block formats store as raw
// bits: IEEE binary16 (`ggml_half`, GGML_TYPE_F16, the scales of most quantised blocks) and
// bfloat16 (GGML_TYPE_BF16). GGUF data is little-endian, like every host Raconteur runs on.

/// IEEE 754 binary16: 1 sign bit, 5 exponent bits, 10 mantissa bits.
public enum Half {
    /// The Float that a binary16 bit pattern encodes (exact: every half is representable).
    @inlinable @inline(__always)
    public static func toFloat(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// The binary16 bit pattern nearest to `value` (round to nearest, ties to even; beyond ±65504
    /// it becomes ±infinity; NaN stays NaN).
    @inlinable @inline(__always)
    public static func fromFloat(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    // `load(_:byteOffset:)`, which reads a binary16 from a block, is defined in QuantizedDot.swift: the dot kernels
    // there call it once per block, and debug builds inline only calls within one file.
}

/// bfloat16: the upper 16 bits of a Float (1 sign, 8 exponent, 7 mantissa bits).
public enum BFloat16 {
    /// The Float that a bfloat16 bit pattern encodes (exact: it is the Float's upper half).
    @inlinable @inline(__always)
    public static func toFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The bfloat16 bit pattern nearest to `value` (round to nearest, ties to even; a NaN keeps
    /// its sign and upper payload and is made quiet, so that truncation cannot turn it into ±inf).
    @inlinable @inline(__always)
    public static func fromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN {
            return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
        }
        // Adding 0x7FFF, plus one when the kept part is odd, carries into the kept part exactly
        // when the dropped half is above the midpoint, or at it with an odd kept part.
        let roundingBias: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// Reads the bfloat16 at `byteOffset` from `base` (no alignment needed) and widens it.
    @inlinable @inline(__always)
    public static func load(_ base: UnsafeRawPointer, byteOffset: Int = 0) -> Float {
        toFloat(base.loadUnaligned(fromByteOffset: byteOffset, as: UInt16.self))
    }
}
