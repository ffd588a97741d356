import Foundation
import Model
import Tokenizers

/// What a running generation reports, in order: `.token`s, at most one `.text`, then one `.finished`.
public enum GenerationEvent: Sendable {
    /// One sampled token, the text it completed (possibly empty), and its logprobs when asked for.
    case token(id: Int, text: String, logprobs: TokenLogprobs?)
    /// Text held back until the end (an incomplete character, or a tail that might have begun a stop sequence).
    case text(String)
    case finished(FinishReason, Usage)
}

public struct Usage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    /// Seconds from admission to the first sampled token.
    public var timeToFirstToken: Double
}

public enum SchedulerError: Error, CustomStringConvertible, Equatable {
    case queueFull(limit: Int)
    case promptTooLong(tokens: Int, limit: Int)
    case emptyPrompt
    case shutDown

    public var description: String {
        switch self {
        case .queueFull(let n): return "the server is busy: \(n) requests are already waiting"
        case .promptTooLong(let n, let limit): return "the prompt has \(n) tokens; the context holds \(limit)"
        case .emptyPrompt: return "the prompt is empty"
        case .shutDown: return "the scheduler has shut down"
        }
    }
}

/// Continuous batching: sequences join between decode steps and every step runs all active sequences
/// (prefill chunks and single decode tokens together) through one batched forward pass.
public final class Scheduler: @unchecked Sendable {
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    public let maxActive: Int
    public let maxQueued: Int
    /// Rows of prompt fed per step across all prefilling sequences: bounds the latency a long prompt adds
    /// to the other sequences' next token.
    public let prefillBudget: Int
    public let contextLimit: Int

    private let lock = NSCondition()
    private var queue: [ActiveSequence] = []
    private var active: [ActiveSequence] = []
    private var running = true
    private var thread: Thread?
    private var nextID = 0

    public struct Statistics: Sendable {
        public var steps = 0
        public var rowsProcessed = 0
        public var lastBatchSequences = 0
        public var maxBatchSequences = 0
        /// Steps whose batch held sequences with at least two different adapter mixtures (the base model counts as one).
        public var mixedMixtureSteps = 0
        public var maxDistinctMixtures = 0
        public var queued = 0
        public var active = 0
    }
    private var stats = Statistics()
    public var statistics: Statistics {
        lock.lock(); defer { lock.unlock() }
        var s = stats
        s.queued = queue.count
        s.active = active.count
        return s
    }
    /// What one step computed, for metrics.
    public struct StepReport: Sendable {
        public var sequences: Int
        public var rows: Int
        /// Different adapter mixtures among the step's sequences (the base model counts as one).
        public var distinctMixtures: Int
        public var seconds: Double
    }
    /// Called on the scheduler thread after every step.
    public var onStep: (@Sendable (StepReport) -> Void)?

    public init(model: TransformerModel, tokenizer: Tokenizer, maxActive: Int = 8, maxQueued: Int = 64,
                prefillBudget: Int = 256, contextLimit: Int? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.maxActive = max(1, maxActive)
        self.maxQueued = max(0, maxQueued)
        self.prefillBudget = max(1, prefillBudget)
        self.contextLimit = min(contextLimit ?? model.config.contextLength, model.config.contextLength)
        let t = Thread { [weak self] in self?.loop() }
        t.name = "raconteur-scheduler"
        t.qualityOfService = .userInitiated
        thread = t
        t.start()
    }

    deinit { shutdown() }

    /// Stops the loop; waiting and running generations finish with `.cancelled`.
    public func shutdown() {
        lock.lock()
        running = false
        lock.broadcast()
        lock.unlock()
    }

    /// Queues a generation. The stream ends after `.finished`; dropping the stream's consumer cancels it.
    public func submit(_ request: GenerationRequest) throws -> AsyncStream<GenerationEvent> {
        guard !request.promptTokens.isEmpty else { throw SchedulerError.emptyPrompt }
        guard request.promptTokens.count < contextLimit else {
            throw SchedulerError.promptTooLong(tokens: request.promptTokens.count, limit: contextLimit)
        }
        if let bad = request.promptTokens.first(where: { $0 < 0 || $0 >= model.config.vocabularySize }) {
            throw ModelError.invalidToken(bad)
        }
        let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream()
        lock.lock()
        defer { lock.unlock() }
        guard running else { throw SchedulerError.shutDown }
        // Free batch slots count as room too, but only once: the loop may not have admitted earlier submissions yet.
        guard queue.count < maxQueued + max(0, maxActive - active.count) else { throw SchedulerError.queueFull(limit: maxQueued) }
        nextID += 1
        let seq = ActiveSequence(id: nextID, request: request, continuation: continuation, tokenizer: tokenizer,
                                 capacity: min(contextLimit, request.promptTokens.count + max(1, request.maxTokens)))
        continuation.onTermination = { [weak seq] _ in seq?.cancelled.store(true) }
        queue.append(seq)
        lock.signal()
        return stream
    }

    // MARK: the loop (scheduler thread only)

    private func loop() {
        while true {
            lock.lock()
            while running && queue.isEmpty && active.isEmpty { lock.wait() }
            if !running {
                let all = queue + active
                queue.removeAll(); active.removeAll()
                lock.unlock()
                for s in all { s.state.end(.cancelled); s.finish() }
                return
            }
            while active.count < maxActive, !queue.isEmpty { admit(queue.removeFirst()) }
            let batchSequences = active
            lock.unlock()
            step(batchSequences)
        }
    }

