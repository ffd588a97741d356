/// Sizes that the activation buffers are allocated for.
struct ActivationSizes: Equatable {
    var rows: Int           // R: packed tokens
    var probabilities: Int  // P: Σ_s heads · n_s²
    var logitRows: Int      // L: scored positions
    var rank: Int           // LoRA rank (0: no adapter)

    func fits(_ other: ActivationSizes) -> Bool {
        rows >= other.rows && probabilities >= other.probabilities && logitRows >= other.logitRows && rank >= other.rank
    }

    func union(_ o: ActivationSizes) -> ActivationSizes {
        ActivationSizes(rows: max(rows, o.rows), probabilities: max(probabilities, o.probabilities),
                        logitRows: max(logitRows, o.logitRows), rank: max(rank, o.rank))
    }
}

/// What one block's forward keeps for backward (R = rows of the batch).
final class LayerActivations<T: TrainingScalar> {
    let xnAttention: TrainingBuffer<T>  // [R × d] attn_norm(x), input of q/k/v
    let rAttention: TrainingBuffer<T>   // [R] its 1/rms
    let qRaw, kRaw: TrainingBuffer<T>   // [R × heads·hd], [R × kvHeads·hd] projections before QK-norm (QK-norm only)
    let rQ, rK: TrainingBuffer<T>       // [R × heads], [R × kvHeads] QK-norm 1/rms
    let q, k, v: TrainingBuffer<T>      // [R × heads·hd], [R × kvHeads·hd] (normed, rotated), [R × kvHeads·vd]
    let probabilities: TrainingBuffer<T> // [Σ_s heads · n_s²] softmax of each sequence and head
    let attention: TrainingBuffer<T>    // [R × heads·vd] attention output, input of attn_output
    let attentionOut: TrainingBuffer<T> // [R × d] attn_output(attention), before the gemma post-norm
    let rPostAttention: TrainingBuffer<T> // [R] (gemma3)
    let xMid: TrainingBuffer<T>         // [R × d] residual after attention
    let xnFeedForward: TrainingBuffer<T> // [R × d] ffn_norm(xMid), input of gate/up
    let rFeedForward: TrainingBuffer<T> // [R]
    let gate, up, h: TrainingBuffer<T>  // [R × ffn] gate and up projections; h = act(gate) ⊙ up, input of down
    let feedForwardOut: TrainingBuffer<T> // [R × d] ffn_down(h), before the gemma post-norm
    let rPostFeedForward: TrainingBuffer<T> // [R] (gemma3)
    let u: [TrainingBuffer<T>]          // by Projection.index: [R × rank] x·Aᵀ of the LoRA update

    init(config c: ModelConfig, sizes s: ActivationSizes) {
        let r = s.rows, d = c.embeddingLength, qk = c.hasQKNorm, post = c.hasPostNorms
        xnAttention = TrainingBuffer(r * d)
        rAttention = TrainingBuffer(r)
        qRaw = TrainingBuffer(qk ? r * c.queryDim : 0)
        kRaw = TrainingBuffer(qk ? r * c.kvDim : 0)
        rQ = TrainingBuffer(qk ? r * c.headCount : 0)
        rK = TrainingBuffer(qk ? r * c.headCountKV : 0)
        q = TrainingBuffer(r * c.queryDim)
        k = TrainingBuffer(r * c.kvDim)
        v = TrainingBuffer(r * c.kvValueDim)
        probabilities = TrainingBuffer(s.probabilities)
        attention = TrainingBuffer(r * c.headCount * c.valueDim)
        attentionOut = TrainingBuffer(r * d)
        rPostAttention = TrainingBuffer(post ? r : 0)
        xMid = TrainingBuffer(r * d)
        xnFeedForward = TrainingBuffer(r * d)
        rFeedForward = TrainingBuffer(r)
        gate = TrainingBuffer(r * c.feedForwardLength)
        up = TrainingBuffer(r * c.feedForwardLength)
        h = TrainingBuffer(r * c.feedForwardLength)
        feedForwardOut = TrainingBuffer(r * d)
        rPostFeedForward = TrainingBuffer(post ? r : 0)
        u = Projection.allCases.map { _ in TrainingBuffer(r * s.rank) }
    }
}

