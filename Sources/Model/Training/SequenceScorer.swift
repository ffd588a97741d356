import Foundation
import Kernels

/// Sequence log-probabilities of responses given prompts under the base model plus a LoRA adapter, and their
/// gradient with respect to the adapter's parameters.
///
/// `T` is Float for training and Double for gradient checks. The frozen weights are dequantised once into dense
/// T copies (SmolLM2-135M: about 540 MB in Float); every product is a BLAS call split over the scorer's own
/// thread pool. Pairs are packed row after row (no padding) and each attends only to itself.
///
/// Threads: a batch of several pairs is cut into one shard per thread (balanced by tokens); each thread runs its
/// shard's forward and backward from end to end with single-threaded BLAS, and the shards' gradients are summed.
/// That synchronises the threads once per call instead of once per op (hundreds of times), which matters when
/// other processes share the cores. A single pair runs on all threads op by op.
///
/// Typical step: `forward` (keeps activations) → one or more `backward` calls with ∂L/∂logp per pair (one per
/// objective, say) → the optimiser updates the flat parameters → next `forward`. Reference log-probs are a
/// `logProbabilities` call (no activations kept; it does not disturb the ones a `forward` left for `backward`).
/// Calls are serialised: one at a time per scorer.
public final class SequenceScorer<T: TrainingScalar>: @unchecked Sendable {
    public let config: ModelConfig
    public let pool: ThreadPool
    let graph: TrainingGraph<T>
    /// Keeps the mapped model file alive: the embedding table is looked up in it.
    private let model: TransformerModel
    private let lock = NSLock()
    /// Buffers of each shard slot (one per thread), grown on demand.
    private let slots: [ShardBuffers<T>]
    /// The last training forward, for backward.
    private var last: (shards: [Shard<T>], layout: LoRAParameterLayout, parameters: [T], lengthNormalized: Bool)?

    /// Dequantises `model`'s weights and starts `threads` threads. The model is only read (its embedding table,
    /// in the mapped file); inference on it can go on meanwhile.
    public init(model: TransformerModel, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.model = model
        config = model.config
        pool = ThreadPool(threads: max(1, threads))
        graph = TrainingGraph(config: config, weights: DenseWeights(model.weights, config: config, pool: pool))
        slots = (0..<pool.threadCount).map { _ in ShardBuffers() }
    }

