import Kernels

/// Log-probability of each row's target token: logp_i = logits[i, t_i] − log Σ_v exp(logits[i, v]).
enum LogSoftmaxGatherOp {
    /// logits [rows × vocab], targets [rows] → logp [rows], lse [rows] (log Σ exp, saved for backward).
    /// The exponentials are summed in Double.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: TrainingScalar>(logits: UnsafePointer<T>, targets: [Int], logp: UnsafeMutablePointer<T>,
                                           lse: UnsafeMutablePointer<T>, rows: Int, vocab: Int, pool: ThreadPool?) {
        targets.withUnsafeBufferPointer { targets in
            parallelChunks(rows, work: rows * vocab, pool: pool) { range in
                for i in range {
                    let row = logits + i * vocab
                    var m = -T.infinity
                    for v in 0..<vocab { m = max(m, row[v]) }
                    var sum: Double = 0
                    for v in 0..<vocab { sum += Double(T.exp(row[v] - m)) }
                    let l = Double(m) + Double.log(sum)
                    lse[i] = T(l)
                    logp[i] = T(Double(row[targets[i]]) - l)
                }
            }
        }
    }

    /// Differentiates `forward`: dlogits[i, v] += dlogp_i · (1[v = t_i] − exp(logits[i, v] − lse_i)).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: TrainingScalar>(dlogp: UnsafePointer<T>, logits: UnsafePointer<T>, lse: UnsafePointer<T>,
                                            targets: [Int], dlogits: UnsafeMutablePointer<T>, rows: Int, vocab: Int,
                                            pool: ThreadPool?) {
        targets.withUnsafeBufferPointer { targets in
            parallelChunks(rows, work: rows * vocab, pool: pool) { range in
                for i in range {
                    let g = dlogp[i]
                    if g == 0 { continue }
                    let row = logits + i * vocab, drow = dlogits + i * vocab, l = lse[i]
                    for v in 0..<vocab { drow[v] -= g * T.exp(row[v] - l) }
                    drow[targets[i]] += g
                }
            }
        }
    }
}
