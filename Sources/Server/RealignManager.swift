import Adapters
import Alignment
import Dispatch
import Feedback
import Foundation
import Logging
import Model

/// What `POST /v1/realign` may set: the weight grid and the job's settings (`RealignOverrides`, whose fields stand
/// at the body's top level beside `weights`); anything left out comes from the configuration's `[realign]`.
struct RealignRequest: Codable, Sendable, IntegerFields {
    var weights: [[Double]]?
    var overrides = RealignOverrides()

    private enum CodingKeys: String, CodingKey {
        case weights
    }

    static let integerFields = RealignOverrides.integerFields

    init(weights: [[Double]]? = nil, overrides: RealignOverrides = RealignOverrides()) {
        self.weights = weights
        self.overrides = overrides
    }

    init(from decoder: Decoder) throws {
        weights = try decoder.container(keyedBy: CodingKeys.self).decodeIfPresent([[Double]].self, forKey: .weights)
        overrides = try RealignOverrides(from: decoder)
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(weights, forKey: .weights)
        try overrides.encode(to: encoder)
    }
}

/// Runs realignment jobs: one at a time, in the background, on the served model. A job trains one adapter per
/// weight vector of the grid with the alignment module on the logged feedback (starting from the adapters being
/// served), promotes each new version only if it does not lose held-out preference accuracy, writes it atomically
/// into the adapters directory and hot-swaps it in. Training yields to live requests between micro-batches.
final class RealignManager: @unchecked Sendable {
    let store: FeedbackStore
    let host: ModelHost
    let configuration: ServerConfiguration
    let logger: Logger

    private let lock = NSLock()
    /// The job this process runs, with its cancel flag and latest progress.
    private var current: (id: String, cancel: CancelFlag, progress: AlignmentProgress?)?
    private var policyCheckRunning = false

    init(store: FeedbackStore, host: ModelHost, configuration: ServerConfiguration, logger: Logger) {
        self.store = store
        self.host = host
        self.configuration = configuration
        self.logger = logger
        waitForTheModelThenStartTheStarter()
    }

