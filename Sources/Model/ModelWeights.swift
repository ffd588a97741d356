import GGUF
import Kernels

/// A 1-D F32 tensor inside the mapped file (norm weights).
struct VectorWeight: @unchecked Sendable {
    let data: UnsafePointer<Float>
    let count: Int
}

/// One decoder block's tensors, pointing into the mapped model file.
struct LayerWeights: @unchecked Sendable {
    var attentionNorm: VectorWeight
    var query: QuantizedMatrix          // [queryDim × d_model]
    var key: QuantizedMatrix            // [kvDim × d_model]
    var value: QuantizedMatrix          // [kvValueDim × d_model]
    var output: QuantizedMatrix         // [d_model × headCount·valueDim]
    var queryNorm: VectorWeight?        // [headDim] (Architecture.hasQKNorm)
    var keyNorm: VectorWeight?          // [headDim]
    var postAttentionNorm: VectorWeight? // [d_model] (Architecture.hasPostNorms)
    var feedForwardNorm: VectorWeight
    var gate: QuantizedMatrix           // [ffn × d_model]
    var up: QuantizedMatrix             // [ffn × d_model]
    var down: QuantizedMatrix           // [d_model × ffn]
    var postFeedForwardNorm: VectorWeight? // [d_model] (Architecture.hasPostNorms)
    /// Biases of the query, key and value projections, when the file has them (qwen2): added to each row after
    /// the product and its LoRA terms, once whatever the row's mixture.
    var queryBias: VectorWeight?        // [queryDim]
    var keyBias: VectorWeight?          // [kvDim]
    var valueBias: VectorWeight?        // [kvValueDim]

    /// The bias of projection `p` (nil: none; only q, k and v may have one, `Projection.biased`).
    func bias(_ p: Projection) -> VectorWeight? {
        switch p {
        case .query: return queryBias
        case .key: return keyBias
        case .value: return valueBias
        case .output, .gate, .up, .down: return nil
        }
    }

    /// The projection a LoRA adapter targets, by llama.cpp's tensor base name.
    func projection(_ p: Projection) -> QuantizedMatrix {
        switch p {
        case .query: return query
        case .key: return key
        case .value: return value
        case .output: return output
        case .gate: return gate
        case .up: return up
        case .down: return down
        }
    }
}

/// The linear projections inside a block that adapters may modify.
public enum Projection: String, CaseIterable, Sendable {
    case query = "attn_q", key = "attn_k", value = "attn_v", output = "attn_output"
    case gate = "ffn_gate", up = "ffn_up", down = "ffn_down"

    /// The projections whose bias a file may hold (`TensorNames.projectionBias`), as llama.cpp reads them: q, k, v.
    public static let biased: [Projection] = [.query, .key, .value]
}

struct ModelWeights: @unchecked Sendable {
    var tokenEmbedding: QuantizedMatrix // [vocab × d_model]
    var outputNorm: VectorWeight
    var outputHead: QuantizedMatrix     // [vocab × d_model]; the embedding when output.weight is absent (tied)
    var layers: [LayerWeights]

    init(file: GGUFFile, config c: ModelConfig) throws {
        func matrix(_ name: String, rows: Int, cols: Int) throws -> QuantizedMatrix {
            guard let t = file.tensor(name) else { throw ModelError.missingTensor(name) }
            guard t.dimensions == [cols, rows] else {
                throw ModelError.shapeMismatch(tensor: name, expected: [cols, rows], found: t.dimensions)
            }
            guard let type = QuantType(t.type), type != .q8_1, type != .q8_K,
                  cols % type.blockSize == 0 else {
                throw ModelError.unsupportedTensorType(tensor: name, type: "\(t.type)")
            }
            return QuantizedMatrix(type: type, rows: rows, cols: cols, data: file.data(for: t))
        }
        func vector(_ name: String, _ count: Int) throws -> VectorWeight {
            guard let v = try optionalVector(name, count) else { throw ModelError.missingTensor(name) }
            return v
        }
        /// A 1-D F32 tensor of `count` values, or nil when the file has no tensor of that name.
        func optionalVector(_ name: String, _ count: Int) throws -> VectorWeight? {
            guard let t = file.tensor(name) else { return nil }
            guard t.dimensions == [count] else {
                throw ModelError.shapeMismatch(tensor: name, expected: [count], found: t.dimensions)
            }
            guard t.type == .f32 else {
                throw ModelError.unsupportedTensorType(tensor: name, type: "\(t.type) (norms and biases must be F32)")
            }
            return VectorWeight(data: file.data(for: t).assumingMemoryBound(to: Float.self), count: count)
        }

        let d = c.embeddingLength, names = c.architecture.tensors
        tokenEmbedding = try matrix(names.tokenEmbedding, rows: c.vocabularySize, cols: d)
        outputNorm = try vector(names.outputNorm, d)
        outputHead = file.tensor(names.output) == nil
            ? tokenEmbedding : try matrix(names.output, rows: c.vocabularySize, cols: d)
        layers = try (0..<c.blockCount).map { l in
            func block(_ suffix: String) -> String { names.block(l, suffix) }
            func projection(_ p: Projection, rows: Int, cols: Int) throws -> QuantizedMatrix {
                try matrix(names.projection(p, layer: l), rows: rows, cols: cols)
            }
            return LayerWeights(
                attentionNorm: try vector(block(names.attentionNorm), d),
                query: try projection(.query, rows: c.queryDim, cols: d),
                key: try projection(.key, rows: c.kvDim, cols: d),
                value: try projection(.value, rows: c.kvValueDim, cols: d),
                output: try projection(.output, rows: d, cols: c.headCount * c.valueDim),
                queryNorm: c.hasQKNorm ? try vector(block(names.queryNorm), c.headDim) : nil,
                keyNorm: c.hasQKNorm ? try vector(block(names.keyNorm), c.headDim) : nil,
                postAttentionNorm: c.hasPostNorms ? try vector(block(names.postAttentionNorm), d) : nil,
                feedForwardNorm: try vector(block(names.feedForwardNorm), d),
                gate: try projection(.gate, rows: c.feedForwardLength, cols: d),
                up: try projection(.up, rows: c.feedForwardLength, cols: d),
                down: try projection(.down, rows: d, cols: c.feedForwardLength),
                postFeedForwardNorm: c.hasPostNorms ? try vector(block(names.postFeedForwardNorm), d) : nil,
                queryBias: try optionalVector(names.projectionBias(.query, layer: l), c.queryDim),
                keyBias: try optionalVector(names.projectionBias(.key, layer: l), c.kvDim),
                valueBias: try optionalVector(names.projectionBias(.value, layer: l), c.kvValueDim)
            )
        }
    }
}
