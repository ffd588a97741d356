import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Kernels

@Suite struct DotTests {


    func kernels(_ type: QuantType) -> (reference: (UnsafeRawPointer, UnsafeRawPointer, Int) -> Float, tiles: DotTiles) {
        switch type {
        case .q4_1: return ({ DotQ4_1.dotReference($0, $1, blocks: $2) }, DotQ4_1.tiles)
        case .q8_0: return ({ DotQ8_0.dotReference($0, $1, blocks: $2) }, DotQ8_0.tiles)
        case .q5_0: return ({ DotQ5_0.dotReference($0, $1, blocks: $2) }, DotQ5_0.tiles)
        case .q4_K: return ({ DotQ4_K.dotReference($0, $1, blocks: $2) }, DotQ4_K.tiles)
        case .q6_K: return ({ DotQ6_K.dotReference($0, $1, blocks: $2) }, DotQ6_K.tiles)
        default: fatalError()
        }
    }

    func quantize(_ x: [Float], _ type: QuantType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: type.byteCount(for: x.count))
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBytes { ActivationQuant.quantize(xp.baseAddress!, into: $0.baseAddress!, count: x.count, as: type) }
        }
        return out
    }

    /// SIMD kernels (three weight rows, so both the paired and the single-row paths run; 1 and 7 activation
    /// rows, so every column-group width runs) equal the scalar reference; the scalar reference equals decoding
    /// both sides and summing in Double; and the result is within quantisation error of the float dot product.
    @Test(arguments: WeightFormat.all, [1, 3, 7, 40])
    func kernelMatchesReferences(format: WeightFormat, blocks: Int) {
        var rng = TestRandom(seed: UInt64(blocks) &* 31 &+ UInt64(format.type.rawValue))
        let count = blocks * format.type.blockSize
        let weightRows = 3
        var w: [UInt8] = []
        var wf: [[Float]] = []
        for _ in 0..<weightRows {
            let row = format.randomRow(blocks: blocks, &rng)
            w += row
            wf.append(format.decode(row, blocks: blocks))
        }
        let (reference, tiles) = kernels(format.type)
        for n in [1, 7] {
            let x = rng.floats(n * count)
            let xq = quantize(x, format.activation)
            let xRowBytes = format.activation.byteCount(for: count)
            var fast = [Float](repeating: .nan, count: n * weightRows)
            w.withUnsafeBytes { wp in
                let matrix = QuantizedMatrix(type: format.type, rows: weightRows, cols: count, data: wp.baseAddress!)
                xq.withUnsafeBytes { xp in
                    let scratch = UnsafeMutableRawPointer.allocate(
                        byteCount: ActivationRows.scratchBytes(format: format.activation, cols: count, n: n), alignment: 64)
                    defer { scratch.deallocate() }
                    let rows = ActivationRows(format: format.activation, cols: count, n: n, scratch: scratch)
                    x.withUnsafeBufferPointer { xf in
                        for c in 0..<n { rows.quantize(row: c, from: xf.baseAddress! + c * count, cols: count) }
                    }
                    #expect(memcmp(rows.quants, xp.baseAddress!, n * xRowBytes) == 0)
                    fast.withUnsafeMutableBufferPointer { tiles.dots(matrix, rows: 0..<weightRows, rows, n: n, $0.baseAddress!, yStride: weightRows) }
                    for c in 0..<n {
                        for r in 0..<weightRows {
                            let xc = Array(x[c * count..<(c + 1) * count])
                            let xrow = Array(xq[c * xRowBytes..<(c + 1) * xRowBytes])
                            let value = reference(matrix.row(r), xp.baseAddress! + c * xRowBytes, blocks)
                            checkReference(value, fast: fast[c * weightRows + r], format: format, wRow: matrix.row(r),
                                           wf: wf[r], x: xc, xq: xrow, blocks: blocks, label: "row \(r) column \(c) of \(n)")
                        }
                    }
                }
            }
        }
    }

    func checkReference(_ value: Float, fast: Float, format: WeightFormat, wRow: UnsafeRawPointer, wf: [Float],
                        x: [Float], xq: [UInt8], blocks: Int, label: String) {
        let count = x.count
        let xd = decodeActivations(xq, as: format.activation, count: count)
        var exact = 0.0, magnitude = 0.0, float = 0.0, bound = 0.0
        for i in 0..<count {
            exact += Double(wf[i]) * Double(xd[i])
            magnitude += abs(Double(wf[i]) * Double(xd[i]))
            float += Double(wf[i]) * Double(x[i])
        }
        // Activation rounding: |x − x̂| ≤ d_x/2 (+ Float16 rounding of d) for each value.
        let size = format.activation.blockSize
        for b in 0..<count / size {
            let amax = x[b * size..<(b + 1) * size].map { abs(Double($0)) }.max()!
            for i in b * size..<(b + 1) * size { bound += abs(Double(wf[i])) * amax / 127 * 0.56 }
        }
        // Q8_1's s = Float16(d·Σq) is rounded from the unrounded d: allow for it in the min term.
        var sRounding = 0.0
        if format.activation == .q8_1 {
            for b in 0..<blocks {
                let m = half(wRow + 20 * b, 2)
                let s = xq.withUnsafeBytes { half($0.baseAddress! + 36 * b, 2) }
                sRounding += abs(Double(m) * Double(s)) * 1.5e-3
            }
        }
        #expect(abs(Double(fast) - Double(value)) <= 1e-5 * magnitude + 1e-6, "SIMD vs scalar, \(label)")
        #expect(abs(Double(value) - exact) <= 1e-5 * magnitude + sRounding + 1e-6, "scalar vs decoded, \(label)")
        #expect(abs(Double(value) - float) <= bound + sRounding + 1e-5 * magnitude, "scalar vs float, \(label)")
    }
}