    /// The server listens before the model has loaded; the starter decision needs the model, so it waits for it.
    /// The wait holds the manager weakly: a server that is torn down before its model loads ends it.
    private func waitForTheModelThenStartTheStarter() {
        Task { [weak self] in
            while let ready = self?.host.isReady {
                if ready {
                    await self?.startStarterIfFitting()
                    return
                }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    var objectives: [String] { configuration.objectives.map(\.name) }

    /// The job's settings: the request over the configuration's defaults, validated (400 naming the field).
    func resolve(_ request: RealignRequest) throws -> (settings: RealignSettings, weights: [[Double]]) {
        var s = configuration.realign
        do {
            try request.overrides.apply(to: &s)
        } catch {
            throw APIError.invalidValue(error.field, "Invalid '\(error.field)': \(error.message)")
        }
        let weights = request.weights ?? s.grid(objectives: objectives.count)
        guard !weights.isEmpty, weights.count <= 16 else {
            throw APIError.invalidValue("weights", "Invalid 'weights': give 1 to 16 weight vectors.")
        }
        // The trainer's own rule (count, finite non-negative entries, a positive finite sum), answered as a 400.
        let normalised = try weights.enumerated().map { i, w in
            do {
                return try AlignmentTrainer.normalised(weights: w, objectiveCount: objectives.count)
            } catch {
                throw APIError.invalidValue("weights.\(i)",
                                            "Invalid 'weights.\(i)': \(error) (objectives: \(objectives.joined(separator: ", "))).")
            }
        }
        return (s, normalised)
    }

    /// What a job trains on.
    enum TrainingData {
        /// Every preference pair in the feedback store.
        case storedFeedback
        /// A bundled starter set, handed to the trainer directly: users' stored feedback stays theirs alone (the
        /// export, the pair counts and `auto_after_pairs` never see these rows).
        case starter(StarterSet)
    }

    /// Queues a job and starts it; 409 when one is active or there is too little feedback.
    func start(_ request: RealignRequest) async throws -> RealignJob {
        let (settings, weights) = try resolve(request)
        let engine = try host.engine()
        let pairs = try await store.feedbackCount()
        guard pairs >= settings.minPairs else {
            throw APIError(status: .conflict, message: "Not enough feedback to realign: \(pairs) preference pair(s) stored, the job needs at least \(settings.minPairs) ('min_pairs').",
                           type: "invalid_request_error", param: "min_pairs", code: "not_enough_feedback")
        }
        return try await launch(request, settings: settings, weights: weights, data: .storedFeedback, engine: engine)
    }

    /// At start-up, once the model is loaded: a starter job when `StarterGrid.decide` says one fits (nil otherwise,
    /// with the reason logged). An ordinary job in every other way: stored, listed, cancellable.
    @discardableResult
    func startStarterIfFitting() async -> RealignJob? {
        guard let engine = try? host.engine() else { return nil }
        let situation = StarterGrid.Situation(enabled: configuration.realign.starter,
                                              adaptersDirectory: engine.adapters.directory ?? configuration.adaptersDirectory,
                                              objectives: objectives,
                                              modelFingerprint: BaseModelFingerprint.of(engine.served.model.file))
        let (decision, chosen) = StarterGrid.decide(situation)
        guard case .start = decision, let set = chosen else {
            if case .skip(let reason) = decision { logger.info("no starter realign job: \(reason)") }
            return nil
        }
        let settings = StarterGrid.settings(from: configuration.realign)
        let request = RealignRequest(overrides: RealignOverrides(settings))
        do {
            let job = try await launch(request, settings: settings, weights: settings.grid(objectives: objectives.count),
                                       data: .starter(set), engine: engine)
            logger.notice("starter realign job \(job.id) started on the bundled set \(set.id); until it promotes, trade-offs are answered by the base model (\"base_model_only\": true)")
            return job
        } catch {
            logger.warning("the starter realign job did not start: \(error)")
            return nil
        }
    }

    /// Stores the job with its resolved request (a starter job's also names its set) and runs it on its own thread.
    private func launch(_ request: RealignRequest, settings: RealignSettings, weights: [[Double]], data: TrainingData,
                        engine: InferenceEngine) async throws -> RealignJob {
        var resolved = request
        resolved.overrides.method = settings.method
        resolved.weights = weights
        resolved.overrides.steps = settings.training.steps
        resolved.overrides.minPairs = settings.minPairs
        var stored = try JSONValue(encoding: resolved)
        if case .starter(let set) = data, case .object(var fields) = stored {
            fields["starter"] = .string(set.id)
            stored = .object(fields)
        }
        let job: RealignJob
        do {
            job = try await store.createJob(request: stored)
        } catch let error as FeedbackError {
            throw APIError(error)
        }
        let cancel = CancelFlag()
        lock.withLock { current = (job.id, cancel, nil) }
        let thread = Thread { [self] in run(job: job, settings: settings, weights: weights, data: data, engine: engine, cancel: cancel) }
        thread.name = "raconteur-realign"
        thread.qualityOfService = .utility
        thread.start()
        return job
    }

    /// Asks a job to stop; it ends as `cancelled` at its next micro-batch. 409 when it already ended.
    func cancel(_ id: String) async throws -> RealignJob {
        guard let job = try await store.job(id: id) else { throw APIError(FeedbackError.unknownJob(id: id)) }
        guard job.state.isActive else { throw APIError(FeedbackError.jobStateConflict(id: id, state: job.state, action: "cancel")) }
        lock.withLock { if current?.id == id { current?.cancel.set() } }
        return job
    }

    /// The stored job, with the live progress of a running one.
    func job(_ id: String) async throws -> (RealignJob, AlignmentProgress?) {
        guard let job = try await store.job(id: id) else { throw APIError(FeedbackError.unknownJob(id: id)) }
        let live = lock.withLock { current?.id == id ? current?.progress : nil }
        return (job, live)
    }

    /// The policy: after `auto_after_pairs` new pairs since the last job's data, start a job with the defaults.
    func feedbackArrived() async {
        let threshold = configuration.realign.autoAfterPairs
        guard threshold > 0, host.isReady else { return }
        let proceed = lock.withLock { () -> Bool in
            guard current == nil, !policyCheckRunning else { return false }
            policyCheckRunning = true
            return true
        }
        guard proceed else { return }
        defer { lock.withLock { policyCheckRunning = false } }
        do {
            // Counted from the newest job whatever its outcome, so a job that fails is not retried on every pair.
            let since = try await store.jobs(limit: 1).first?.feedbackThroughSequence ?? 0
            let fresh = try await store.feedbackCount(afterSequence: since)
            guard fresh >= threshold, try await store.activeJob() == nil else { return }
            let job = try await start(RealignRequest())
            logger.notice("realign job \(job.id) started by policy: \(fresh) new preference pairs")
        } catch {
            logger.debug("realign policy did not start a job: \(error)")
        }
    }

    // MARK: the job (its own thread)

    private func run(job: RealignJob, settings: RealignSettings, weights: [[Double]], data: TrainingData, engine: InferenceEngine,
                     cancel: CancelFlag) {
        let started = Date()
        defer { lock.withLock { if current?.id == job.id { current = nil } } }
        do {
            let records: [PreferenceRecord]
            switch data {
            case .storedFeedback:
                let pairs = try blocking { try await self.store.allPreferences() }
                try blocking { try await self.store.markRunning(job.id, pairsUsed: pairs.count, feedbackThroughSequence: pairs.last?.sequence ?? 0) }
                records = pairs.map { PreferenceRecord(prompt: $0.prompt, chosen: $0.chosen, rejected: $0.rejected, labels: $0.labels) }
            case .starter(let set):
                records = try set.records()
                // Through sequence 0: every stored pair still counts as new for `auto_after_pairs`.
                try blocking { try await self.store.markRunning(job.id, pairsUsed: records.count, feedbackThroughSequence: 0) }
            }
            logger.notice("realign job \(job.id): \(settings.method) on \(records.count) pairs, \(weights.count) weight vectors, \(settings.training.steps) steps each")
            var hyper = settings.training
            hyper.alpha = Double(2 * hyper.rank)
            hyper.warmupSteps = min(hyper.warmupSteps, max(0, hyper.steps / 5))
            let method = CombinationMethod(rawValue: settings.method) ?? .raco
            let trainer = try AlignmentTrainer(model: engine.served.model, tokenizer: engine.served.tokenizer, objectives: objectives,
                                               method: method, hyperparameters: hyper, records: records,
                                               chatTemplate: engine.served.chatTemplate)
            // Each grid point continues from the adapter it replaces (which is then also its reference policy).
            let names = weights.map { Self.adapterName(objectives: objectives, weights: $0) }
            let initial: [LoRAAdapter?] = names.map { name in
                guard let served = engine.adapters.registry.get(name)?.adapter, served.rank == hyper.rank,
                      Set(served.matrices.keys.map(\.projection.rawValue)) == Set(hyper.projections) else { return nil }
                return served
            }
            var lastSaved = Date.distantPast
            let maxPause = settings.maxPauseSeconds
            let scheduler = engine.scheduler
            let control = AlignmentControl(isCancelled: { cancel.isSet }, pause: {
                // Live requests first: wait while any is queued or generating, up to max_pause.
                let deadline = Date().addingTimeInterval(maxPause)
                while !cancel.isSet, Date() < deadline {
                    let s = scheduler.statistics
                    if s.active == 0 && s.queued == 0 { break }
                    usleep(2_000)
                }
            })
            let result = try trainer.train(weights: weights, initialAdapters: initial, control: control) { [self] progress in
                lock.withLock { if current?.id == job.id { current?.progress = progress } }
                if Date().timeIntervalSince(lastSaved) > 2, let value = try? JSONValue(encoding: progress) {
                    lastSaved = Date()
                    _ = try? blocking { try await self.store.updateProgress(job.id, progress: value) }
                }
            }
            let outcome = try promote(result, trainer: trainer, names: names, weights: weights, job: job, engine: engine)
            let report = JobReport(training: result.report, promoted: outcome.promoted, kept: outcome.kept,
                                   seconds: Date().timeIntervalSince(started))
            try blocking { try await self.store.finish(job.id, state: .succeeded, report: try JSONValue(encoding: report)) }
            logger.notice("realign job \(job.id) succeeded in \(Int(report.seconds)) s: promoted \(outcome.promoted.map(\.id)), kept \(outcome.kept)")
        } catch AlignmentTrainingError.cancelled {
            _ = try? blocking { try await self.store.finish(job.id, state: .cancelled, error: "cancelled on request") }
            logger.notice("realign job \(job.id) cancelled")
        } catch {
            _ = try? blocking { try await self.store.finish(job.id, state: .failed, error: "\(error)") }
            logger.error("realign job \(job.id) failed: \(error)")
        }
    }

    struct PromotedAdapter: Codable {
        var id: String
        var version: Int
        var weights: [Double]
        var file: String
    }

    struct JobReport: Codable {
        var training: AlignmentReport
        var promoted: [PromotedAdapter]
        /// Grid points whose new adapter lost held-out preference accuracy: the served version stays.
        var kept: [String]
        var seconds: Double
    }

    /// Writes and swaps in every adapter that does not regress: how often it ranks a held-out pair the way the
    /// labels do (log π(A|x) − log π(B|x) against the label's sign), weighted by its w, is at least how often the
    /// policy it started from (the version being served, or the base model) does.
    private func promote(_ result: AlignmentResult, trainer: AlignmentTrainer, names: [String], weights: [[Double]],
                         job: RealignJob, engine: InferenceEngine) throws -> (promoted: [PromotedAdapter], kept: [String]) {
        guard let directory = engine.adapters.directory else {
            throw APIError.internalError("no adapters directory is configured, so new adapters cannot be stored")
        }
        var promoted: [PromotedAdapter] = [], kept: [String] = []
        let catalog = engine.adapters, jobID = job.id, logger = logger
        for (i, run) in result.report.runs.enumerated() {
            let gain = objectives.enumerated().reduce(0.0) { sum, item in
                let (k, name) = item
                guard let after = run.heldOutLogRatioAccuracyAfter[name], let before = run.heldOutLogRatioAccuracyBefore[name] else {
                    return sum
                }
                return sum + weights[i][k] * (after - before)
            }
            guard gain >= -1e-9 else { kept.append(names[i]); continue }
            // The file carries the number the store will give it (the catalog numbers versions one at a time).
            let version = (try blocking { try await self.store.latestAdapterVersion(name: names[i]) } ?? 0) + 1
            let path = (directory as NSString).appendingPathComponent(names[i] + ".gguf")
            try AdapterFile.write(result.adapters[i], metadata: trainer.metadata(weights: weights[i], version: version),
                                  architecture: engine.served.model.config.architecture.rawValue, to: path)
            // Kept in the history, recorded as the active version of its name, swapped in, older versions pruned.
            let name = names[i]
            let served = try blocking { try await catalog.adopt(name: name, path: path, jobID: jobID, logger: logger).served }
            promoted.append(PromotedAdapter(id: names[i], version: served.version, weights: weights[i], file: names[i] + ".gguf"))
        }
        return (promoted, kept)
    }

    /// The registry name of a grid adapter: its file name without `.gguf`.
    static func adapterName(objectives: [String], weights: [Double]) -> String {
        let file = AlignmentTrainer.adapterFileName(objectives: objectives, weights: weights)
        return file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
    }

    static func sha256(_ path: String) throws -> String {
        try FileDigest.sha256Hex(path: path)
    }
}

/// A flag one thread sets and another reads.
final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// The result of async work, handed from the task that ran it to the thread that waits.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// Runs async work from a plain thread (the job's) and waits for it.
@discardableResult
func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>(), done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}
