import Foundation
import GGUF
import Kernels

/// A decoder-only transformer (llama, gemma3, qwen3, qwen2) computing from the quantized weights of a GGUF file.
///
/// Forward passes run one at a time (they share preallocated activations); concurrent callers wait.
public final class TransformerModel: @unchecked Sendable {
    public let config: ModelConfig
    public let file: GGUFFile
    public let pool: ThreadPool
    let weights: ModelWeights
    private var scratch: ForwardScratch
    private let forwardLock = NSLock()

    /// Loads the model at `path`, by default read into memory on huge pages (`FileStorage.resident`): on this
    /// machine decoding from a mapping of the file takes 7 to 12 % longer per token at batch 1.
    public convenience init(path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                            storage: FileStorage = .resident) throws {
        try self.init(file: GGUFFile(path: path, storage: storage), threads: threads)
    }

    public init(file: GGUFFile, threads: Int) throws {
        self.file = file
        config = try ModelConfig(gguf: file)
        weights = try ModelWeights(file: file, config: config)
        pool = ThreadPool(threads: max(1, threads))
        scratch = ForwardScratch(config: config, rows: 1, logitRows: 1)
    }

    public func makeCache(capacity: Int) -> KVCache {
        KVCache(config: config, capacity: min(capacity, config.contextLength))
    }

    /// Runs the batch through the model, appending each row's key and value to its sequence's cache, and
    /// hands `readLogits` the logits of `batch.logitRows`: [logitRows.count × vocabularySize].
    public func forward<R>(_ batch: ForwardBatch, caches: [KVCache],
                           readLogits: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        forwardLock.lock()
        defer { forwardLock.unlock() }
        return try readLogits(try forwardLocked(batch, caches: caches))
    }

    /// `forward` returning a copy of the logits.
    @discardableResult
    public func forward(_ batch: ForwardBatch, caches: [KVCache]) throws -> [Float] {
        try forward(batch, caches: caches) { Array($0) }
    }

