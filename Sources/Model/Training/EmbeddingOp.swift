import Kernels

/// Token embedding lookup from the frozen (quantised) table, times the architecture's scale (√d for gemma).
/// Nothing upstream of it is trainable, so it has no backward.
enum EmbeddingOp {
    /// tokens [R] → x [R × d].
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: TrainingScalar>(tokens: [Int], table: QuantizedMatrix, scale: Float,
                                           x: UnsafeMutablePointer<T>, pool: ThreadPool?) {
        let d = table.cols
        tokens.withUnsafeBufferPointer { tokens in
            parallelChunks(tokens.count, work: tokens.count * d * 4, pool: pool) { range in
                let row = UnsafeMutablePointer<Float>.allocate(capacity: d)
                defer { row.deallocate() }
                for r in range {
                    table.dequantizeRow(tokens[r], into: row)
                    // The inference forward scales in Float; so do we, then widen.
                    if scale != 1 { for i in 0..<d { row[i] *= scale } }
                    for i in 0..<d { x[r * d + i] = T(row[i]) }
                }
            }
        }
    }
}
