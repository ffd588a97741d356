// Test-local reference decoders (transcribed from ggml's dequantize_row_* definitions, independent of the
// kernels) and random weight rows for every format that has an integer dot kernel.

import Testing
@testable import Kernels

/// One weight format under test: how to make a random row and how to decode it.
struct WeightFormat: CustomStringConvertible, Sendable {
    let type: QuantType
    var description: String { type.description }
    var activation: QuantType { ActivationQuant.format(pairedWith: type)! }

    static let all: [WeightFormat] = [.init(type: .q4_1), .init(type: .q8_0), .init(type: .q5_0), .init(type: .q4_0),
                                      .init(type: .q4_K), .init(type: .q6_K)]

    /// A random row of `blocks` blocks with small, realistic scales.
    func randomRow(blocks: Int, _ rng: inout TestRandom) -> [UInt8] {
        var row = rng.bytes(blocks * type.bytesPerBlock)
        func setHalf(_ offset: Int, _ value: Float) {
            let bits = Float16(value).bitPattern
            row[offset] = UInt8(bits & 0xFF); row[offset + 1] = UInt8(bits >> 8)
        }
        for b in 0..<blocks {
            let base = b * type.bytesPerBlock
            switch type {
            case .q4_1: setHalf(base, 0.01 + 0.02 * rng.uniform()); setHalf(base + 2, -0.1 * rng.uniform())
            case .q8_0, .q5_0, .q4_0: setHalf(base, 0.001 + 0.01 * rng.uniform())
            case .q4_K: setHalf(base, 0.0005 + 0.001 * rng.uniform()); setHalf(base + 2, 0.002 * rng.uniform())
            case .q6_K: setHalf(base + 208, 0.0001 + 0.0002 * rng.uniform())
            default: fatalError("no random rows for \(type)")
            }
        }
        return row
    }

    /// Decodes a row of `blocks` blocks to floats.
    func decode(_ row: [UInt8], blocks: Int) -> [Float] {
        var out = [Float](repeating: 0, count: blocks * type.blockSize)
        row.withUnsafeBytes { raw in
            for b in 0..<blocks {
                let block = raw.baseAddress! + b * type.bytesPerBlock
                let y = b * type.blockSize
                switch type {
                case .q4_1: decodeQ4_1(block, &out, y)
                case .q8_0: for j in 0..<32 { out[y + j] = half(block, 0) * Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) }
                case .q5_0: decodeQ5_0(block, &out, y)
                case .q4_0:
                    for j in 0..<16 {
                        let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                        out[y + j] = Float(Int(byte & 0x0F) - 8) * half(block, 0)
                        out[y + j + 16] = Float(Int(byte >> 4) - 8) * half(block, 0)
                    }
                case .q4_K: decodeQ4_K(block, &out, y)
                case .q6_K: decodeQ6_K(block, &out, y)
                default: fatalError()
                }
            }
        }
        return out
    }

    private func decodeQ4_1(_ block: UnsafeRawPointer, _ out: inout [Float], _ y: Int) {
        let d = half(block, 0), m = half(block, 2)
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 4 + j, as: UInt8.self)
            out[y + j] = Float(byte & 0x0F) * d + m
            out[y + j + 16] = Float(byte >> 4) * d + m
        }
    }

    private func decodeQ5_0(_ block: UnsafeRawPointer, _ out: inout [Float], _ y: Int) {
        let d = half(block, 0)
        let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        for j in 0..<16 {
            let xh0 = ((qh >> UInt32(j)) << 4) & 0x10
            let xh1 = (qh >> UInt32(j + 12)) & 0x10
            let byte = UInt32(block.load(fromByteOffset: 6 + j, as: UInt8.self))
            out[y + j] = Float(Int32((byte & 0x0F) | xh0) - 16) * d
            out[y + j + 16] = Float(Int32((byte >> 4) | xh1) - 16) * d
        }
    }

    private func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (Float, Float) {
        let b = { (i: Int) in q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (Float(b(j) & 63), Float(b(j + 4) & 63)) }
        return (Float((b(j + 4) & 0xF) | ((b(j - 4) >> 6) << 4)), Float((b(j + 4) >> 4) | ((b(j) >> 6) << 4)))
    }

    private func decodeQ4_K(_ block: UnsafeRawPointer, _ out: inout [Float], _ y: Int) {
        let d = half(block, 0), dmin = half(block, 2)
        var q = block + 16
        var index = 0
        var o = y
        for _ in stride(from: 0, to: 256, by: 64) {
            let (sc1, m1) = scaleMinK4(index, block + 4), (sc2, m2) = scaleMinK4(index + 1, block + 4)
            for l in 0..<32 { out[o + l] = d * sc1 * Float(q.load(fromByteOffset: l, as: UInt8.self) & 0xF) - dmin * m1 }
            for l in 0..<32 { out[o + 32 + l] = d * sc2 * Float(q.load(fromByteOffset: l, as: UInt8.self) >> 4) - dmin * m2 }
            q += 32; index += 2; o += 64
        }
    }

    private func decodeQ6_K(_ block: UnsafeRawPointer, _ out: inout [Float], _ y: Int) {
        let d = half(block, 208)
        var ql = block, qh = block + 128, sc = block + 192
        var o = y
        for _ in stride(from: 0, to: 256, by: 128) {
            for l in 0..<32 {
                let s = l / 16
                let low = { (i: Int) in ql.load(fromByteOffset: i, as: UInt8.self) }
                let high = qh.load(fromByteOffset: l, as: UInt8.self)
                let q1 = Int((low(l) & 0xF) | ((high >> 0) & 3) << 4) - 32
                let q2 = Int((low(l + 32) & 0xF) | ((high >> 2) & 3) << 4) - 32
                let q3 = Int((low(l) >> 4) | ((high >> 4) & 3) << 4) - 32
                let q4 = Int((low(l + 32) >> 4) | ((high >> 6) & 3) << 4) - 32
                let scale = { (i: Int) in Float(sc.load(fromByteOffset: i, as: Int8.self)) }
                out[o + l] = d * scale(s) * Float(q1)
                out[o + l + 32] = d * scale(s + 2) * Float(q2)
                out[o + l + 64] = d * scale(s + 4) * Float(q3)
                out[o + l + 96] = d * scale(s + 6) * Float(q4)
            }
            o += 128; ql += 64; qh += 32; sc += 8
        }
    }
}