/// Activations of a whole pass. A training pass keeps one LayerActivations per block and every residual
/// stream; a forward-only pass (reference log-probs) reuses one block's buffers and two residual streams.
final class TrainingActivations<T: TrainingScalar> {
    let sizes: ActivationSizes
    let keepsAll: Bool
    let layers: [LayerActivations<T>]   // blockCount, or 1
    let residual: [TrainingBuffer<T>]   // blockCount + 1, or 2: [R × d] input of each block (and the final one)
    let xFinal: TrainingBuffer<T>       // [L × d] final residual at the scored rows
    let hnFinal: TrainingBuffer<T>      // [L × d] output_norm of it, input of the head
    let rFinal: TrainingBuffer<T>       // [L]
    let logits: TrainingBuffer<T>       // [L × vocab]
    let lse: TrainingBuffer<T>          // [L] log Σ exp(logits)
    let logp: TrainingBuffer<T>         // [L] log-prob of each target
    let layerCount: Int

    init(config c: ModelConfig, sizes s: ActivationSizes, keepAll: Bool) {
        sizes = s
        keepsAll = keepAll
        layerCount = c.blockCount
        layers = (0..<(keepAll ? c.blockCount : 1)).map { _ in LayerActivations(config: c, sizes: s) }
        residual = (0..<(keepAll ? c.blockCount + 1 : 2)).map { _ in TrainingBuffer(s.rows * c.embeddingLength) }
        xFinal = TrainingBuffer(s.logitRows * c.embeddingLength)
        hnFinal = TrainingBuffer(s.logitRows * c.embeddingLength)
        rFinal = TrainingBuffer(s.logitRows)
        logits = TrainingBuffer(s.logitRows * c.vocabularySize)
        lse = TrainingBuffer(s.logitRows)
        logp = TrainingBuffer(s.logitRows)
    }

    func layer(_ l: Int) -> LayerActivations<T> { keepsAll ? layers[l] : layers[0] }
    /// The residual stream entering block l (l = blockCount: the final one).
    func input(_ l: Int) -> UnsafeMutablePointer<T> { (keepsAll ? residual[l] : residual[l % 2]).pointer }
}

/// Gradient scratch of backward, shared by all blocks.
final class BackwardScratch<T: TrainingScalar> {
    let sizes: ActivationSizes
    let dx: TrainingBuffer<T>          // [R × d] ∂L/∂ residual stream
    let dxn: TrainingBuffer<T>         // [R × d] ∂L/∂ a norm's output
    let dBranch: TrainingBuffer<T>     // [R × d] ∂L/∂ a block output before its gemma post-norm
    let dq, dk, dv: TrainingBuffer<T>  // [R × heads·hd], [R × kvHeads·hd], [R × kvHeads·vd]
    let dqRaw, dkRaw: TrainingBuffer<T> // before QK-norm
    let dAttention: TrainingBuffer<T>  // [R × heads·vd]
    let dGate, dUp, dH: TrainingBuffer<T> // [R × ffn]
    let t: TrainingBuffer<T>           // [R × rank] dy·B of a LoRA backward
    let dLogits: TrainingBuffer<T>     // [L × vocab]
    let dLogp: TrainingBuffer<T>       // [L]
    let dHn, dxFinal: TrainingBuffer<T> // [L × d]

    init(config c: ModelConfig, sizes s: ActivationSizes) {
        sizes = s
        let r = s.rows, d = c.embeddingLength
        dx = TrainingBuffer(r * d)
        dxn = TrainingBuffer(r * d)
        dBranch = TrainingBuffer(c.hasPostNorms ? r * d : 0)
        dq = TrainingBuffer(r * c.queryDim)
        dk = TrainingBuffer(r * c.kvDim)
        dv = TrainingBuffer(r * c.kvValueDim)
        dqRaw = TrainingBuffer(c.hasQKNorm ? r * c.queryDim : 0)
        dkRaw = TrainingBuffer(c.hasQKNorm ? r * c.kvDim : 0)
        dAttention = TrainingBuffer(r * c.headCount * c.valueDim)
        dGate = TrainingBuffer(r * c.feedForwardLength)
        dUp = TrainingBuffer(r * c.feedForwardLength)
        dH = TrainingBuffer(r * c.feedForwardLength)
        t = TrainingBuffer(r * s.rank)
        dLogits = TrainingBuffer(s.logitRows * c.vocabularySize)
        dLogp = TrainingBuffer(s.logitRows)
        dHn = TrainingBuffer(s.logitRows * d)
        dxFinal = TrainingBuffer(s.logitRows * d)
    }
}