    private func admit(_ seq: ActiveSequence) {
        seq.cache = model.makeCache(capacity: seq.state.capacity)
        seq.admittedAt = DispatchTime.now().uptimeNanoseconds
        active.append(seq)
    }

    private func step(_ sequences: [ActiveSequence]) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var batch = ForwardBatch()
        var caches: [KVCache] = []
        var sampled: [ActiveSequence] = []    // sequences that get logits this step, in logitRows order
        var fed: [ActiveSequence] = []        // every sequence with rows in this step
        var budget = prefillBudget
        var mixtures: [[MixtureKey]] = []
        for seq in sequences {
            if seq.cancelled.load() { seq.state.end(.cancelled); continue }
            guard let cache = seq.cache else { continue }
            let slot = caches.count
            if seq.fed < seq.request.promptTokens.count {
                guard budget > 0 else { continue }
                let take = min(budget, seq.request.promptTokens.count - seq.fed)
                let chunk = seq.request.promptTokens[seq.fed..<(seq.fed + take)]
                let last = seq.fed + take == seq.request.promptTokens.count
                batch.append(sequence: slot, tokens: chunk, startingAt: seq.fed, logitsForLast: last,
                             adapters: seq.request.adapters)
                seq.fed += take
                budget -= take
                if last { sampled.append(seq) }
            } else if let token = seq.state.pendingToken {
                batch.append(sequence: slot, tokens: [token], startingAt: cache.count, logitsForLast: true,
                             adapters: seq.request.adapters)
                sampled.append(seq)
            } else {
                continue
            }
            caches.append(cache)
            fed.append(seq)
            let key = seq.request.adapters.map(MixtureKey.init)
            if !mixtures.contains(key) { mixtures.append(key) }
        }
        if batch.count > 0 {
            do {
                let vocab = model.config.vocabularySize
                try model.forward(batch, caches: caches) { logits in
                    for (i, seq) in sampled.enumerated() {
                        seq.consume(UnsafeBufferPointer(rebasing: logits[(i * vocab)..<((i + 1) * vocab)]))
                    }
                }
            } catch {
                // Every sequence in a failed step ends with `error`, which the server reports as such.
                for seq in fed { seq.state.end(.error) }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        lock.lock()
        active.removeAll { seq in
            guard seq.state.finishReason != nil else { return false }
            seq.finish()
            return true
        }
        stats.steps += 1
        stats.rowsProcessed += batch.count
        stats.lastBatchSequences = caches.count
        stats.maxBatchSequences = max(stats.maxBatchSequences, caches.count)
        if mixtures.count > 1 { stats.mixedMixtureSteps += 1 }
        stats.maxDistinctMixtures = max(stats.maxDistinctMixtures, mixtures.count)
        lock.unlock()
        onStep?(StepReport(sequences: caches.count, rows: batch.count, distinctMixtures: mixtures.count, seconds: seconds))
    }
}

/// An adapter term by identity and scale: two rows with equal keys use the same mixture.
private struct MixtureKey: Equatable {
    let adapter: ObjectIdentifier
    let scale: Float
    init(_ term: AdapterTerm) {
        adapter = ObjectIdentifier(term.adapter)
        scale = term.scale
    }
}

/// One generation in flight (scheduler thread only, except `cancelled`): its cache, how much of its prompt is fed,
/// and its `DecodeState`.
private final class ActiveSequence {
    let id: Int
    let request: GenerationRequest
    let continuation: AsyncStream<GenerationEvent>.Continuation
    let cancelled = AtomicFlag()
    var cache: KVCache?
    var fed = 0                 // prompt tokens already in the cache
    var state: DecodeState
    var admittedAt: UInt64 = 0
    var firstTokenAt: UInt64 = 0

    init(id: Int, request: GenerationRequest, continuation: AsyncStream<GenerationEvent>.Continuation, tokenizer: Tokenizer,
         capacity: Int) {
        self.id = id
        self.request = request
        self.continuation = continuation
        state = DecodeState(request: request, tokenizer: tokenizer, capacity: capacity)
    }

    /// Samples from this sequence's logits row and reports the token.
    func consume(_ logits: UnsafeBufferPointer<Float>) {
        guard let step = state.consume(logits) else { return }
        if firstTokenAt == 0 { firstTokenAt = DispatchTime.now().uptimeNanoseconds }
        continuation.yield(.token(id: step.token, text: step.text, logprobs: step.logprobs))
    }

    func finish() {
        let (rest, reason) = state.close()
        if !rest.isEmpty { continuation.yield(.text(rest)) }
        let ttft = firstTokenAt == 0 ? 0 : Double(firstTokenAt - admittedAt) / 1e9
        continuation.yield(.finished(reason, Usage(promptTokens: request.promptTokens.count, completionTokens: state.generated,
                                                   timeToFirstToken: ttft)))
        continuation.finish()
        cache = nil
    }
}

/// A Bool that the consumer's cancellation sets from another thread.
final class AtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func store(_ v: Bool) { lock.lock(); value = v; lock.unlock() }
    func load() -> Bool { lock.lock(); defer { lock.unlock() }; return value }
}