    /// Per pair, Σ_j log π(response_j | prompt, response_<j) (divided by the response length when
    /// `lengthNormalized`), under the base model plus the adapter `parameters` in `layout` (none: the base model).
    /// Forward only: nothing is kept for backward (use it for π_ref).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func logProbabilities(_ pairs: [SequencePair], parameters: [T]? = nil, layout: LoRAParameterLayout? = nil,
                                 lengthNormalized: Bool = false) throws -> [Double] {
        lock.lock()
        defer { lock.unlock() }
        return try score(pairs, parameters, layout, lengthNormalized: lengthNormalized, training: false).logp
    }

    /// As `logProbabilities` with the adapter `parameters` (in `layout`), keeping every activation that
    /// `backward` needs until the next `forward`. The parameters are kept (copy-on-write): the caller may go on
    /// updating its vector.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ pairs: [SequencePair], parameters: [T], layout: LoRAParameterLayout,
                        lengthNormalized: Bool = false) throws -> [Double] {
        lock.lock()
        defer { lock.unlock() }
        last = nil
        let (shards, logp) = try score(pairs, parameters, layout, lengthNormalized: lengthNormalized, training: true)
        last = (shards, layout, parameters, lengthNormalized)
        return logp
    }

    /// Accumulates Σ_s sequenceGradients[s] · ∂logp_s/∂θ into `gradient` (the layout of the last `forward`),
    /// where logp_s is what that `forward` returned for pair s. May be called several times per `forward`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ sequenceGradients: [Double], into gradient: inout [T]) throws {
        try gradient.withUnsafeMutableBufferPointer { g in
            try accumulateBackward(sequenceGradients, scales: nil, into: [g])
        }
    }

    /// Several gradients from one backward pass: gradients[j] += Σ_s scales[j][s] · sequenceGradients[s] · ∂logp_s/∂θ.
    /// Costs about one `backward` whatever the number of destinations (∂L/∂activations is shared; only the LoRA
    /// parameter products are split by pair and destination). The trainer uses it to get every objective's g_i
    /// from one pass: sequenceGradients = ±1 (chosen/rejected), scales[i][s] = ∂L_i/∂Δ of the pair's row.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ sequenceGradients: [Double], scales: [[Double]],
                         into gradients: [UnsafeMutableBufferPointer<T>]) throws {
        guard scales.count == gradients.count else {
            throw TrainingError.layoutMismatch("\(scales.count) scale rows for \(gradients.count) gradients")
        }
        for row in scales where row.count != sequenceGradients.count {
            throw TrainingError.layoutMismatch("\(row.count) scales for \(sequenceGradients.count) pairs")
        }
        try accumulateBackward(sequenceGradients, scales: scales, into: gradients)
    }

    /// Shared body of both `backward`s; `scales` nil means one destination with every factor 1.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func accumulateBackward(_ sequenceGradients: [Double], scales: [[Double]]?,
                                    into gradients: [UnsafeMutableBufferPointer<T>]) throws {
        lock.lock()
        defer { lock.unlock() }
        guard let last else { throw TrainingError.noForward }
        let pairCount = last.shards.reduce(0) { $0 + $1.pairs.count }
        guard sequenceGradients.count == pairCount else {
            throw TrainingError.layoutMismatch("\(sequenceGradients.count) gradients for \(pairCount) pairs")
        }
        for g in gradients where g.count != last.layout.count {
            throw TrainingError.layoutMismatch("gradient has \(g.count) values, layout needs \(last.layout.count)")
        }
        let n = last.layout.count, k = gradients.count
        if n == 0 || k == 0 { return }   // no trainable parameter or nowhere to put it
        let shards = last.shards
        // ∂L/∂logp of each scored row: its pair's gradient (over the response length when normalised).
        for (i, shard) in shards.enumerated() {
            let dLogp = slots[i].scratch!.dLogp.pointer
            for (row, s) in shard.batch.logitSequence.enumerated() {
                let pair = shard.pairs[s]
                dLogp[row] = T(sequenceGradients[pair] / (last.lengthNormalized ? Double(shard.batch.responseLengths[s]) : 1))
            }
        }
        // Several shards each accumulate into their own k vectors ([k × n] per slot), summed at the end.
        if shards.count > 1 {
            for i in shards.indices where (slots[i].gradient?.count ?? 0) < k * n { slots[i].gradient = TrainingBuffer(k * n) }
        }
        last.parameters.withUnsafeBufferPointer { p in
            let view = LoRAView(layout: last.layout, values: p.baseAddress!)
            run(shards.count) { i, opsPool in
                let slot = slots[i], shard = shards[i]
                if shards.count > 1 { slot.gradient!.zero(k * n) }
                let destinations = (0..<k).map { j in
                    GradientDestination<T>(
                        base: shards.count == 1 ? gradients[j].baseAddress! : slot.gradient!.pointer + j * n,
                        sequenceScales: scales.map { rows in shard.pairs.map { T(rows[j][$0]) } })
                }
                graph.backward(shard.batch, rope: shard.rope, lora: view, acts: slot.training!,
                               scratch: slot.scratch!, dLogp: slot.scratch!.dLogp.pointer,
                               destinations: destinations, pool: opsPool)
            }
            if shards.count > 1 {
                let parts = shards.indices.map { slots[$0].gradient!.pointer }
                for j in 0..<k {
                    let out = gradients[j].baseAddress!
                    parallelChunks(n, work: n, pool: pool) { range in
                        for part in parts { for m in range { out[m] += part[j * n + m] } }
                    }
                }
            }
        }
    }

    /// Logits [scored rows × vocab] of the last `forward`, shard after shard (tests compare them with the
    /// inference forward on a single pair).
    func lastLogits() -> [T] {
        guard let last else { return [] }
        return last.shards.indices.flatMap { i in
            Array(UnsafeBufferPointer(start: slots[i].training!.logits.pointer,
                                      count: last.shards[i].batch.logitRows.count * config.vocabularySize))
        }
    }

    /// logp of each scored row of the last `forward`, shard after shard.
    func lastRowLogProbs() -> [Double] {
        guard let last else { return [] }
        return last.shards.indices.flatMap { i in
            (0..<last.shards[i].batch.logitRows.count).map { Double(slots[i].training!.logp.pointer[$0]) }
        }
    }

    // MARK: Helpers

    /// The forward of `logProbabilities` (training false: one block's buffers per shard) and of `forward`
    /// (training true: every activation, in the slots' training buffers). Called with the lock held.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    private func score(_ pairs: [SequencePair], _ parameters: [T]?, _ layout: LoRAParameterLayout?,
                       lengthNormalized: Bool, training: Bool) throws -> (shards: [Shard<T>], logp: [Double]) {
        try check(parameters, layout)
        let shards = try makeShards(pairs)
        for (i, shard) in shards.enumerated() {
            let sizes = shard.sizes(config, rank: layout?.rank ?? 0), slot = slots[i]
            if !training {
                slot.reference = grown(slot.reference, sizes, keepAll: false)
            } else if slot.training.map({ !$0.sizes.fits(sizes) }) ?? true {
                slot.scratch = nil
                slot.training = grown(slot.training, sizes, keepAll: true)
                slot.scratch = BackwardScratch(config: config, sizes: slot.training!.sizes)
            }
        }
        let acts = shards.indices.map { training ? slots[$0].training! : slots[$0].reference! }
        let logp = withView(layout, parameters) { view in
            run(shards.count) { i, opsPool in
                graph.forward(shards[i].batch, rope: shards[i].rope, lora: view, acts: acts[i], pool: opsPool)
            }
            return sums(pairs.count, shards, acts, lengthNormalized: lengthNormalized)
        }
        return (shards, logp)
    }

    /// The pairs cut into at most one shard per thread, balanced by rows (longest first onto the lightest shard).
    private func makeShards(_ pairs: [SequencePair]) throws -> [Shard<T>] {
        // Validates every pair with its own index in the messages.
        _ = try PackedSequences(pairs, vocabulary: config.vocabularySize, context: config.contextLength)
        let count = max(1, min(pool.threadCount, pairs.count))
        var groups = [[Int]](repeating: [], count: count), rows = [Int](repeating: 0, count: count)
        for i in pairs.indices.sorted(by: { pairs[$0].prompt.count + pairs[$0].response.count
                                             > pairs[$1].prompt.count + pairs[$1].response.count }) {
            let lightest = rows.indices.min { rows[$0] < rows[$1] }!
            groups[lightest].append(i)
            rows[lightest] += pairs[i].prompt.count + pairs[i].response.count
        }
        return try groups.filter { !$0.isEmpty }.map { group in
            let members = group.sorted()
            let batch = try PackedSequences(members.map { pairs[$0] }, vocabulary: config.vocabularySize,
                                            context: config.contextLength)
            return Shard(pairs: members, batch: batch, rope: BatchRope(config: config, positions: batch.positions))
        }
    }

    /// Runs body(shard, pool for its ops): one shard uses every thread op by op; several run side by side,
    /// one per thread, each op on its own thread.
    private func run(_ count: Int, _ body: (Int, ThreadPool?) -> Void) {
        if count == 1 { body(0, pool) } else { pool.parallelFor(count) { body($0, nil) } }
    }

    /// `current` when it fits `sizes`, else new activations big enough for both.
    private func grown(_ current: TrainingActivations<T>?, _ sizes: ActivationSizes, keepAll: Bool) -> TrainingActivations<T> {
        if let current, current.sizes.fits(sizes) { return current }
        return TrainingActivations(config: config, sizes: sizes.union(current?.sizes ?? sizes), keepAll: keepAll)
    }

    /// Checks that parameters and layout go together and fit the model.
    private func check(_ parameters: [T]?, _ layout: LoRAParameterLayout?) throws {
        guard let layout else {
            if parameters != nil { throw TrainingError.layoutMismatch("parameters without a layout") }
            return
        }
        guard let parameters, parameters.count == layout.count else {
            throw TrainingError.layoutMismatch("\(parameters?.count ?? 0) parameters, layout needs \(layout.count)")
        }
        for e in layout.entries {
            let (outputs, inputs) = config.projectionShape(e.target.projection)
            guard e.target.layer < config.blockCount, e.inputs == inputs, e.outputs == outputs else {
                throw TrainingError.layoutMismatch("\(e.target) is [\(e.outputs) × \(e.inputs)], model has [\(outputs) × \(inputs)]")
            }
        }
    }

    private func withView<R>(_ layout: LoRAParameterLayout?, _ parameters: [T]?, _ body: (LoRAView<T>?) -> R) -> R {
        guard let layout, let parameters, layout.count > 0 else { return body(nil) }
        return parameters.withUnsafeBufferPointer { body(LoRAView(layout: layout, values: $0.baseAddress!)) }
    }

    /// Per pair, the sum (or mean) of its scored rows' logp, in Double.
    private func sums(_ count: Int, _ shards: [Shard<T>], _ acts: [TrainingActivations<T>], lengthNormalized: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: count)
        for (shard, a) in zip(shards, acts) {
            for (row, s) in shard.batch.logitSequence.enumerated() { out[shard.pairs[s]] += Double(a.logp.pointer[row]) }
            if lengthNormalized {
                for (s, pair) in shard.pairs.enumerated() { out[pair] /= Double(shard.batch.responseLengths[s]) }
            }
        }
        return out
    }
}

