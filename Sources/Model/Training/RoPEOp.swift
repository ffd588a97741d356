import Foundation
import Kernels

/// cos θ and sin θ of each row's position for one RoPE base: θ_i = position · base^(−2i / ropeDims).
struct RopeTable<T: TrainingScalar> {
    let half: Int          // rotated pairs per head (ropeDimensionCount / 2)
    let cos, sin: [T]      // [rows × half]

    /// The angles are computed in Double and rounded to T, as the inference forward's tables are.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    init(positions: [Int], base: Float, dimensions: Int) {
        half = dimensions / 2
        var c = [T](repeating: 0, count: positions.count * half), s = c
        for (r, p) in positions.enumerated() {
            for i in 0..<half {
                let theta = Double(p) * pow(Double(base), -2 * Double(i) / Double(dimensions))
                c[r * half + i] = T(Foundation.cos(theta))
                s[r * half + i] = T(Foundation.sin(theta))
            }
        }
        cos = c
        sin = s
    }
}

/// Rotary position embedding, in place, per row's own position: each pair (a, b) of a head becomes
/// (a·cos − b·sin, a·sin + b·cos). Pairs are (2i, 2i+1) for `adjacentPairs` (llama) and (i, i + half) for
/// `halves` (qwen3, gemma3); dimensions past ropeDimensionCount are left alone.
enum RoPEOp {
    /// x [rows × heads × headDim], rotated in place.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: TrainingScalar>(x: UnsafeMutablePointer<T>, rows: Int, heads: Int, headDim: Int,
                                           table: RopeTable<T>, style: RopeStyle, pool: ThreadPool?) {
        rotate(x, rows: rows, heads: heads, headDim: headDim, table: table, style: style, sign: 1, pool: pool)
    }

    /// Differentiates `forward`: the rotation is orthogonal, so dx = Rᵀ dy, i.e. the rotation by −θ, applied
    /// to dy in place (dy [rows × heads × headDim] becomes dx).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: TrainingScalar>(dy: UnsafeMutablePointer<T>, rows: Int, heads: Int, headDim: Int,
                                            table: RopeTable<T>, style: RopeStyle, pool: ThreadPool?) {
        rotate(dy, rows: rows, heads: heads, headDim: headDim, table: table, style: style, sign: -1, pool: pool)
    }

    @inline(__always)
    static func rotate<T: TrainingScalar>(_ x: UnsafeMutablePointer<T>, rows: Int, heads: Int, headDim: Int,
                                          table: RopeTable<T>, style: RopeStyle, sign: T, pool: ThreadPool?) {
        let half = table.half
        let pairOffset = style == .adjacentPairs ? 1 : half
        let stride = style == .adjacentPairs ? 2 : 1
        table.cos.withUnsafeBufferPointer { cb in
            table.sin.withUnsafeBufferPointer { sb in
                let cosT = cb.baseAddress!, sinT = sb.baseAddress!
                parallelChunks(rows, work: rows * heads * headDim, pool: pool) { range in
                    for r in range {
                        let cr = cosT + r * half, sr = sinT + r * half
                        for h in 0..<heads {
                            let v = x + (r * heads + h) * headDim
                            for i in 0..<half {
                                let a = v[i * stride], b = v[i * stride + pairOffset]
                                let s = sign * sr[i]
                                v[i * stride] = a * cr[i] - b * s
                                v[i * stride + pairOffset] = a * s + b * cr[i]
                            }
                        }
                    }
                }
            }
        }
    }
}