    private func forwardLocked(_ batch: ForwardBatch, caches: [KVCache]) throws -> UnsafeBufferPointer<Float> {
        let c = config
        let rows = batch.count
        guard rows > 0 else { return UnsafeBufferPointer(start: scratch.logits, count: 0) }
        // Each sequence's rows must continue its cache without gaps.
        var nextPosition = [Int: Int]()
        for r in 0..<rows {
            let t = batch.tokens[r], p = batch.positions[r], cache = caches[batch.sequences[r]]
            guard t >= 0, t < c.vocabularySize else { throw ModelError.invalidToken(t) }
            guard p >= 0, p < cache.capacity else { throw ModelError.contextOverflow(needed: p + 1, capacity: cache.capacity) }
            let next = nextPosition[batch.sequences[r]] ?? cache.count
            guard p <= next else { throw ModelError.positionGap(position: p, cached: next) }
            nextPosition[batch.sequences[r]] = max(next, p + 1)
        }
        if scratch.rows < rows || scratch.logitRowCapacity < batch.logitRows.count {
            scratch = ForwardScratch(config: c, rows: max(rows, scratch.rows),
                                     logitRows: max(batch.logitRows.count, scratch.logitRowCapacity))
        }
        let s = scratch
        let d = c.embeddingLength

        // x[r] = embed(token[r]) · scale
        for r in 0..<rows {
            weights.tokenEmbedding.dequantizeRow(batch.tokens[r], into: s.x + r * d)
            if c.embeddingScale != 1 { VectorOps.scale(s.x + r * d, c.embeddingScale, d) }
        }
        let rope = RopeTables(config: c, positions: batch.positions)
        let lora = LoRABatchPlan(batch)

        for l in 0..<c.blockCount {
            let w = weights.layers[l]
            // ── attention ──
            for r in 0..<rows {
                VectorOps.rmsNorm(s.x + r * d, w.attentionNorm.data, s.xn + r * d, d, epsilon: c.normEpsilon)
            }
            // q, k and v share their input: q's product computes the LoRA A x of all three (Projection.inputGroups).
            project(w.query, .query, layer: l, x: s.xn, y: s.q, rows: rows, lora: lora)
            project(w.key, .key, layer: l, x: s.xn, y: s.k, rows: rows, lora: lora)
            project(w.value, .value, layer: l, x: s.xn, y: s.v, rows: rows, lora: lora)
            // Biases after the product and its LoRA terms (llama.cpp's build_qkv adds them to build_lora_mm's
            // result): once per row, whatever the row's mixture.
            addBias(w.queryBias, to: s.q, rows: rows)
            addBias(w.keyBias, to: s.k, rows: rows)
            addBias(w.valueBias, to: s.v, rows: rows)
            if let qn = w.queryNorm, let kn = w.keyNorm {
                for h in 0..<(rows * c.headCount) {
                    VectorOps.rmsNorm(s.q + h * c.headDim, qn.data, s.q + h * c.headDim, c.headDim, epsilon: c.normEpsilon)
                }
                for h in 0..<(rows * c.headCountKV) {
                    VectorOps.rmsNorm(s.k + h * c.headDim, kn.data, s.k + h * c.headDim, c.headDim, epsilon: c.normEpsilon)
                }
            }
            let global = c.isGlobalLayer(l)
            rope.apply(to: s.q, rows: rows, heads: c.headCount, headDim: c.headDim, global: global)
            rope.apply(to: s.k, rows: rows, heads: c.headCountKV, headDim: c.headDim, global: global)
            for r in 0..<rows {
                let cache = caches[batch.sequences[r]], p = batch.positions[r]
                HalfVector.round(s.k + r * c.kvDim, into: cache.key(layer: l, position: p), count: c.kvDim)
                HalfVector.round(s.v + r * c.kvValueDim, into: cache.value(layer: l, position: p), count: c.kvValueDim)
            }
            attention(layer: l, global: global, batch: batch, caches: caches, s: s)
            project(w.output, .output, layer: l, x: s.attn, y: s.xn, rows: rows, lora: lora)
            if let post = w.postAttentionNorm {
                for r in 0..<rows { VectorOps.rmsNorm(s.xn + r * d, post.data, s.xn + r * d, d, epsilon: c.normEpsilon) }
            }
            VectorOps.add(s.xn, into: s.x, rows * d)

            // ── feed-forward ──
            for r in 0..<rows {
                VectorOps.rmsNorm(s.x + r * d, w.feedForwardNorm.data, s.xn + r * d, d, epsilon: c.normEpsilon)
            }
            project(w.gate, .gate, layer: l, x: s.xn, y: s.gate, rows: rows, lora: lora)
            project(w.up, .up, layer: l, x: s.xn, y: s.up, rows: rows, lora: lora)
            VectorOps.gatedActivation(s.gate, s.up, rows: rows, c.feedForwardLength, c.activation)
            project(w.down, .down, layer: l, x: s.gate, y: s.xn, rows: rows, lora: lora)
            if let post = w.postFeedForwardNorm {
                for r in 0..<rows { VectorOps.rmsNorm(s.xn + r * d, post.data, s.xn + r * d, d, epsilon: c.normEpsilon) }
            }
            VectorOps.add(s.xn, into: s.x, rows * d)
        }
        for r in 0..<rows {
            let cache = caches[batch.sequences[r]]
            cache.count = max(cache.count, batch.positions[r] + 1)
        }

        // logits of the requested rows: output_norm then the output head
        let n = batch.logitRows.count
        for (i, r) in batch.logitRows.enumerated() {
            VectorOps.rmsNorm(s.x + r * d, weights.outputNorm.data, s.xn + i * d, d, epsilon: c.normEpsilon)
        }
        MatMul.multiply(weights.outputHead, x: s.xn, n: n, y: s.logits, pool: pool)
        return UnsafeBufferPointer(start: s.logits, count: n * c.vocabularySize)
    }

    /// y[R × out] = x[R × in] · Wᵀ, plus each row's adapter mixture: y_r += Σ_j scale_j · (α_j/r_j) · B_j (A_j x_r).
    private func project(_ w: QuantizedMatrix, _ projection: Projection, layer: Int,
                         x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int, lora: LoRABatchPlan?) {
        guard let lora else { return MatMul.multiply(w, x: x, n: rows, y: y, pool: pool) }
        // Both LoRA phases share the base product's dispatch: A x as its prologue, B (A x) per chunk of outputs. The
        // first projection of an input group computes the A x of the whole group; the others only add B (A x).
        // Phase one in a part per thread for a decode step, four per thread for a prompt (longer, where balance
        // matters more), like the chunks of the base rows (MatMul.chunking).
        let downs = Projection.inputGroups.first { $0.lowerBound == projection }
        let parts = downs.map {
            lora.prepareDown(layer: layer, projections: $0.lowerBound.index..<($0.upperBound.index + 1), inputs: w.cols, x: x,
                             parts: pool.threadCount * (rows <= 16 ? 1 : 4))
        } ?? 0
        MatMul.multiply(w, x: x, n: rows, y: y, pool: pool, prologueCount: parts, prologue: lora.multiplyDown(part:),
                        chunkAlignment: LowRank.blockSize,
                        lookahead: { lora.lookahead(layer: layer, projection: projection, columns: $0, share: $1, into: &$2) }) {
            lora.addUp(layer: layer, projection: projection.index, outputs: w.rows, y: y, columns: $0)
        }
    }

    /// y[r] += b for every row of y [R × b.count].
    private func addBias(_ bias: VectorWeight?, to y: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias else { return }
        for r in 0..<rows { VectorOps.add(bias.data, into: y + r * bias.count, bias.count) }
    }

