import Foundation
import Kernels

/// Sequence log-probabilities of responses given prompts under the base model plus a LoRA adapter, and their
/// gradient with respect to the adapter's parameters.
///
/// `T` is Float for training and Double for gradient checks. The frozen weights are dequantised once into dense
/// T copies (SmolLM2-135M: about 540 MB in Float); every product is a BLAS call split over the scorer's own
/// thread pool. Pairs are packed row after row (no padding) and each attends only to itself.
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

    // Training pass state, kept from `forward` for `backward`.
    private var trainingActivations: TrainingActivations<T>?
    private var scratch: BackwardScratch<T>?
    private var referenceActivations: TrainingActivations<T>?
    private var last: (batch: PackedSequences, rope: BatchRope<T>, layout: LoRAParameterLayout,
                       parameters: [T], lengthNormalized: Bool)?

    /// Dequantises `model`'s weights and starts `threads` threads. The model is only read (its embedding table,
    /// in the mapped file); inference on it can go on meanwhile.
    public init(model: TransformerModel, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.model = model
        config = model.config
        pool = ThreadPool(threads: max(1, threads))
        graph = TrainingGraph(config: config, weights: DenseWeights(model.weights, config: config, pool: pool),
                              pool: pool)
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
        let batch = try pack(pairs)
        let rope = BatchRope<T>(config: config, positions: batch.positions)
        let lora = try view(parameters, layout)
        let sizes = self.sizes(batch, rank: layout?.rank ?? 0)
        if referenceActivations.map({ !$0.sizes.fits(sizes) }) ?? true {
            let grown = sizes.union(referenceActivations?.sizes ?? sizes)
            referenceActivations = nil
            referenceActivations = TrainingActivations(config: config, sizes: grown, keepAll: false)
        }
        return withView(lora, parameters) { view in
            graph.forward(batch, rope: rope, lora: view, acts: referenceActivations!)
            return sums(batch, referenceActivations!, lengthNormalized: lengthNormalized)
        }
    }

    /// As `logProbabilities` with the adapter `parameters` (in `layout`), keeping every activation that
    /// `backward` needs until the next `forward`. The parameters are copied: the caller may update its vector.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward(_ pairs: [SequencePair], parameters: [T], layout: LoRAParameterLayout,
                        lengthNormalized: Bool = false) throws -> [Double] {
        lock.lock()
        defer { lock.unlock() }
        let batch = try pack(pairs)
        let rope = BatchRope<T>(config: config, positions: batch.positions)
        _ = try view(parameters, layout)
        let sizes = self.sizes(batch, rank: layout.rank)
        if trainingActivations.map({ !$0.sizes.fits(sizes) }) ?? true {
            let grown = sizes.union(trainingActivations?.sizes ?? sizes)
            trainingActivations = nil
            scratch = nil
            trainingActivations = TrainingActivations(config: config, sizes: grown, keepAll: true)
            scratch = BackwardScratch(config: config, sizes: grown)
        }
        last = (batch, rope, layout, parameters, lengthNormalized)
        return withView(layout, parameters) { view in
            graph.forward(batch, rope: rope, lora: view, acts: trainingActivations!)
            return sums(batch, trainingActivations!, lengthNormalized: lengthNormalized)
        }
    }

    /// Accumulates Σ_s sequenceGradients[s] · ∂logp_s/∂θ into `gradient` (the layout of the last `forward`),
    /// where logp_s is what that `forward` returned for pair s. May be called several times per `forward`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward(_ sequenceGradients: [Double], into gradient: inout [T]) throws {
        lock.lock()
        defer { lock.unlock() }
        guard let last, let acts = trainingActivations, let scratch else { throw TrainingError.noForward }
        guard sequenceGradients.count == last.batch.spans.count else {
            throw TrainingError.layoutMismatch("\(sequenceGradients.count) gradients for \(last.batch.spans.count) pairs")
        }
        guard gradient.count == last.layout.count else {
            throw TrainingError.layoutMismatch("gradient has \(gradient.count) values, layout needs \(last.layout.count)")
        }
        if last.layout.count == 0 { return }   // no trainable parameter
        // ∂L/∂logp of each scored row: its pair's gradient (over the response length when normalised).
        let batch = last.batch
        for (i, s) in batch.logitSequence.enumerated() {
            let g = sequenceGradients[s] / (last.lengthNormalized ? Double(batch.responseLengths[s]) : 1)
            scratch.dLogp.pointer[i] = T(g)
        }
        last.parameters.withUnsafeBufferPointer { p in
            gradient.withUnsafeMutableBufferPointer { g in
                graph.backward(batch, rope: last.rope, lora: LoRAView(layout: last.layout, values: p.baseAddress!),
                               acts: acts, scratch: scratch, dLogp: scratch.dLogp.pointer, gradient: g.baseAddress!)
            }
        }
    }

    /// Logits [scored rows × vocab] of the last `forward` (tests compare them with the inference forward).
    func lastLogits() -> [T] {
        guard let last, let acts = trainingActivations else { return [] }
        return Array(UnsafeBufferPointer(start: acts.logits.pointer, count: last.batch.logitRows.count * config.vocabularySize))
    }

    /// logp of each scored row of the last `forward`.
    func lastRowLogProbs() -> [Double] {
        guard let last, let acts = trainingActivations else { return [] }
        return (0..<last.batch.logitRows.count).map { Double(acts.logp.pointer[$0]) }
    }

    // MARK: Helpers

    private func pack(_ pairs: [SequencePair]) throws -> PackedSequences {
        try PackedSequences(pairs, vocabulary: config.vocabularySize, context: config.contextLength)
    }

    private func sizes(_ batch: PackedSequences, rank: Int) -> ActivationSizes {
        ActivationSizes(rows: batch.rows,
                        probabilities: batch.spans.reduce(0) { $0 + config.headCount * $1.count * $1.count },
                        logitRows: batch.logitRows.count, rank: rank)
    }

    /// Checks that parameters and layout go together and fit the model.
    @discardableResult
    private func view(_ parameters: [T]?, _ layout: LoRAParameterLayout?) throws -> LoRAParameterLayout? {
        guard let layout else {
            if parameters != nil { throw TrainingError.layoutMismatch("parameters without a layout") }
            return nil
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
        return layout
    }

    private func withView<R>(_ layout: LoRAParameterLayout?, _ parameters: [T]?, _ body: (LoRAView<T>?) -> R) -> R {
        guard let layout, let parameters, layout.count > 0 else { return body(nil) }
        return parameters.withUnsafeBufferPointer { body(LoRAView(layout: layout, values: $0.baseAddress!)) }
    }

    /// Per pair, the sum (or mean) of its scored rows' logp, in Double.
    private func sums(_ batch: PackedSequences, _ acts: TrainingActivations<T>, lengthNormalized: Bool) -> [Double] {
        var out = [Double](repeating: 0, count: batch.spans.count)
        for (i, s) in batch.logitSequence.enumerated() { out[s] += Double(acts.logp.pointer[i]) }
        if lengthNormalized {
            for s in out.indices { out[s] /= Double(batch.responseLengths[s]) }
        }
        return out
    }
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
