import Foundation
@testable import Model
import Testing

/// Every backward op against central finite differences in Float64 (random inputs; L = ⟨c, forward(x)⟩ for a
/// random c, so backward is seeded with dy = c). Relative error must stay below 1e-6.
@Suite(.serialized)
struct GradientCheckOpTests {
    static let tolerance = 1e-6

    func report(_ name: String, _ error: Double) {
        print("gradient check \(name): max relative error \(String(format: "%.2e", error))")
        #expect(error < Self.tolerance, "\(name)")
    }

    @Test func rmsNorm() {
        var rng = SplitMix(seed: 1)
        let rows = 3, n = 16
        let x = rng.doubles(rows * n), w = rng.doubles(n), c = rng.doubles(rows * n)
        func forward(_ x: [Double]) -> (y: [Double], r: [Double]) {
            var y = [Double](repeating: 0, count: rows * n), r = [Double](repeating: 0, count: rows)
            RMSNormOp.forward(x: x, weight: w, y: &y, r: &r, rows: rows, n: n, epsilon: 1e-6, pool: nil)
            return (y, r)
        }
        let r = forward(x).r
        var dx = [Double](repeating: 0.5, count: rows * n)   // backward accumulates: start from a non-zero value
        RMSNormOp.backward(dy: c, x: x, weight: w, r: r, dx: &dx, rows: rows, n: n, pool: nil)
        dx = dx.map { $0 - 0.5 }
        let numeric = FiniteDifference.gradient(x, indices: Array(x.indices)) { FiniteDifference.dot(c, forward($0).y) }
        report("RMSNorm", FiniteDifference.maxRelativeError(analytic: dx, numeric: numeric))
    }

    @Test(arguments: [RopeStyle.adjacentPairs, RopeStyle.halves])
    func rope(style: RopeStyle) {
        var rng = SplitMix(seed: 2)
        let positions = [0, 5, 17], heads = 2, headDim = 8
        for dims in [8, 6] {   // all dimensions rotated, and a partial rotation
            let table = RopeTable<Double>(positions: positions, base: 10_000, dimensions: dims)
            let count = positions.count * heads * headDim
            let x = rng.doubles(count), c = rng.doubles(count)
            func forward(_ x: [Double]) -> [Double] {
                var y = x
                RoPEOp.forward(x: &y, rows: positions.count, heads: heads, headDim: headDim, table: table, style: style, pool: nil)
                return y
            }
            var dx = c
            RoPEOp.backward(dy: &dx, rows: positions.count, heads: heads, headDim: headDim, table: table, style: style, pool: nil)
            let numeric = FiniteDifference.gradient(x, indices: Array(x.indices)) { FiniteDifference.dot(c, forward($0)) }
            report("RoPE \(style) dims \(dims)/\(headDim)", FiniteDifference.maxRelativeError(analytic: dx, numeric: numeric))
        }
    }

