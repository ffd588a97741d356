// Scalar reference dequantisation for every block format (the yardstick the SIMD kernels are tested against).
//
// One function per format, each with its block layout (byte offsets within one block; multi-byte
// fields little-endian; fp16 = IEEE binary16). Blocks follow each other with no padding and no
// alignment, so multi-byte fields are read with unaligned loads. The float arithmetic is written
// in the order ggml and gguf-py use (no fused multiply-add), so results match them bit for bit.

public enum Dequantize {
    /// Writes `count` floats decoded from `src` (blocks of `type`; count a multiple of the block size).
    /// Uses the format's SIMD decoder where this machine has one, else the scalar reference; both give the same floats.
    public static func row(_ type: QuantType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        let format = type.format
        precondition(count % format.blockSize == 0, "\(count) values is not a whole number of \(type) blocks")
        (format.decodeFast ?? format.decodeReference)(src, dst, count / format.blockSize)
    }

    /// Decodes `rowCount` consecutive rows of `rowLength` values each (a matrix stored row after row,
    /// each row `type.byteCount(for: rowLength)` bytes) into `rowCount × rowLength` floats at `dst`.
    public static func rows(_ type: QuantType, _ src: UnsafeRawPointer, rowCount: Int, rowLength: Int, _ dst: UnsafeMutablePointer<Float>) {
        let rowBytes = type.byteCount(for: rowLength)
        for r in 0..<rowCount {
            row(type, src + r * rowBytes, dst + r * rowLength, rowLength)
        }
    }

    /// The scalar reference decoder: the same contract as `row`, never a SIMD path.
    public static func referenceRow(_ type: QuantType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        let format = type.format
        precondition(count % format.blockSize == 0, "\(count) values is not a whole number of \(type) blocks")
        format.decodeReference(src, dst, count / format.blockSize)
    }

    // MARK: - Plain floats

    /// F32: one little-endian IEEE binary32 per value (4 bytes).
    static func f32(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            dst[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
        }
    }

