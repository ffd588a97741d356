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
                if T.self == Float.self {
                    // Concrete Float loop: the generic one calls elementExp through the protocol witness (no inlining,
                    // no vectorisation; ~7 % of a training step in perf).
                    siluForward(gate: cast(gate), up: cast(up), h: cast(h), range: range)
                    return
                }
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
                if T.self == Float.self {
                    siluBackward(dh: cast(dh), gate: cast(gate), up: cast(up), dGate: cast(dGate), dUp: cast(dUp),
                                 range: range)
                    return
                }
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

    /// `forward`'s SiLU loop for Float: h = g·σ(g)·up with σ(g) = 1 / (1 + e^−g).
    static func siluForward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>,
                            range: Range<Int>) {
        for i in range {
            let g = gate[i]
            h[i] = g / (1 + Float.polynomialExp(-g)) * up[i]
        }
    }

    /// `backward`'s SiLU loop for Float (the same formulas as the generic loop).
    static func siluBackward(dh: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                             dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, range: Range<Int>) {
        for i in range {
            let g = gate[i]
            let sigma = 1 / (1 + Float.polynomialExp(-g))
            dUp[i] += dh[i] * g * sigma
            dGate[i] += dh[i] * up[i] * sigma * (1 + g * (1 - sigma))
        }
    }
}

/// A pointer to T viewed as a pointer to Float (callers check T == Float).
@inline(__always)
private func cast<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always)
private func cast<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

// Defined in this file so that it inlines into the SiLU loops above (Model is compiled file by file: a function
// from another file is called, not inlined, and the loop does not vectorise). `Float.elementExp` uses it too.
extension Float {
    /// e^x to within about 2 ulp for x in [−87, 88] (clamped outside), without branches or calls: Cephes' expf.
    /// x = n ln 2 + r with n = round(x / ln 2) and |r| ≤ ln 2 / 2 (ln 2 split in two constants so n ln 2 is exact),
    /// e^r by a degree-7 polynomial, then 2ⁿ assembled in the exponent bits.
    @inline(__always)
    public static func polynomialExp(_ x: Float) -> Float {
        let clamped = Swift.min(Swift.max(x, -87), 88)
        let n = (clamped * 1.442_695_04).rounded(.toNearestOrEven)
        let r = (clamped - n * 0.693_359_375) + n * 2.121_944_4e-4
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let er = p * (r * r) + r + 1
        return er * Float(bitPattern: UInt32(bitPattern: Int32(n) &+ 127) << 23)
    }
}
