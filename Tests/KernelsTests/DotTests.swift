import Testing
@testable import Kernels

@Suite struct DotTests {
    typealias RowDots = (UnsafeRawPointer, Int, UnsafeRawPointer, Int, Int, UnsafeMutablePointer<Float>, Int) -> Void

    /// The scalar reference and the SIMD row kernel of a weight format, from its traits entry.
    func kernels(_ type: QuantType) -> (reference: (UnsafeRawPointer, UnsafeRawPointer, Int) -> Float, rowDots: RowDots) {
        let dot = type.format.dot!
        return (dot.reference, dot.rowDots)
    }

    func quantize(_ x: [Float], _ type: QuantType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: type.byteCount(for: x.count))
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBytes { ActivationQuant.quantize(xp.baseAddress!, into: $0.baseAddress!, count: x.count, as: type) }
        }
        return out
    }

    /// SIMD kernels (every column count up to 7) equal the scalar reference; the scalar reference equals
    /// decoding both sides and summing in Double; and the result is within quantisation error of the float dot.
    @Test(arguments: WeightFormat.all, [1, 3, 7, 40])
    func kernelMatchesReferences(format: WeightFormat, blocks: Int) {
        var rng = TestRandom(seed: UInt64(blocks) &* 31 &+ UInt64(format.type.ggmlType.rawValue))
        let count = blocks * format.type.blockSize
        let w = format.randomRow(blocks: blocks, &rng)
        let wf = format.decode(w, blocks: blocks)
        let n = 7
        let x = rng.floats(n * count)
        let xq = quantize(x, format.activation)
        let xRowBytes = format.activation.byteCount(for: count)
        let (reference, rowDots) = kernels(format.type)
        var fast = [Float](repeating: .nan, count: n * 3)
        w.withUnsafeBytes { wp in
            xq.withUnsafeBytes { xp in
                fast.withUnsafeMutableBufferPointer { yp in
                    rowDots(wp.baseAddress!, blocks, xp.baseAddress!, xRowBytes, n, yp.baseAddress!, 3)
                }
                for c in 0..<n {
                    let r = reference(wp.baseAddress!, xp.baseAddress! + c * xRowBytes, blocks)
                    let xc = Array(x[c * count..<(c + 1) * count])
                    let xd = decodeActivations(Array(xq[c * xRowBytes..<(c + 1) * xRowBytes]), as: format.activation, count: count)
                    var exact = 0.0, magnitude = 0.0, float = 0.0, bound = 0.0
                    for i in 0..<count {
                        exact += Double(wf[i]) * Double(xd[i])
                        magnitude += abs(Double(wf[i]) * Double(xd[i]))
                        float += Double(wf[i]) * Double(xc[i])
                    }
                    // Activation rounding: |x − x̂| ≤ d_x/2 (+ Float16 rounding of d) for each value.
                    for b in 0..<count / format.activation.blockSize {
                        let size = format.activation.blockSize
                        let amax = xc[b * size..<(b + 1) * size].map { abs(Double($0)) }.max()!
                        for i in b * size..<(b + 1) * size { bound += abs(Double(wf[i])) * amax / 127 * 0.56 }
                    }
                    // Q8_1's s = Float16(d·Σq) is rounded from the unrounded d: allow for it in the min term.
                    var sRounding = 0.0
                    if format.activation == .q8_1 {
                        for b in 0..<blocks {
                            let xb = Array(xq[c * xRowBytes + 36 * b..<c * xRowBytes + 36 * b + 36])
                            let m = w.withUnsafeBytes { half($0.baseAddress! + 20 * b, 2) }
                            sRounding += abs(Double(m) * Double(xb.withUnsafeBytes { half($0.baseAddress!, 2) })) * 1.5e-3
                        }
                    }
                    #expect(abs(Double(fast[3 * c]) - Double(r)) <= 1e-5 * magnitude + 1e-6, "SIMD vs scalar, column \(c)")
                    #expect(abs(Double(r) - exact) <= 1e-5 * magnitude + sRounding + 1e-6, "scalar vs decoded, column \(c)")
                    #expect(abs(Double(r) - float) <= bound + sRounding + 1e-5 * magnitude, "scalar vs float, column \(c)")
                }
            }
        }
    }
}
