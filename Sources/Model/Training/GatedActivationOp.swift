import Kernels

/// The feed-forward gate: h = act(gate) ⊙ up, with act = SiLU (llama, qwen3) or GELU-tanh (gemma3).
enum GatedActivationOp {
    static let geluC = 0.797_884_560_802_865_4   // √(2/π)
    static let geluK = 0.044715

    /// gate, up [count] → h [count].
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: TrainingScalar>(gate: UnsafePointer<T>, up: UnsafePointer<T>, h: UnsafeMutablePointer<T>,
                                           count: Int, activation: FeedForwardActivation, pool: ThreadPool?) {
        parallelChunks(count, work: count * 8, pool: pool) { range in
            switch activation {
            case .silu:
                for i in range {
                    let g = gate[i]
                    h[i] = g / (1 + T.elementExp(-g)) * up[i]
                }
            case .geluTanh:
                let c = T(geluC), k = T(geluK)
                for i in range {
                    let g = gate[i]
                    h[i] = 0.5 * g * (1 + T.tanh(c * (g + k * g * g * g))) * up[i]
                }
            }
        }
    }

    /// Differentiates `forward`: dGate += dh ⊙ up ⊙ act′(gate), dUp += dh ⊙ act(gate).
    /// SiLU′(g) = σ(g)·(1 + g·(1 − σ(g))); GELU-tanh′(g) = ½(1 + t) + ½·g·(1 − t²)·c·(1 + 3k·g²), t = tanh(c(g + k g³)).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: TrainingScalar>(dh: UnsafePointer<T>, gate: UnsafePointer<T>, up: UnsafePointer<T>,
                                            dGate: UnsafeMutablePointer<T>, dUp: UnsafeMutablePointer<T>,
                                            count: Int, activation: FeedForwardActivation, pool: ThreadPool?) {
        parallelChunks(count, work: count * 8, pool: pool) { range in
            switch activation {
            case .silu:
                for i in range {
                    let g = gate[i]
                    let sigma = 1 / (1 + T.elementExp(-g))
                    dUp[i] += dh[i] * g * sigma
                    dGate[i] += dh[i] * up[i] * sigma * (1 + g * (1 - sigma))
                }
            case .geluTanh:
                let c = T(geluC), k = T(geluK)
                for i in range {
                    let g = gate[i]
                    let t = T.tanh(c * (g + k * g * g * g))
                    dUp[i] += dh[i] * 0.5 * g * (1 + t)
                    dGate[i] += dh[i] * up[i] * (0.5 * (1 + t) + 0.5 * g * (1 - t * t) * c * (1 + 3 * k * g * g))
                }
            }
        }
    }
}
