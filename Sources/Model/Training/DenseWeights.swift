import Kernels

/// One block's frozen weights as dense row-major T matrices.
final class DenseLayer<T: TrainingScalar>: @unchecked Sendable {
    let attentionNorm: TrainingBuffer<T>          // [d]
    let projections: [TrainingBuffer<T>]          // by Projection.index: [outputs × inputs] (config.projectionShape)
    let queryNorm, keyNorm: TrainingBuffer<T>?    // [headDim] (Architecture.hasQKNorm)
    let postAttentionNorm: TrainingBuffer<T>?     // [d] (Architecture.hasPostNorms)
    let feedForwardNorm: TrainingBuffer<T>        // [d]
    let postFeedForwardNorm: TrainingBuffer<T>?   // [d] (Architecture.hasPostNorms)
    /// By Projection.index: the projection's frozen bias [outputs], or nil (only q, k, v may have one).
    let biases: [TrainingBuffer<T>?]

    init(attentionNorm: TrainingBuffer<T>, projections: [TrainingBuffer<T>], queryNorm: TrainingBuffer<T>?,
         keyNorm: TrainingBuffer<T>?, postAttentionNorm: TrainingBuffer<T>?, feedForwardNorm: TrainingBuffer<T>,
         postFeedForwardNorm: TrainingBuffer<T>?, biases: [TrainingBuffer<T>?]) {
        self.attentionNorm = attentionNorm
        self.projections = projections
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
        self.postAttentionNorm = postAttentionNorm
        self.feedForwardNorm = feedForwardNorm
        self.postFeedForwardNorm = postFeedForwardNorm
        self.biases = biases
    }

    func projection(_ p: Projection) -> UnsafeMutablePointer<T> { projections[p.index].pointer }
    func bias(_ p: Projection) -> UnsafeMutablePointer<T>? { biases[p.index]?.pointer }
}

/// The model's frozen weights dequantised once into dense T copies, so that forward and backward are BLAS
/// products (SmolLM2-135M in Float: about 540 MB). The token embedding stays quantised: it is only looked up.
final class DenseWeights<T: TrainingScalar>: @unchecked Sendable {
    let layers: [DenseLayer<T>]
    let outputNorm: TrainingBuffer<T>     // [d]
    let outputHead: TrainingBuffer<T>     // [vocab × d] (the embedding matrix when tied)
    let tokenEmbedding: QuantizedMatrix   // [vocab × d], looked up row by row

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    init(_ weights: ModelWeights, config c: ModelConfig, pool: ThreadPool) {
        func dense(_ m: QuantizedMatrix) -> TrainingBuffer<T> {
            let out = TrainingBuffer<T>(m.rows * m.cols)
            let dst = out.pointer, cols = m.cols
            parallelChunks(m.rows, work: m.rows * cols, pool: pool) { range in
                if T.self == Float.self {
                    let f = UnsafeMutableRawPointer(dst).assumingMemoryBound(to: Float.self)
                    Dequantize.rows(m.type, m.row(range.lowerBound), rowCount: range.count, rowLength: cols,
                                    f + range.lowerBound * cols)
                } else {
                    let row = UnsafeMutablePointer<Float>.allocate(capacity: cols)
                    defer { row.deallocate() }
                    for r in range {
                        m.dequantizeRow(r, into: row)
                        for i in 0..<cols { dst[r * cols + i] = T(row[i]) }
                    }
                }
            }
            return out
        }
        func vector(_ v: VectorWeight) -> TrainingBuffer<T> {
            let out = TrainingBuffer<T>(v.count)
            for i in 0..<v.count { out.pointer[i] = T(v.data[i]) }
            return out
        }
        layers = weights.layers.map { w in
            DenseLayer(
                attentionNorm: vector(w.attentionNorm),
                projections: Projection.allCases.map { dense(w.projection($0)) },
                queryNorm: w.queryNorm.map(vector), keyNorm: w.keyNorm.map(vector),
                postAttentionNorm: w.postAttentionNorm.map(vector),
                feedForwardNorm: vector(w.feedForwardNorm),
                postFeedForwardNorm: w.postFeedForwardNorm.map(vector),
                biases: Projection.allCases.map { w.bias($0).map(vector) })
        }
        outputNorm = vector(weights.outputNorm)
        outputHead = dense(weights.outputHead)
        tokenEmbedding = weights.tokenEmbedding
        precondition(layers.count == c.blockCount)
    }
}