    @Test(arguments: [nil, 2] as [Int?])
    func attention(window: Int?) {
        var rng = SplitMix(seed: 3)
        let spans = [SequenceSpan(offset: 0, count: 5), SequenceSpan(offset: 5, count: 3)]
        let shape = AttentionShape(heads: 4, kvHeads: 2, headDim: 4, valueDim: 6, scale: 0.5, window: window)
        let rows = 8
        let q = rng.doubles(rows * shape.queryStride), k = rng.doubles(rows * shape.keyStride)
        let v = rng.doubles(rows * shape.valueStride), c = rng.doubles(rows * shape.outputStride)
        let probabilityCount = shape.probabilityOffsets(spans).total
        func forward(_ q: [Double], _ k: [Double], _ v: [Double]) -> (out: [Double], probs: [Double]) {
            var out = [Double](repeating: 0, count: rows * shape.outputStride)
            var probs = [Double](repeating: 0, count: probabilityCount)
            AttentionOp.forward(q: q, k: k, v: v, out: &out, probs: &probs, spans: spans, shape: shape, pool: nil)
            return (out, probs)
        }
        let probs = forward(q, k, v).probs
        var dq = [Double](repeating: 0, count: q.count), dk = [Double](repeating: 0, count: k.count)
        var dv = [Double](repeating: 0, count: v.count)
        AttentionOp.backward(dOut: c, q: q, k: k, v: v, probs: probs, dq: &dq, dk: &dk, dv: &dv, spans: spans,
                             shape: shape, pool: nil)
        let nq = FiniteDifference.gradient(q, indices: Array(q.indices)) { FiniteDifference.dot(c, forward($0, k, v).out) }
        let nk = FiniteDifference.gradient(k, indices: Array(k.indices)) { FiniteDifference.dot(c, forward(q, $0, v).out) }
        let nv = FiniteDifference.gradient(v, indices: Array(v.indices)) { FiniteDifference.dot(c, forward(q, k, $0).out) }
        let name = "attention GQA window \(window.map(String.init) ?? "none")"
        report(name + " dq", FiniteDifference.maxRelativeError(analytic: dq, numeric: nq))
        report(name + " dk", FiniteDifference.maxRelativeError(analytic: dk, numeric: nk))
        report(name + " dv", FiniteDifference.maxRelativeError(analytic: dv, numeric: nv))
        // The mask holds: with a window of 2, row 4 of sequence 0 attends to rows 3 and 4 only.
        if window == 2 {
            let p = probs[(0 * 5 + 4) * 5..<(0 * 5 + 4) * 5 + 5]
            #expect(Array(p.prefix(3)) == [0, 0, 0])
        }
    }

    @Test(arguments: [FeedForwardActivation.silu, FeedForwardActivation.geluTanh])
    func gatedActivation(activation: FeedForwardActivation) {
        var rng = SplitMix(seed: 4)
        let n = 40
        let gate = rng.doubles(n, scale: 2), up = rng.doubles(n), c = rng.doubles(n)
        func forward(_ g: [Double], _ u: [Double]) -> [Double] {
            var h = [Double](repeating: 0, count: n)
            GatedActivationOp.forward(gate: g, up: u, h: &h, count: n, activation: activation, pool: nil)
            return h
        }
        var dGate = [Double](repeating: 0, count: n), dUp = [Double](repeating: 0, count: n)
        GatedActivationOp.backward(dh: c, gate: gate, up: up, dGate: &dGate, dUp: &dUp, count: n, activation: activation, pool: nil)
        let ng = FiniteDifference.gradient(gate, indices: Array(0..<n)) { FiniteDifference.dot(c, forward($0, up)) }
        let nu = FiniteDifference.gradient(up, indices: Array(0..<n)) { FiniteDifference.dot(c, forward(gate, $0)) }
        report("\(activation) gating dGate", FiniteDifference.maxRelativeError(analytic: dGate, numeric: ng))
        report("\(activation) gating dUp", FiniteDifference.maxRelativeError(analytic: dUp, numeric: nu))
    }

