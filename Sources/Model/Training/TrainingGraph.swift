import Kernels

/// The trainable adapter's values (flat, in `layout`) as the graph reads them.
struct LoRAView<T: TrainingScalar> {
    let layout: LoRAParameterLayout
    let values: UnsafePointer<T>

    func weights(layer: Int, _ p: Projection) -> LoRAWeights<T>? {
        guard let e = layout.entry(layer: layer, projection: p) else { return nil }
        return LoRAWeights(a: values + e.aOffset, b: values + e.bOffset, rank: layout.rank, scale: T(layout.scaling))
    }

    func gradients(layer: Int, _ p: Projection, in base: UnsafeMutablePointer<T>) -> LoRAGradients<T>? {
        guard let e = layout.entry(layer: layer, projection: p) else { return nil }
        return LoRAGradients(a: base + e.aOffset, b: base + e.bOffset)
    }
}

/// A flat gradient vector (the adapter's layout) and, per sequence of the batch, the factor on that sequence's
/// contribution (nil: every sequence with factor 1).
struct GradientDestination<T: TrainingScalar> {
    let base: UnsafeMutablePointer<T>
    let sequenceScales: [T]?
}

/// RoPE tables of one batch: the global base and, for gemma's local layers, the local base.
struct BatchRope<T: TrainingScalar> {
    let global: RopeTable<T>
    let local: RopeTable<T>?

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    init(config c: ModelConfig, positions: [Int]) {
        global = RopeTable(positions: positions, base: c.ropeFreqBase, dimensions: c.ropeDimensionCount)
        if let base = c.ropeFreqBaseLocal, base != c.ropeFreqBase {
            local = RopeTable(positions: positions, base: base, dimensions: c.ropeDimensionCount)
        } else {
            local = nil
        }
    }

    func table(layer: Int, config c: ModelConfig) -> RopeTable<T> {
        c.isGlobalLayer(layer) ? global : (local ?? global)
    }
}

/// The decoder (llama, qwen3, gemma3, qwen2) as forward/backward op pairs over dense frozen weights, differentiated with
/// respect to the LoRA parameters only. The same code path serves every architecture through the config's traits.
final class TrainingGraph<T: TrainingScalar>: @unchecked Sendable {
    let config: ModelConfig
    let weights: DenseWeights<T>

    init(config: ModelConfig, weights: DenseWeights<T>) {
        self.config = config
        self.weights = weights
    }

    func attentionShape(layer: Int) -> AttentionShape {
        let c = config
        return AttentionShape(heads: c.headCount, kvHeads: c.headCountKV, headDim: c.headDim, valueDim: c.valueDim,
                              scale: 1 / Double(c.headDim).squareRoot(),
                              window: c.isGlobalLayer(layer) ? nil : c.slidingWindow)
    }

    // MARK: Forward

