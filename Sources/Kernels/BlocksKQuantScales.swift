// The packed sub-block scales and mins of the Q4_K and Q5_K super-blocks (ggml's get_scale_min_k4).
//
// A super-block of 256 values has 8 sub-blocks of 32; each sub-block j has a 6-bit scale s_j and
// a 6-bit min m_j, and decodes as x = (d · s_j) · q − (dmin · m_j). The 16 six-bit numbers are
// packed into 12 bytes (bit 7 on the left; letters are the bits of s_j / m_j, upper case = bits 4–5):
//
//   byte  0…3   S S s s s s s s    bits 0–5: s_0…s_3      bits 6–7: bits 4–5 of s_4…s_7
//   byte  4…7   M M m m m m m m    bits 0–5: m_0…m_3      bits 6–7: bits 4–5 of m_4…m_7
//   byte  8…11  m m m m s s s s    bits 0–3: s_4…s_7 low  bits 4–7: m_4…m_7 low

public enum KQuantScales {
    /// Bytes of packed scales and mins in a Q4_K / Q5_K super-block (`K_SCALE_SIZE`).
    public static let packedByteCount = 12

    /// The 6-bit scale and min of sub-block `subBlock` (0…7) from the 12 packed bytes at `packed`.
    @inlinable @inline(__always)
    public static func scaleAndMin(_ packed: UnsafeRawPointer, _ subBlock: Int) -> (scale: UInt8, min: UInt8) {
        let bytes = packed.assumingMemoryBound(to: UInt8.self)
        if subBlock < 4 {
            return (bytes[subBlock] & 0x3F, bytes[subBlock + 4] & 0x3F)
        }
        let low = bytes[subBlock + 4]
        let scale = (low & 0x0F) | ((bytes[subBlock - 4] >> 6) << 4)
        let min = (low >> 4) | ((bytes[subBlock] >> 6) << 4)
        return (scale, min)
    }

    /// The multipliers of sub-block `subBlock`: its values decode as `scale · q − min`, where
    /// scale = d · s_j and min = dmin · m_j (each product rounded to Float, as ggml does).
    @inlinable @inline(__always)
    public static func factors(_ packed: UnsafeRawPointer, _ subBlock: Int, d: Float, dmin: Float) -> (scale: Float, min: Float) {
        let (scale, min) = scaleAndMin(packed, subBlock)
        return (d * Float(scale), dmin * Float(min))
    }
}