    @Test func linearWithLoRA() {
        var rng = SplitMix(seed: 5)
        let rows = 4, inputs = 6, outputs = 5, rank = 3, scale = 1.7
        let x = rng.doubles(rows * inputs), w = rng.doubles(outputs * inputs)
        let a = rng.doubles(rank * inputs), b = rng.doubles(outputs * rank), c = rng.doubles(rows * outputs)
        func forward(_ x: [Double], _ a: [Double], _ b: [Double]) -> (y: [Double], u: [Double]) {
            var y = [Double](repeating: 0, count: rows * outputs), u = [Double](repeating: 0, count: rows * rank)
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    let lora = LoRAWeights(a: ap.baseAddress!, b: bp.baseAddress!, rank: rank, scale: scale)
                    LinearOp.forward(x: x, w: w, y: &y, rows: rows, inputs: inputs, outputs: outputs, lora: lora, u: &u, pool: nil)
                }
            }
            return (y, u)
        }
        // Against the plain formula y = x·Wᵀ + s·x·Aᵀ·Bᵀ.
        let y = forward(x, a, b).y
        for r in 0..<rows {
            for o in 0..<outputs {
                var e = 0.0
                for i in 0..<inputs {
                    var delta = 0.0
                    for k in 0..<rank { delta += b[o * rank + k] * a[k * inputs + i] }
                    e += x[r * inputs + i] * (w[o * inputs + i] + scale * delta)
                }
                #expect(abs(y[r * outputs + o] - e) < 1e-12)
            }
        }
        let u = forward(x, a, b).u
        var dx = [Double](repeating: 0, count: x.count), da = [Double](repeating: 0, count: a.count)
        var db = [Double](repeating: 0, count: b.count), t = [Double](repeating: 0, count: rows * rank)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                da.withUnsafeMutableBufferPointer { dap in
                    db.withUnsafeMutableBufferPointer { dbp in
                        LinearOp.backward(dy: c, x: x, w: w, u: u,
                                          lora: LoRAWeights(a: ap.baseAddress!, b: bp.baseAddress!, rank: rank, scale: scale),
                                          gradients: LoRAGradients(a: dap.baseAddress!, b: dbp.baseAddress!),
                                          dx: &dx, t: &t, rows: rows, inputs: inputs, outputs: outputs, pool: nil)
                    }
                }
            }
        }
        let nx = FiniteDifference.gradient(x, indices: Array(x.indices)) { FiniteDifference.dot(c, forward($0, a, b).y) }
        let na = FiniteDifference.gradient(a, indices: Array(a.indices)) { FiniteDifference.dot(c, forward(x, $0, b).y) }
        let nb = FiniteDifference.gradient(b, indices: Array(b.indices)) { FiniteDifference.dot(c, forward(x, a, $0).y) }
        report("linear+LoRA dx", FiniteDifference.maxRelativeError(analytic: dx, numeric: nx))
        report("linear+LoRA dA", FiniteDifference.maxRelativeError(analytic: da, numeric: na))
        report("linear+LoRA dB", FiniteDifference.maxRelativeError(analytic: db, numeric: nb))
    }

    /// The split parameter gradient of `LinearOp.backward(…targets:…)`: two destinations with per-segment scales
    /// equal what one plain backward gives with dy scaled row by row, and dx does not depend on the targets.
    @Test func linearWithLoRASplitIntoScaledRowSegments() {
        var rng = SplitMix(seed: 8)
        let rows = 7, inputs = 5, outputs = 6, rank = 2, scale = 0.9
        let x = rng.doubles(rows * inputs), w = rng.doubles(outputs * inputs), dy = rng.doubles(rows * outputs)
        let a = rng.doubles(rank * inputs), b = rng.doubles(outputs * rank)
        // u = x·Aᵀ, as the forward keeps it.
        var u = [Double](repeating: 0, count: rows * rank)
        for r in 0..<rows { for k in 0..<rank { for i in 0..<inputs { u[r * rank + k] += x[r * inputs + i] * a[k * inputs + i] } } }
        let segments = [(0..<3, 0.5), (3..<4, 0.0), (4..<7, -2.0)]
        let destinations = [[Double](repeating: 1, count: segments.count), segments.map(\.1)]
        func plain(rowScale: [Double]) -> (da: [Double], db: [Double], dx: [Double]) {
            let scaled = (0..<(rows * outputs)).map { dy[$0] * rowScale[$0 / outputs] }
            var da = [Double](repeating: 0, count: a.count), db = [Double](repeating: 0, count: b.count)
            var dx = [Double](repeating: 0, count: x.count), t = [Double](repeating: 0, count: rows * rank)
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    da.withUnsafeMutableBufferPointer { dap in
                        db.withUnsafeMutableBufferPointer { dbp in
                            LinearOp.backward(dy: scaled, x: x, w: w, u: u,
                                              lora: LoRAWeights(a: ap.baseAddress!, b: bp.baseAddress!, rank: rank, scale: scale),
                                              gradients: LoRAGradients(a: dap.baseAddress!, b: dbp.baseAddress!),
                                              dx: &dx, t: &t, rows: rows, inputs: inputs, outputs: outputs, pool: nil)
                        }
                    }
                }
            }
            return (da, db, dx)
        }
        var da0 = [Double](repeating: 0, count: a.count), da1 = da0
        var db0 = [Double](repeating: 0, count: b.count), db1 = db0
        var dx = [Double](repeating: 0, count: x.count), t = [Double](repeating: 0, count: rows * rank)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                da0.withUnsafeMutableBufferPointer { pa0 in
                    da1.withUnsafeMutableBufferPointer { pa1 in
                        db0.withUnsafeMutableBufferPointer { pb0 in
                            db1.withUnsafeMutableBufferPointer { pb1 in
                                let pointers = [(pa0.baseAddress!, pb0.baseAddress!), (pa1.baseAddress!, pb1.baseAddress!)]
                                let targets = (0..<2).map { j in
                                    LoRAGradientTarget(gradients: LoRAGradients(a: pointers[j].0, b: pointers[j].1),
                                                       segments: zip(segments, destinations[j]).map { RowSegment(rows: $0.0, scale: $1) })
                                }
                                LinearOp.backward(dy: dy, x: x, w: w, u: u,
                                                  lora: LoRAWeights(a: ap.baseAddress!, b: bp.baseAddress!, rank: rank, scale: scale),
                                                  targets: targets, dx: &dx, t: &t, rows: rows, inputs: inputs, outputs: outputs,
                                                  pool: nil)
                            }
                        }
                    }
                }
            }
        }
        let da = [da0, da1], db = [db0, db1]
        for j in 0..<2 {
            var rowScale = [Double](repeating: 0, count: rows)
            for (segment, c) in zip(segments, destinations[j]) { for r in segment.0 { rowScale[r] = c } }
            let expected = plain(rowScale: rowScale)
            #expect(zip(da[j], expected.da).allSatisfy { abs($0 - $1) < 1e-12 }, "dA of destination \(j)")
            #expect(zip(db[j], expected.db).allSatisfy { abs($0 - $1) < 1e-12 }, "dB of destination \(j)")
        }
        let unscaled = plain(rowScale: [Double](repeating: 1, count: rows))
        #expect(zip(dx, unscaled.dx).allSatisfy { abs($0 - $1) < 1e-12 })
    }

    @Test func logSoftmaxGather() {
        var rng = SplitMix(seed: 6)
        let rows = 3, vocab = 11, targets = [4, 0, 10]
        let logits = rng.doubles(rows * vocab, scale: 3), c = rng.doubles(rows)
        func forward(_ z: [Double]) -> (logp: [Double], lse: [Double]) {
            var logp = [Double](repeating: 0, count: rows), lse = [Double](repeating: 0, count: rows)
            LogSoftmaxGatherOp.forward(logits: z, targets: targets, logp: &logp, lse: &lse, rows: rows, vocab: vocab, pool: nil)
            return (logp, lse)
        }
        let (logp, lse) = forward(logits)
        for i in 0..<rows {
            let row = logits[(i * vocab)..<((i + 1) * vocab)]
            let expected = row[i * vocab + targets[i]] - Foundation.log(row.map { Foundation.exp($0) }.reduce(0, +))
            #expect(abs(logp[i] - expected) < 1e-12)
        }
        var dz = [Double](repeating: 0, count: logits.count)
        LogSoftmaxGatherOp.backward(dlogp: c, logits: logits, lse: lse, targets: targets, dlogits: &dz, rows: rows, vocab: vocab, pool: nil)
        let numeric = FiniteDifference.gradient(logits, indices: Array(logits.indices)) { FiniteDifference.dot(c, forward($0).logp) }
        report("log-softmax gather", FiniteDifference.maxRelativeError(analytic: dz, numeric: numeric))
    }
}