/// Decodes quantised activations (Q8_0, Q8_1, Q8_K) to floats.
func decodeActivations(_ data: [UInt8], as type: QuantType, count: Int) -> [Float] {
    data.withUnsafeBytes { raw in
        (0..<count).map { i -> Float in
            let block = raw.baseAddress! + (i / type.blockSize) * type.bytesPerBlock
            let j = i % type.blockSize
            switch type {
            case .q8_0: return half(block, 0) * Float(block.load(fromByteOffset: 2 + j, as: Int8.self))
            case .q8_1: return half(block, 0) * Float(block.load(fromByteOffset: 4 + j, as: Int8.self))
            case .q8_K: return block.loadUnaligned(as: Float.self) * Float(block.load(fromByteOffset: 4 + j, as: Int8.self))
            default: fatalError()
            }
        }
    }
}

@Suite struct ReferenceDecoderTests {
    /// The decoders agree with hand-built blocks.
    @Test func q4_1HandBuiltBlock() {
        var block = [UInt8](repeating: 0, count: 20)
        let d = Float16(0.5).bitPattern, m = Float16(-1).bitPattern
        block[0] = UInt8(d & 0xFF); block[1] = UInt8(d >> 8); block[2] = UInt8(m & 0xFF); block[3] = UInt8(m >> 8)
        block[4] = 0x3A   // value 0 = 0xA, value 16 = 0x3
        let values = WeightFormat(type: .q4_1).decode(block, blocks: 1)
        #expect(values[0] == 0.5 * 10 - 1)
        #expect(values[16] == 0.5 * 3 - 1)
        #expect(values[1] == -1)
    }

    @Test func q6_KHandBuiltBlock() {
        var block = [UInt8](repeating: 0, count: 210)
        let d = Float16(0.25).bitPattern
        block[208] = UInt8(d & 0xFF); block[209] = UInt8(d >> 8)
        for k in 0..<16 { block[192 + k] = UInt8(k + 1) }
        block[0] = 0x21      // value 0: low nibble 1, value 64: 2
        block[128] = 0b11_10_01_00   // value 0 high bits 0, value 32: 1, value 64: 2, value 96: 3
        let values = WeightFormat(type: .q6_K).decode(block, blocks: 1)
        #expect(values[0] == 0.25 * 1 * Float(1 - 32))
        #expect(values[32] == 0.25 * 3 * Float(16 - 32))
        #expect(values[64] == 0.25 * 5 * Float(2 + 32 - 32))
        #expect(values[96] == 0.25 * 7 * Float(48 - 32))
    }
}