/// A part of a batch that one thread runs from end to end.
final class Shard<T: TrainingScalar> {
    let pairs: [Int]              // indices of its pairs in the caller's batch, ascending
    let batch: PackedSequences    // those pairs, packed
    let rope: BatchRope<T>

    init(pairs: [Int], batch: PackedSequences, rope: BatchRope<T>) {
        self.pairs = pairs
        self.batch = batch
        self.rope = rope
    }

    func sizes(_ c: ModelConfig, rank: Int) -> ActivationSizes {
        ActivationSizes(rows: batch.rows,
                        probabilities: batch.spans.reduce(0) { $0 + c.headCount * $1.count * $1.count },
                        logitRows: batch.logitRows.count, rank: rank)
    }
}

/// The buffers of one shard slot, kept across calls.
final class ShardBuffers<T: TrainingScalar> {
    var training: TrainingActivations<T>?   // activations of the last training forward
    var scratch: BackwardScratch<T>?
    var reference: TrainingActivations<T>?  // forward-only activations (one block's worth)
    var gradient: TrainingBuffer<T>?        // [k × P] the shard's own gradients when several shards run
}

extension SequenceScorer where T == Float {
    /// π under `adapter` (nil: the base model), forward only. Convenience for reference log-probs.
    public func logProbabilities(_ pairs: [SequencePair], adapter: LoRAAdapter?,
                                 lengthNormalized: Bool = false) throws -> [Double] {
        guard let adapter else { return try logProbabilities(pairs, parameters: nil, layout: nil, lengthNormalized: lengthNormalized) }
        let layout = LoRAParameterLayout(adapter: adapter)
        return try logProbabilities(pairs, parameters: layout.flatten(adapter), layout: layout,
                                    lengthNormalized: lengthNormalized)
    }
}