    /// Runs the batch and leaves logp of every scored row in acts.logp (and, when acts keeps all, everything
    /// backward needs). Each op splits its work over `pool` (nil: the calling thread only).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward(_ batch: PackedSequences, rope: BatchRope<T>, lora: LoRAView<T>?, acts: TrainingActivations<T>,
                 pool: ThreadPool?) {
        let c = config, rows = batch.rows, d = c.embeddingLength, eps = c.normEpsilon
        EmbeddingOp.forward(tokens: batch.tokens, table: weights.tokenEmbedding, scale: c.embeddingScale,
                            x: acts.input(0), pool: pool)
        for l in 0..<c.blockCount {
            let w = weights.layers[l], a = acts.layer(l)
            let x = acts.input(l), y = acts.input(l + 1)
            func project(_ p: Projection, _ input: TrainingBuffer<T>, _ output: UnsafeMutablePointer<T>) {
                let (outputs, inputs) = c.projectionShape(p)
                LinearOp.forward(x: input.pointer, w: w.projection(p), y: output, rows: rows, inputs: inputs,
                                 outputs: outputs, lora: lora?.weights(layer: l, p), u: a.u[p.index].pointer,
                                 pool: pool)
                // The frozen bias (qwen2's q, k, v): a constant per output, so backward passes dy through unchanged.
                if let bias = w.bias(p) {
                    for r in 0..<rows { add(bias, into: output + r * outputs, outputs) }
                }
            }
            // ── attention ──
            RMSNormOp.forward(x: x, weight: w.attentionNorm.pointer, y: a.xnAttention.pointer,
                              r: a.rAttention.pointer, rows: rows, n: d, epsilon: eps, pool: pool)
            if let qn = w.queryNorm, let kn = w.keyNorm {
                project(.query, a.xnAttention, a.qRaw.pointer)
                project(.key, a.xnAttention, a.kRaw.pointer)
                RMSNormOp.forward(x: a.qRaw.pointer, weight: qn.pointer, y: a.q.pointer, r: a.rQ.pointer,
                                  rows: rows * c.headCount, n: c.headDim, epsilon: eps, pool: pool)
                RMSNormOp.forward(x: a.kRaw.pointer, weight: kn.pointer, y: a.k.pointer, r: a.rK.pointer,
                                  rows: rows * c.headCountKV, n: c.headDim, epsilon: eps, pool: pool)
            } else {
                project(.query, a.xnAttention, a.q.pointer)
                project(.key, a.xnAttention, a.k.pointer)
            }
            project(.value, a.xnAttention, a.v.pointer)
            let table = rope.table(layer: l, config: c)
            RoPEOp.forward(x: a.q.pointer, rows: rows, heads: c.headCount, headDim: c.headDim, table: table,
                           style: c.ropeStyle, pool: pool)
            RoPEOp.forward(x: a.k.pointer, rows: rows, heads: c.headCountKV, headDim: c.headDim, table: table,
                           style: c.ropeStyle, pool: pool)
            AttentionOp.forward(q: a.q.pointer, k: a.k.pointer, v: a.v.pointer, out: a.attention.pointer,
                                probs: a.probabilities.pointer, spans: batch.spans, shape: attentionShape(layer: l),
                                pool: pool)
            project(.output, a.attention, a.attentionOut.pointer)
            // xMid = x + post_attention_norm(attentionOut)   (or x + attentionOut)
            if let post = w.postAttentionNorm {
                RMSNormOp.forward(x: a.attentionOut.pointer, weight: post.pointer, y: a.xMid.pointer,
                                  r: a.rPostAttention.pointer, rows: rows, n: d, epsilon: eps, pool: pool)
                add(x, into: a.xMid.pointer, rows * d)
            } else {
                sum(x, a.attentionOut.pointer, into: a.xMid.pointer, rows * d)
            }
            // ── feed-forward ──
            RMSNormOp.forward(x: a.xMid.pointer, weight: w.feedForwardNorm.pointer, y: a.xnFeedForward.pointer,
                              r: a.rFeedForward.pointer, rows: rows, n: d, epsilon: eps, pool: pool)
            project(.gate, a.xnFeedForward, a.gate.pointer)
            project(.up, a.xnFeedForward, a.up.pointer)
            GatedActivationOp.forward(gate: a.gate.pointer, up: a.up.pointer, h: a.h.pointer,
                                      count: rows * c.feedForwardLength, activation: c.activation, pool: pool)
            project(.down, a.h, a.feedForwardOut.pointer)
            // y = xMid + post_ffw_norm(feedForwardOut)   (or xMid + feedForwardOut)
            if let post = w.postFeedForwardNorm {
                RMSNormOp.forward(x: a.feedForwardOut.pointer, weight: post.pointer, y: y,
                                  r: a.rPostFeedForward.pointer, rows: rows, n: d, epsilon: eps, pool: pool)
                add(a.xMid.pointer, into: y, rows * d)
            } else {
                sum(a.xMid.pointer, a.feedForwardOut.pointer, into: y, rows * d)
            }
        }
        // ── head, at the scored rows only ──
        let n = batch.logitRows.count, xL = acts.input(c.blockCount)
        for (i, r) in batch.logitRows.enumerated() {
            (acts.xFinal.pointer + i * d).update(from: xL + r * d, count: d)
        }
        RMSNormOp.forward(x: acts.xFinal.pointer, weight: weights.outputNorm.pointer, y: acts.hnFinal.pointer,
                          r: acts.rFinal.pointer, rows: n, n: d, epsilon: eps, pool: pool)
        // logits = hn · Headᵀ   [L × vocab]
        T.gemm(transA: false, transB: true, m: n, n: c.vocabularySize, k: d, alpha: 1, a: acts.hnFinal.pointer,
               lda: d, b: weights.outputHead.pointer, ldb: d, beta: 0, c: acts.logits.pointer,
               ldc: c.vocabularySize, pool: pool)
        LogSoftmaxGatherOp.forward(logits: acts.logits.pointer, targets: batch.targets, logp: acts.logp.pointer,
                                   lse: acts.lse.pointer, rows: n, vocab: c.vocabularySize, pool: pool)
    }

    // MARK: Backward

    /// Given ∂L/∂logp of every scored row (`dLogp`, [L]), accumulates ∂L/∂θ into `gradient` (the trainable
    /// adapter's layout). Reads acts (which must keep all) and leaves them intact, so it may run several times
    /// per forward.
    func backward(_ batch: PackedSequences, rope: BatchRope<T>, lora: LoRAView<T>, acts: TrainingActivations<T>,
                  scratch s: BackwardScratch<T>, dLogp: UnsafePointer<T>, gradient: UnsafeMutablePointer<T>,
                  pool: ThreadPool?) {
        backward(batch, rope: rope, lora: lora, acts: acts, scratch: s, dLogp: dLogp,
                 destinations: [GradientDestination(base: gradient, sequenceScales: nil)], pool: pool)
    }

    /// `backward` into several gradient vectors at once: destination j accumulates Σ_s scale_j(s) · ∂L_s/∂θ, where
    /// L_s is the part of L that sequence s's rows carry (sequences are independent in a packed batch, so ∂L/∂x on
    /// s's rows depends on s's dLogp alone). The expensive part — ∂L/∂x through every frozen product — runs once;
    /// only the small LoRA parameter products run per destination and sequence.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward(_ batch: PackedSequences, rope: BatchRope<T>, lora: LoRAView<T>, acts: TrainingActivations<T>,
                  scratch s: BackwardScratch<T>, dLogp: UnsafePointer<T>, destinations: [GradientDestination<T>],
                  pool: ThreadPool?) {
        precondition(acts.keepsAll, "backward needs the activations of a training forward")
        let c = config, rows = batch.rows, d = c.embeddingLength, n = batch.logitRows.count
        let vocab = c.vocabularySize, ffn = c.feedForwardLength
        // Each destination's row segments: one per sequence with a non-zero scale (nil: all rows, scale 1).
        let segments: [[RowSegment<T>]?] = destinations.map { destination in
            destination.sequenceScales.map { scales in
                zip(batch.spans, scales).compactMap { span, scale in
                    scale == 0 ? nil : RowSegment(rows: span.offset..<(span.offset + span.count), scale: scale)
                }
            }
        }

        // ── head ──
        s.dLogits.zero(n * vocab)
        LogSoftmaxGatherOp.backward(dlogp: dLogp, logits: acts.logits.pointer, lse: acts.lse.pointer,
                                    targets: batch.targets, dlogits: s.dLogits.pointer, rows: n, vocab: vocab,
                                    pool: pool)
        // dhn = dLogits · Head   (differentiates logits = hn · Headᵀ; the head is frozen)
        T.gemm(transA: false, transB: false, m: n, n: d, k: vocab, alpha: 1, a: s.dLogits.pointer, lda: vocab,
               b: weights.outputHead.pointer, ldb: d, beta: 0, c: s.dHn.pointer, ldc: d, pool: pool)
        s.dxFinal.zero(n * d)
        RMSNormOp.backward(dy: s.dHn.pointer, x: acts.xFinal.pointer, weight: weights.outputNorm.pointer,
                           r: acts.rFinal.pointer, dx: s.dxFinal.pointer, rows: n, n: d, pool: pool)
        // scatter the scored rows back into the residual stream's gradient (differentiates the row gather)
        let dx = s.dx.pointer
        s.dx.zero(rows * d)
        for (i, r) in batch.logitRows.enumerated() { add(s.dxFinal.pointer + i * d, into: dx + r * d, d) }

        for l in stride(from: c.blockCount - 1, through: 0, by: -1) {
            let w = weights.layers[l], a = acts.layer(l)
            let xIn = acts.input(l)
            // Residual adds pass dx unchanged to both their inputs: dx keeps flowing down the skip path and
            // also seeds each branch (as dy of its post-norm, or of its last projection).
            func projectBack(_ p: Projection, dy: UnsafePointer<T>, input: TrainingBuffer<T>,
                             dInput: UnsafeMutablePointer<T>?) {
                let (outputs, inputs) = c.projectionShape(p)
                var targets = [LoRAGradientTarget<T>]()
                for (j, destination) in destinations.enumerated() {
                    if let g = lora.gradients(layer: l, p, in: destination.base) {
                        targets.append(LoRAGradientTarget(gradients: g, segments: segments[j]))
                    }
                }
                LinearOp.backward(dy: dy, x: input.pointer, w: w.projection(p), u: a.u[p.index].pointer,
                                  lora: lora.weights(layer: l, p), targets: targets,
                                  dx: dInput, t: s.t.pointer, rows: rows, inputs: inputs, outputs: outputs, pool: pool)
            }
            // ── feed-forward: y = xMid + post(down(act(gate(xn)) ⊙ up(xn))), xn = ffn_norm(xMid) ──
            let dDown = postNormBackward(dx, w.postFeedForwardNorm, input: a.feedForwardOut, r: a.rPostFeedForward,
                                         scratch: s, rows: rows, pool: pool)
            s.dH.zero(rows * ffn)
            projectBack(.down, dy: dDown, input: a.h, dInput: s.dH.pointer)
            s.dGate.zero(rows * ffn)
            s.dUp.zero(rows * ffn)
            GatedActivationOp.backward(dh: s.dH.pointer, gate: a.gate.pointer, up: a.up.pointer,
                                       dGate: s.dGate.pointer, dUp: s.dUp.pointer, count: rows * ffn,
                                       activation: c.activation, pool: pool)
            s.dxn.zero(rows * d)
            projectBack(.gate, dy: s.dGate.pointer, input: a.xnFeedForward, dInput: s.dxn.pointer)
            projectBack(.up, dy: s.dUp.pointer, input: a.xnFeedForward, dInput: s.dxn.pointer)
            // dx (now ∂L/∂xMid) += ffn_norm backward
            RMSNormOp.backward(dy: s.dxn.pointer, x: a.xMid.pointer, weight: w.feedForwardNorm.pointer,
                               r: a.rFeedForward.pointer, dx: dx, rows: rows, n: d, pool: pool)

            // ── attention: xMid = x + post(o(attn(rope(qn(q(xn))), rope(kn(k(xn))), v(xn)))), xn = attn_norm(x) ──
            let dO = postNormBackward(dx, w.postAttentionNorm, input: a.attentionOut, r: a.rPostAttention,
                                      scratch: s, rows: rows, pool: pool)
            s.dAttention.zero(rows * c.headCount * c.valueDim)
            projectBack(.output, dy: dO, input: a.attention, dInput: s.dAttention.pointer)
            s.dq.zero(rows * c.queryDim)
            s.dk.zero(rows * c.kvDim)
            s.dv.zero(rows * c.kvValueDim)
            AttentionOp.backward(dOut: s.dAttention.pointer, q: a.q.pointer, k: a.k.pointer, v: a.v.pointer,
                                 probs: a.probabilities.pointer, dq: s.dq.pointer, dk: s.dk.pointer, dv: s.dv.pointer,
                                 spans: batch.spans, shape: attentionShape(layer: l), pool: pool)
            let table = rope.table(layer: l, config: c)
            RoPEOp.backward(dy: s.dq.pointer, rows: rows, heads: c.headCount, headDim: c.headDim, table: table,
                            style: c.ropeStyle, pool: pool)
            RoPEOp.backward(dy: s.dk.pointer, rows: rows, heads: c.headCountKV, headDim: c.headDim, table: table,
                            style: c.ropeStyle, pool: pool)
            var dqProj = UnsafePointer(s.dq.pointer), dkProj = UnsafePointer(s.dk.pointer)
            if let qn = w.queryNorm, let kn = w.keyNorm {
                s.dqRaw.zero(rows * c.queryDim)
                s.dkRaw.zero(rows * c.kvDim)
                RMSNormOp.backward(dy: s.dq.pointer, x: a.qRaw.pointer, weight: qn.pointer, r: a.rQ.pointer,
                                   dx: s.dqRaw.pointer, rows: rows * c.headCount, n: c.headDim, pool: pool)
                RMSNormOp.backward(dy: s.dk.pointer, x: a.kRaw.pointer, weight: kn.pointer, r: a.rK.pointer,
                                   dx: s.dkRaw.pointer, rows: rows * c.headCountKV, n: c.headDim, pool: pool)
                dqProj = UnsafePointer(s.dqRaw.pointer)
                dkProj = UnsafePointer(s.dkRaw.pointer)
            }
            // Block 0's input is the frozen embedding: its gradient is not needed.
            let needInput = l > 0
            s.dxn.zero(rows * d)
            let dxn = needInput ? s.dxn.pointer : nil
            projectBack(.query, dy: dqProj, input: a.xnAttention, dInput: dxn)
            projectBack(.key, dy: dkProj, input: a.xnAttention, dInput: dxn)
            projectBack(.value, dy: s.dv.pointer, input: a.xnAttention, dInput: dxn)
            if needInput {
                // dx (now ∂L/∂x of block l) += attn_norm backward
                RMSNormOp.backward(dy: s.dxn.pointer, x: xIn, weight: w.attentionNorm.pointer,
                                   r: a.rAttention.pointer, dx: dx, rows: rows, n: d, pool: pool)
            }
        }
    }

    /// ∂L/∂(a block's branch output) given dx = ∂L/∂(residual after it): through the gemma post-norm into
    /// scratch.dBranch when there is one, else dx itself.
    @inline(__always)
    func postNormBackward(_ dx: UnsafeMutablePointer<T>, _ post: TrainingBuffer<T>?, input: TrainingBuffer<T>,
                          r: TrainingBuffer<T>, scratch s: BackwardScratch<T>, rows: Int,
                          pool: ThreadPool?) -> UnsafePointer<T> {
        guard let post else { return UnsafePointer(dx) }
        let d = config.embeddingLength
        s.dBranch.zero(rows * d)
        RMSNormOp.backward(dy: dx, x: input.pointer, weight: post.pointer, r: r.pointer, dx: s.dBranch.pointer,
                           rows: rows, n: d, pool: pool)
        return UnsafePointer(s.dBranch.pointer)
    }

    // MARK: Residual adds

    /// y += x (a residual add whose other input is already in y).
    @inline(__always)
    func add(_ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, _ n: Int) {
        for i in 0..<n { y[i] += x[i] }
    }

    /// y = a + b.
    @inline(__always)
    func sum(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, _ n: Int) {
        for i in 0..<n { y[i] = a[i] + b[i] }
    }
}