    /// attn[r, h] = softmax(q·Kᵀ · scale) · V over the row's visible positions, one (row, head) per task
    /// (see HeadAttention for the arithmetic).
    private func attention(layer l: Int, global: Bool, batch: ForwardBatch, caches: [KVCache], s: ForwardScratch) {
        let c = config
        let hd = c.headDim, vd = c.valueDim
        let group = c.headCount / c.headCountKV
        let (queryScale, scoreScale) = c.scalesQueryBeforeAttention ? (c.attentionScale, 1) : (1, c.attentionScale)
        let window = global ? nil : c.slidingWindow
        let q = s.q, out = s.attn
        batch.positions.withUnsafeBufferPointer { positions in
            batch.sequences.withUnsafeBufferPointer { sequences in
                pool.parallelFor(batch.count * c.headCount) { task in
                    let r = task / c.headCount, h = task % c.headCount
                    let cache = caches[sequences[r]]
                    let p = positions[r]
                    let kvHead = h / group
                    HeadAttention.attend(
                        query: q + r * c.queryDim + h * hd, queryScale: queryScale, scoreScale: scoreScale,
                        headDim: hd, valueDim: vd,
                        keys: cache.key(layer: l, position: 0) + kvHead * hd, keyStride: cache.keyStride,
                        values: cache.value(layer: l, position: 0) + kvHead * vd, valueStride: cache.valueStride,
                        positions: (window.map { max(0, p - $0 + 1) } ?? 0)...p,
                        out: out + r * c.headCount * vd + h * vd)
                }
            }
        }
    }
}

/// One (row, head) of attention over an F16 cache: online softmax in one pass, with llama.cpp's CPU flash-attention
/// arithmetic (the path of its decode steps): the query rounded to F16 for the F16 dot products, the running Σ p·v
/// kept in F16 and rescaled on a new maximum, the running Σ p in F32. Rounding like this is what makes the logits
/// agree with llama.cpp's bit for bit; every row is computed the same way whatever its batch.
/// Where Σ p·v leaves F16's range (long contexts with large values: llama.cpp then returns inf or NaN), the head is
/// recomputed with the sum kept in F32.
enum HeadAttention {
    /// out[vd] = Σ_t p_t · v_t / Σ_t p_t with p_t = e^(scoreScale · F16(queryScale · q) · k_t − max) over `positions`;
    /// key t at keys + t · keyStride, value t at values + t · valueStride.
    @inline(__always)
    static func attend(query: UnsafePointer<Float>, queryScale: Float, scoreScale: Float, headDim hd: Int,
                       valueDim vd: Int, keys: UnsafePointer<Float16>, keyStride: Int,
                       values: UnsafePointer<Float16>, valueStride: Int, positions: ClosedRange<Int>,
                       out: UnsafeMutablePointer<Float>) {
        withUnsafeTemporaryAllocation(of: Float16.self, capacity: hd + vd) { buffer in
            let query16 = buffer.baseAddress!                 // [hd] the query, in F16
            let weighted = query16 + hd                       // [vd] running Σ p·v, in F16
            HalfVector.round(query, times: queryScale, into: query16, count: hd)
            func softmaxWeights(rescale: (Float) -> Void, add: (_ position: Int, _ weight: Float) -> Void) -> Float {
                onlineSoftmax(query16: query16, scoreScale: scoreScale, headDim: hd, keys: keys, keyStride: keyStride,
                              positions: positions, rescale: rescale, add: add)
            }
            weighted.initialize(repeating: 0, count: vd)
            var sum = softmaxWeights(rescale: { HalfVector.scale(weighted, by: $0, count: vd) },
                                     add: { HalfVector.multiplyAdd(values + $0 * valueStride, $1, into: weighted, count: vd) })
            var finite = true
            for i in 0..<vd where !weighted[i].isFinite { finite = false; break }
            if finite { return HalfVector.widen(weighted, times: 1 / sum, into: out, count: vd) }
            // The same weights, the sum in F32.
            out.initialize(repeating: 0, count: vd)
            sum = softmaxWeights(rescale: { VectorOps.scale(out, $0, vd) },
                                 add: { HalfVector.multiplyAdd(values + $0 * valueStride, $1, into: out, count: vd) })
            VectorOps.scale(out, 1 / sum, vd)
        }
    }