    /// F16: one IEEE binary16 per value (2 bytes).
    static func f16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            dst[i] = Half.load(src, byteOffset: 2 * i)
        }
    }

    /// BF16: one bfloat16 per value (2 bytes, the upper half of a binary32).
    static func bf16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for i in 0..<count {
            dst[i] = BFloat16.load(src, byteOffset: 2 * i)
        }
    }

    // MARK: - 32-value blocks

    /// Q4_0: 32 values in 18 bytes; x = d · (q − 8), q ∈ 0…15.
    ///
    ///     offset  bytes  field
    ///     0       2      d   fp16 scale
    ///     2       16     qs  byte j: value j in the low nibble, value j+16 in the high nibble
    static func q4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        nibbleBlocks(src, dst, blockCount: blockCount, hasMin: false, hasFifthBit: false)
    }

    /// Q4_1: 32 values in 20 bytes; x = d · q + m, q ∈ 0…15.
    ///
    ///     offset  bytes  field
    ///     0       2      d   fp16 scale
    ///     2       2      m   fp16 min (the value of q = 0)
    ///     4       16     qs  byte j: value j in the low nibble, value j+16 in the high nibble
    static func q4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        nibbleBlocks(src, dst, blockCount: blockCount, hasMin: true, hasFifthBit: false)
    }

    /// Q5_0: 32 values in 22 bytes; x = d · (q − 16), q ∈ 0…31.
    ///
    ///     offset  bytes  field
    ///     0       2      d   fp16 scale
    ///     2       4      qh  uint32: bit j is bit 4 of value j (j = 0…31)
    ///     6       16     qs  low 4 bits; byte j: value j in the low nibble, value j+16 in the high nibble
    static func q5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        nibbleBlocks(src, dst, blockCount: blockCount, hasMin: false, hasFifthBit: true)
    }

    /// Q5_1: 32 values in 24 bytes; x = d · q + m, q ∈ 0…31.
    ///
    ///     offset  bytes  field
    ///     0       2      d   fp16 scale
    ///     2       2      m   fp16 min
    ///     4       4      qh  uint32: bit j is bit 4 of value j
    ///     8       16     qs  low 4 bits; byte j: value j in the low nibble, value j+16 in the high nibble
    static func q5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        nibbleBlocks(src, dst, blockCount: blockCount, hasMin: true, hasFifthBit: true)
    }

    /// Q4_0, Q4_1, Q5_0 and Q5_1 share one layout: fp16 d, fp16 m (the _1 types), a uint32 of fifth bits (the Q5
    /// types), then 16 bytes holding value j in the low nibble of byte j and value j+16 in its high nibble.
    private static func nibbleBlocks(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int,
                                     hasMin: Bool, hasFifthBit: Bool) {
        let highBitsOffset = hasMin ? 4 : 2
        let quantsOffset = highBitsOffset + (hasFifthBit ? 4 : 0)
        let blockBytes = quantsOffset + 16
        let zero: Int32 = hasFifthBit ? 16 : 8
        for b in 0..<blockCount {
            let block = src + b * blockBytes
            let out = dst + b * 32
            let d = Half.load(block, byteOffset: 0)
            let m = hasMin ? Half.load(block, byteOffset: 2) : 0
            let qh = hasFifthBit ? block.loadUnaligned(fromByteOffset: highBitsOffset, as: UInt32.self) : 0
            let qs = (block + quantsOffset).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let q0 = Int32(qs[j] & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
                let q1 = Int32(qs[j] >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                out[j] = hasMin ? Float(q0) * d + m : Float(q0 - zero) * d
                out[j + 16] = hasMin ? Float(q1) * d + m : Float(q1 - zero) * d
            }
        }
    }

    /// Q8_0: 32 values in 34 bytes; x = d · q, q ∈ −128…127.
    ///
    ///     offset  bytes  field
    ///     0       2      d   fp16 scale
    ///     2       32     qs  int8, value j in byte j
    static func q8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        int8Blocks(src, dst, blockCount: blockCount, blockBytes: 34, quantsOffset: 2)
    }

    /// Q8_1: 32 values in 36 bytes; x = d · q (s only speeds up dot products with Q4_1 / Q5_1).
    /// ggml uses it for quantised activations and has no decoder for it; this one exists for tests.
    ///
    ///     offset  bytes  field
    ///     0       2      d   fp16 scale
    ///     2       2      s   fp16 d · Σ q
    ///     4       32     qs  int8, value j in byte j
    static func q8_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        int8Blocks(src, dst, blockCount: blockCount, blockBytes: 36, quantsOffset: 4)
    }

    /// Blocks of 32 int8 quants with an fp16 scale d first: x = d · q.
    private static func int8Blocks(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int,
                                   blockBytes: Int, quantsOffset: Int) {
        for b in 0..<blockCount {
            let block = src + b * blockBytes
            let out = dst + b * 32
            let d = Half.load(block, byteOffset: 0)
            let qs = (block + quantsOffset).assumingMemoryBound(to: Int8.self)
            for j in 0..<32 {
                out[j] = Float(qs[j]) * d
            }
        }
    }

    // MARK: - 256-value super-blocks (k-quants)

    /// Q4_K: 256 values in 144 bytes, 8 sub-blocks of 32; in sub-block s,
    /// x = (d · scale_s) · q − (dmin · min_s), q ∈ 0…15, scale_s and min_s 6-bit (see KQuantScales).
    ///
    ///     offset  bytes  field
    ///     0       2      d       fp16 super-block scale of the scales
    ///     2       2      dmin    fp16 super-block scale of the mins
    ///     4       12     scales  8 × (6-bit scale, 6-bit min), packed
    ///     16      128    qs      4 chunks of 32 bytes; chunk c, byte l: value 64c+l in the low
    ///                            nibble (sub-block 2c), value 64c+32+l in the high nibble (sub-block 2c+1)
    static func q4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        kQuant4Or5Bits(src, dst, blockCount: blockCount, blockBytes: 144, highBitsOffset: nil, lowBitsOffset: 16)
    }

    /// Q5_K: 256 values in 176 bytes, 8 sub-blocks of 32; in sub-block s,
    /// x = (d · scale_s) · q − (dmin · min_s), q ∈ 0…31, scale_s and min_s 6-bit (see KQuantScales).
    ///
    ///     offset  bytes  field
    ///     0       2      d       fp16 super-block scale of the scales
    ///     2       2      dmin    fp16 super-block scale of the mins
    ///     4       12     scales  8 × (6-bit scale, 6-bit min), packed
    ///     16      32     qh      byte l, bit s: bit 4 of value 32s+l (s = sub-block 0…7)
    ///     48      128    qs      low 4 bits, nibbles arranged as in Q4_K
    static func q5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        kQuant4Or5Bits(src, dst, blockCount: blockCount, blockBytes: 176, highBitsOffset: 16, lowBitsOffset: 48)
    }

    /// Q4_K and Q5_K share their scales and nibble layout; Q5_K adds a fifth bit per value from `qh`.
    private static func kQuant4Or5Bits(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int,
                                       blockBytes: Int, highBitsOffset: Int?, lowBitsOffset: Int) {
        for b in 0..<blockCount {
            let block = src + b * blockBytes
            let d = Half.load(block, byteOffset: 0)
            let dmin = Half.load(block, byteOffset: 2)
            let scales = block + 4
            let qh = highBitsOffset.map { (block + $0).assumingMemoryBound(to: UInt8.self) }
            let qs = (block + lowBitsOffset).assumingMemoryBound(to: UInt8.self)
            for chunk in 0..<4 {
                let out = dst + b * 256 + chunk * 64
                let q = qs + chunk * 32
                let low = KQuantScales.factors(scales, 2 * chunk, d: d, dmin: dmin)
                let high = KQuantScales.factors(scales, 2 * chunk + 1, d: d, dmin: dmin)
                let bitLow = UInt8(1) << UInt8(2 * chunk), bitHigh = UInt8(2) << UInt8(2 * chunk)
                for l in 0..<32 {
                    var qLow = q[l] & 0x0F, qHigh = q[l] >> 4
                    if let qh {
                        qLow |= qh[l] & bitLow != 0 ? 16 : 0
                        qHigh |= qh[l] & bitHigh != 0 ? 16 : 0
                    }
                    out[l] = low.scale * Float(qLow) - low.min
                    out[l + 32] = high.scale * Float(qHigh) - high.min
                }
            }
        }
    }

    /// Q6_K: 256 values in 210 bytes, 16 sub-blocks of 16; in sub-block s,
    /// x = (d · scales[s]) · (q − 32), q ∈ 0…63.
    ///
    ///     offset  bytes  field
    ///     0       128    ql      low 4 bits: two halves of 64 bytes, each for 128 values; in half h,
    ///                            byte l (0…31):  value 128h+l (low nibble), value 128h+64+l (high nibble)
    ///                            byte 32+l:      value 128h+32+l (low nibble), value 128h+96+l (high nibble)
    ///     128     64     qh      high 2 bits: two halves of 32 bytes; in half h, byte l holds bits 4–5 of
    ///                            values 128h+l (bits 0–1), +32 (bits 2–3), +64 (bits 4–5), +96 (bits 6–7)
    ///     192     16     scales  int8 scale of each sub-block of 16 values
    ///     208     2      d       fp16 super-block scale
    static func q6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        for b in 0..<blockCount {
            let block = src + b * 210
            let d = Half.load(block, byteOffset: 208)
            for half in 0..<2 {
                let out = dst + b * 256 + half * 128
                let ql = (block + half * 64).assumingMemoryBound(to: UInt8.self)
                let qh = (block + 128 + half * 32).assumingMemoryBound(to: UInt8.self)
                let scales = (block + 192 + half * 8).assumingMemoryBound(to: Int8.self)
                for l in 0..<32 {
                    let group = l / 16  // sub-block within each run of 32 values
                    let q0 = Int32((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32
                    let q1 = Int32((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32
                    let q2 = Int32((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32
                    let q3 = Int32((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32
                    out[l] = d * Float(scales[group]) * Float(q0)
                    out[l + 32] = d * Float(scales[group + 2]) * Float(q1)
                    out[l + 64] = d * Float(scales[group + 4]) * Float(q2)
                    out[l + 96] = d * Float(scales[group + 6]) * Float(q3)
                }
            }
        }
    }

    /// Q8_K: 256 values in 292 bytes; x = d · q. The activation format of k-quant dot products.
    ///
    ///     offset  bytes  field
    ///     0       4      d      float32 scale
    ///     4       256    qs     int8, value j in byte j
    ///     260     32     bsums  16 × int16: sum of each run of 16 quants (not needed to decode)
    static func q8_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blockCount: Int) {
        for b in 0..<blockCount {
            let block = src + b * 292
            let out = dst + b * 256
            let d = block.loadUnaligned(fromByteOffset: 0, as: Float.self)
            let qs = (block + 4).assumingMemoryBound(to: Int8.self)
            for j in 0..<256 {
                out[j] = d * Float(qs[j])
            }
        }
    }
}
