import Kernels

/// The rows of one sequence in a packed batch: rows offset..<offset+count hold positions 0..<count.
struct SequenceSpan: Sendable, Equatable {
    var offset: Int
    var count: Int
}

/// Shapes of the attention op.
struct AttentionShape {
    var heads: Int
    var kvHeads: Int       // grouped-query attention: head h reads kv head h / (heads / kvHeads)
    var headDim: Int       // query/key length per head
    var valueDim: Int      // value length per head
    var scale: Double      // 1/√headDim
    var window: Int?       // sliding window (gemma local layers): key j visible from i iff i − window < j ≤ i

    var queryStride: Int { heads * headDim }     // floats per row of q
    var keyStride: Int { kvHeads * headDim }     // floats per row of k
    var valueStride: Int { kvHeads * valueDim }  // floats per row of v
    var outputStride: Int { heads * valueDim }   // floats per row of the output

    /// Offsets of each sequence's probabilities ([heads × n × n] per sequence) and their total.
    func probabilityOffsets(_ spans: [SequenceSpan]) -> (offsets: [Int], total: Int) {
        var offsets = [Int](), total = 0
        for s in spans {
            offsets.append(total)
            total += heads * s.count * s.count
        }
        return (offsets, total)
    }
}

/// Causal self-attention within each sequence of a packed batch, with GQA, an optional sliding window and a
/// scale: out_i = Σ_j P_ij v_j with P_i = softmax_j(scale · q_i·k_j) over the visible j. The probabilities
/// are kept for backward. Every product is a BLAS call on one (sequence, head) block.
enum AttentionOp {
    /// q [R × heads·hd], k [R × kvHeads·hd], v [R × kvHeads·vd] → out [R × heads·vd];
    /// probs [Σ_s heads·n_s²]: per sequence, per head, the n × n matrix P (zero where masked).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: TrainingScalar>(q: UnsafePointer<T>, k: UnsafePointer<T>, v: UnsafePointer<T>,
                                           out: UnsafeMutablePointer<T>, probs: UnsafeMutablePointer<T>,
                                           spans: [SequenceSpan], shape a: AttentionShape, pool: ThreadPool?) {
        let group = a.heads / a.kvHeads
        let offsets = a.probabilityOffsets(spans).offsets
        let scale = T(a.scale)
        let body = { (task: Int) in
            let s = task / a.heads, h = task % a.heads, g = h / group
            let n = spans[s].count, o = spans[s].offset
            let p = probs + offsets[s] + h * n * n
            let qh = q + o * a.queryStride + h * a.headDim
            let kg = k + o * a.keyStride + g * a.headDim
            let vg = v + o * a.valueStride + g * a.valueDim
            // S = scale · Q_h K_gᵀ   [n × n]
            T.gemm(transA: false, transB: true, m: n, n: n, k: a.headDim, alpha: scale, a: qh, lda: a.queryStride,
                   b: kg, ldb: a.keyStride, beta: 0, c: p, ldc: n, pool: nil)
            // P = softmax over each row's visible keys, zero elsewhere
            for i in 0..<n {
                let row = p + i * n
                let first = a.window.map { max(0, i - $0 + 1) } ?? 0
                var m = -T.infinity
                for j in first...i { m = max(m, row[j]) }
                var sum: T = 0
                for j in first...i {
                    let e = T.exp(row[j] - m)
                    row[j] = e
                    sum += e
                }
                let inv = 1 / sum
                for j in 0..<first { row[j] = 0 }
                for j in first...i { row[j] *= inv }
                for j in (i + 1)..<n { row[j] = 0 }
            }
            // out_h = P V_g   [n × vd]
            T.gemm(transA: false, transB: false, m: n, n: a.valueDim, k: n, alpha: 1, a: p, lda: n,
                   b: vg, ldb: a.valueStride, beta: 0, c: out + o * a.outputStride + h * a.valueDim,
                   ldc: a.outputStride, pool: nil)
        }
        let tasks = spans.count * a.heads
        if let pool, pool.threadCount > 1 { pool.parallelFor(tasks, body) } else { for t in 0..<tasks { body(t) } }
    }

    /// Differentiates `forward`: given dOut [R × heads·vd], accumulates dq += scale · dS K, dk += scale · dSᵀ Q,
    /// dv += Pᵀ dOut, with dP = dOut Vᵀ and dS = P ⊙ (dP − rowsum(P ⊙ dP)). One task per (sequence, kv head),
    /// so the heads that share a kv head accumulate into dk and dv without races.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: TrainingScalar>(dOut: UnsafePointer<T>, q: UnsafePointer<T>, k: UnsafePointer<T>,
                                            v: UnsafePointer<T>, probs: UnsafePointer<T>,
                                            dq: UnsafeMutablePointer<T>, dk: UnsafeMutablePointer<T>,
                                            dv: UnsafeMutablePointer<T>, spans: [SequenceSpan],
                                            shape a: AttentionShape, pool: ThreadPool?) {
        let group = a.heads / a.kvHeads
        let offsets = a.probabilityOffsets(spans).offsets
        let scale = T(a.scale)
        let body = { (task: Int) in
            let s = task / a.kvHeads, g = task % a.kvHeads
            let n = spans[s].count, o = spans[s].offset
            let kg = k + o * a.keyStride + g * a.headDim
            let vg = v + o * a.valueStride + g * a.valueDim
            let dkg = dk + o * a.keyStride + g * a.headDim
            let dvg = dv + o * a.valueStride + g * a.valueDim
            withUnsafeTemporaryAllocation(of: T.self, capacity: n * n) { buffer in
                let ds = buffer.baseAddress!   // dP, then dS   [n × n]
                for h in (g * group)..<((g + 1) * group) {
                    let p = probs + offsets[s] + h * n * n
                    let qh = q + o * a.queryStride + h * a.headDim
                    let dqh = dq + o * a.queryStride + h * a.headDim
                    let dOuth = dOut + o * a.outputStride + h * a.valueDim
                    // dP = dOut_h V_gᵀ   (differentiates out_h = P V_g with respect to P)
                    T.gemm(transA: false, transB: true, m: n, n: n, k: a.valueDim, alpha: 1, a: dOuth,
                           lda: a.outputStride, b: vg, ldb: a.valueStride, beta: 0, c: ds, ldc: n, pool: nil)
                    // dV_g += Pᵀ dOut_h   (… with respect to V_g)
                    T.gemm(transA: true, transB: false, m: n, n: a.valueDim, k: n, alpha: 1, a: p, lda: n,
                           b: dOuth, ldb: a.outputStride, beta: 1, c: dvg, ldc: a.valueStride, pool: nil)
                    // dS = P ⊙ (dP − Σ_j P_ij dP_ij)   (differentiates the softmax; masked entries stay 0)
                    for i in 0..<n {
                        let pr = p + i * n, dr = ds + i * n
                        var dot: T = 0
                        for j in 0...i { dot += pr[j] * dr[j] }
                        for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
                        for j in (i + 1)..<n { dr[j] = 0 }
                    }
                    // dQ_h += scale · dS K_g ;  dK_g += scale · dSᵀ Q_h   (differentiate S = scale · Q_h K_gᵀ)
                    T.gemm(transA: false, transB: false, m: n, n: a.headDim, k: n, alpha: scale, a: ds, lda: n,
                           b: kg, ldb: a.keyStride, beta: 1, c: dqh, ldc: a.queryStride, pool: nil)
                    T.gemm(transA: true, transB: false, m: n, n: a.headDim, k: n, alpha: scale, a: ds, lda: n,
                           b: qh, ldb: a.queryStride, beta: 1, c: dkg, ldc: a.keyStride, pool: nil)
                }
            }
        }
        let tasks = spans.count * a.kvHeads
        if let pool, pool.threadCount > 1 { pool.parallelFor(tasks, body) } else { for t in 0..<tasks { body(t) } }
    }
}