    /// One pass of online softmax over the keys: `rescale(e^(old max − new max))` when the maximum grows, then
    /// `add(t, e^(score_t − max))` for every position t; returns Σ p (as llama.cpp sums it: S·ms + vs, fused).
    @inline(__always)
    static func onlineSoftmax(query16: UnsafePointer<Float16>, scoreScale: Float, headDim hd: Int,
                              keys: UnsafePointer<Float16>, keyStride: Int, positions: ClosedRange<Int>,
                              rescale: (Float) -> Void, add: (_ position: Int, _ weight: Float) -> Void) -> Float {
        var maxScore = -Float.infinity, sum: Float = 0
        for t in positions {
            let score = HalfVector.dot(query16, keys + t * keyStride, count: hd) * scoreScale
            var ratio: Float = 1, weight: Float = 1
            if score > maxScore {
                ratio = expf(maxScore - score)
                rescale(ratio)
                maxScore = score
            } else {
                weight = expf(score - maxScore)
            }
            add(t, weight)
            sum = weight.addingProduct(sum, ratio)
        }
        return sum
    }
}

/// Activations of one forward pass, allocated once for the largest batch seen.
final class ForwardScratch {
    let rows: Int
    let logitRowCapacity: Int
    let x, xn, q, k, v, attn, gate, up, logits: UnsafeMutablePointer<Float>

    init(config c: ModelConfig, rows: Int, logitRows: Int) {
        self.rows = rows
        logitRowCapacity = logitRows
        let d = c.embeddingLength
        x = .allocate(capacity: rows * d)                       // [R × d] residual stream
        xn = .allocate(capacity: max(rows, logitRows) * d)      // [R × d] normed input / block outputs
        q = .allocate(capacity: rows * c.queryDim)              // [R × heads·hd]
        k = .allocate(capacity: rows * c.kvDim)                 // [R × kvHeads·hd]
        v = .allocate(capacity: rows * c.kvValueDim)            // [R × kvHeads·vd]
        attn = .allocate(capacity: rows * c.headCount * c.valueDim) // [R × heads·vd]
        gate = .allocate(capacity: rows * c.feedForwardLength)  // [R × ffn]
        up = .allocate(capacity: rows * c.feedForwardLength)    // [R × ffn]
        logits = .allocate(capacity: logitRows * c.vocabularySize) // [L × vocab]
    }

    deinit {
        for p in [x, xn, q, k, v, attn, gate, up, logits] { p.deallocate() }
    }
}

/// cos/sin of every row's position for the local and global RoPE bases.
struct RopeTables {
    let half: Int                     // rotated pairs per head
    let globalCos, globalSin: [Float] // [R × half]
    let localCos, localSin: [Float]   // [R × half], or empty when the bases agree
    let style: RopeStyle

    init(config c: ModelConfig, positions: [Int]) {
        let half = c.ropeDimensionCount / 2
        self.half = half
        style = c.ropeStyle
        // θ_i = p · base^(−2i/dims), computed as llama.cpp computes it (in Float, each θ the previous one times
        // base^(−2/dims)), so that the rotated q and k, and the rounding of everything after them, match its own.
        func tables(base: Float) -> ([Float], [Float]) {
            var cosT = [Float](repeating: 0, count: positions.count * half)
            var sinT = cosT
            let thetaScale = powf(base, -2 / Float(c.ropeDimensionCount))
            for (r, p) in positions.enumerated() {
                var theta = Float(p)
                for i in 0..<half {
                    cosT[r * half + i] = cosf(theta)
                    sinT[r * half + i] = sinf(theta)
                    theta *= thetaScale
                }
            }
            return (cosT, sinT)
        }
        let global = tables(base: c.ropeFreqBase)
        globalCos = global.0
        globalSin = global.1
        if let localBase = c.ropeFreqBaseLocal, localBase != c.ropeFreqBase {
            let local = tables(base: localBase)
            localCos = local.0
            localSin = local.1
        } else {
            localCos = []
            localSin = []
        }
    }

    /// Rotates every head of every row in place: x is [R × heads × headDim].
    func apply(to x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int, global: Bool) {
        let useLocal = !global && !localCos.isEmpty
        let cosT = useLocal ? localCos : globalCos, sinT = useLocal ? localSin : globalSin
        let pairOffset = style == .adjacentPairs ? 1 : half
        let stride = style == .adjacentPairs ? 2 : 1
        cosT.withUnsafeBufferPointer { cb in
            sinT.withUnsafeBufferPointer { sb in
                for r in 0..<rows {
                    let cr = cb.baseAddress! + r * half, sr = sb.baseAddress! + r * half
                    for h in 0..<heads {
                        let v = x + (r * heads + h) * headDim
                        for i in 0..<half {
                            let a = v[i * stride], b = v[i * stride + pairOffset]
                            // fused as GCC contracts llama.cpp's `x0*cos - x1*sin` and `x0*sin + x1*cos`
                            v[i * stride] = (-(b * sr[i])).addingProduct(a, cr[i])
                            v[i * stride + pairOffset] = (b * cr[i]).addingProduct(a, sr[i])
                        }
                    }
                }
            }
        }
    }
}
