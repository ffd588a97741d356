import Adapters
import Feedback
import Foundation
import Logging
import Model

/// The server's adapters: the live registry, the trade-off resolver over the configured objectives, and the one
/// directory adapter files may be loaded from (a client names a file in it, never an arbitrary path). With a store,
/// every version served is numbered by the store (durable across restarts) and its file kept in the directory's
/// history (`AdapterHistory`) for rollback and pinning; the catalog's mutations of both (`adopt`, `rollBack`,
/// pruning) run one at a time.
final class AdapterCatalog: @unchecked Sendable {
    let registry: AdapterRegistry
    let resolver: TradeoffResolver
    let directory: String?
    let maxMixture: Int
    let store: FeedbackStore?
    /// nil without a directory or a store: versions are then numbered per process, as before the history existed.
    let history: AdapterHistory?

    private let gate = AsyncGate()
    private let lock = NSLock()
    /// The store's versions by name, mirrored so a request's mixture resolves without waiting for the store.
    private var records: [String: [AdapterVersionRecord]] = [:]
    /// Versions read for pinned requests, most recently used last (at most `maxPinnedVersions`).
    private var pinned: [(key: AdapterVersionKey, version: AdapterVersion)] = []

    /// Older versions held in memory for `model: "<model>:<adapter>@<n>"`: each is an adapter's full tensors, so few.
    static let maxPinnedVersions = 4

    init(registry: AdapterRegistry, objectives: [String], directory: String?, maxMixture: Int, store: FeedbackStore? = nil,
         keepVersions: Int = AdapterHistory.defaultKeep) {
        self.registry = registry
        resolver = TradeoffResolver(objectives: objectives)
        self.directory = directory
        self.maxMixture = maxMixture
        self.store = store
        history = store == nil ? nil : directory.flatMap { try? AdapterHistory(directory: $0, keepVersions: keepVersions) }
    }

    /// Loads every `*.gguf` in the directory (creating it when missing). A file that cannot be used (corrupt,
    /// half-written, for another model) is logged and skipped: it never serves, and the others still do. With the
    /// history, `<name>.gguf` is what serves (promotions and rollbacks rewrite it atomically); its version is the
    /// store's record with the same SHA-256, or a new version recorded now (a file put there by hand).
    func loadDirectory(logger: Logger) async {
        guard let directory else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            logger.error("cannot create the adapters directory \(directory): \(error)")
            return
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
        for file in files {
            let name = String(file.dropLast(5))
            do {
                let path = try containedFile(file)
                let version: AdapterVersion
                if history != nil, AdapterRegistry.isValidName(name) {
                    version = try await gate.run { try await self.serveAtStart(name: name, path: path, logger: logger) }
                } else {
                    version = try registry.load(name: name, path: path)
                }
                logger.info("adapter '\(version.reference)' loaded from \(file): rank \(version.adapter.rank), \(version.adapter.matrices.count) projections")
            } catch {
                logger.error("adapter file \(file) skipped: \(error)")
            }
        }
        await refreshRecords(logger: logger)
    }

    /// `<name>.gguf` at start: served as the version the store recorded for its bytes, or recorded as a new one.
    private func serveAtStart(name: String, path: String, logger: Logger) async throws -> AdapterVersion {
        guard let store, let history else { return try registry.load(name: name, path: path) }
        let (adapter, metadata) = try await runBlocking { try AdapterFile.read(path: path, config: self.registry.config,
                                                                                baseFingerprint: self.registry.baseFingerprint) }
        let digest = try FileDigest.sha256Hex(path: path)
        let known = try await store.adapterVersions(name: name)
        let matching = known.filter { !$0.pruned && $0.sha256 == digest }
        let record: AdapterVersionRecord
        if let found = matching.first(where: \.active) ?? matching.last {
            record = found
            // A record from before the history named the file itself: keep a copy where rollback looks.
            if (try? history.existingFile(name: name, version: found.version)).flatMap({ try? FileDigest.sha256Hex(path: $0) }) != digest {
                let kept = try history.keep(path, name: name, version: found.version)
                try await store.updateAdapterVersionPath(name: name, version: found.version, path: kept)
            }
            if !found.active { try await store.activateAdapterVersion(name: name, version: found.version) }
        } else {
            record = try await recordNewVersion(name: name, file: path, digest: digest, metadata: metadata, jobID: nil)
        }
        // Versions whose kept file is gone can no longer serve: say so in the store.
        let lost = known.filter { !$0.pruned && $0.version != record.version
            && (try? history.existingFile(name: name, version: $0.version)) == nil }.map(\.version)
        if !lost.isEmpty {
            try await store.markAdapterVersionsPruned(name: name, versions: lost)
            logger.warning("adapter '\(name)': versions \(lost) have no file in the history; marked pruned")
        }
        let served = try registry.register(name: name, adapter: adapter, metadata: metadata, source: path, version: record.version)
        try await prune(name: name, served: record.version, logger: logger)
        return served
    }

    /// Serves the adapter file at `path` (in the adapters directory) as the next version of `name`: numbered by the
    /// store, its file kept in the history, recorded as the active version, then swapped in (requests in flight keep
    /// theirs), and the history pruned to `keep_versions`. Without a store, as before: numbered by the registry.
    /// Returns the version now served and the one it replaced.
    func adopt(name: String, path: String, jobID: String? = nil, logger: Logger? = nil) async throws
        -> (served: AdapterVersion, replaced: AdapterVersion?) {
        guard history != nil else {
            let previous = registry.get(name)
            return (try await runBlocking { try self.registry.load(name: name, path: path) }, previous)
        }
        return try await gate.run {
            let (adapter, metadata) = try await runBlocking { try AdapterFile.read(path: path, config: self.registry.config,
                                                                                    baseFingerprint: self.registry.baseFingerprint) }
            let record = try await self.recordNewVersion(name: name, file: path, digest: try FileDigest.sha256Hex(path: path),
                                                         metadata: metadata, jobID: jobID)
            let previous = self.registry.get(name)
            let served = try self.registry.register(name: name, adapter: adapter, metadata: metadata, source: path, version: record.version)
            try await self.prune(name: name, served: record.version, logger: logger)
            await self.refreshRecords(logger: logger)
            return (served, previous)
        }
    }

    /// Keeps `file` in the history as the next version of `name` and records it as the active one.
    private func recordNewVersion(name: String, file: String, digest: String, metadata: AdapterMetadata,
                                  jobID: String?) async throws -> AdapterVersionRecord {
        guard let store, let history else { throw APIError.internalError("adapter versions need a store and an adapters directory") }
        let latest = try await store.latestAdapterVersion(name: name) ?? 0
        guard latest < AdapterMetadata.maxVersion else {
            throw AdapterError.invalidMetadata(key: "raconteur.version", reason: "adapter '\(name)' has used every version number")
        }
        let version = latest + 1
        let kept = try history.keep(file, name: name, version: version)
        let record = AdapterVersionRecord(name: name, version: version, path: kept, sha256: digest, objectives: metadata.objectives,
                                          weights: metadata.weights, method: metadata.method ?? "manual", jobID: jobID,
                                          created: Date(), active: true)
        do {
            try await store.recordAdapterVersion(record)
        } catch {
            try? history.remove(name: name, version: version)
            throw error
        }
        return record
    }

    /// Deletes the oldest kept files of `name` beyond `keep_versions` (never the served one) and marks them pruned.
    private func prune(name: String, served: Int, logger: Logger?) async throws {
        guard let store, let history else { return }
        let live = try await store.adapterVersions(name: name).filter { !$0.pruned }.map(\.version)
        let doomed = AdapterHistory.versionsToPrune(live, active: served, keep: history.keepVersions)
        guard !doomed.isEmpty else { return }
        // The store first: a version marked pruned whose file a crash left behind is only disk, never served.
        try await store.markAdapterVersionsPruned(name: name, versions: doomed)
        for version in doomed {
            do { try history.remove(name: name, version: version) } catch { logger?.warning("adapter '\(name)' v\(version): \(error)") }
        }
        lock.withLock { pinned.removeAll { $0.key.name == name && doomed.contains($0.key.version) } }
        logger?.info("adapter '\(name)': pruned versions \(doomed) (keep_versions \(history.keepVersions))")
    }

    /// Makes version `version` of `name` the served one again: its kept file (checked against the recorded SHA-256)
    /// is read, rewritten atomically as `<name>.gguf` and recorded active, so a restart serves it too; then it swaps
    /// in. Requests in flight finish on the version they pinned. 404 for an unknown name or version, 409 for a
    /// pruned one.
    func rollBack(name: String, to version: Int, logger: Logger? = nil) async throws -> (served: AdapterVersion, replaced: AdapterVersion?) {
        guard let store, let history, let directory else {
            throw APIError(status: .conflict, message: "This server keeps no adapter history (it needs an adapters directory and a store).",
                           type: "invalid_request_error", param: nil, code: "adapter_history_disabled")
        }
        return try await gate.run {
            let known = try await store.adapterVersions(name: name)
            guard !known.isEmpty || self.registry.get(name) != nil else { throw APIError.adapterNotFound(name, param: "id") }
            guard let record = known.first(where: { $0.version == version }) else {
                throw APIError.adapterVersionNotFound(name, version, param: "version", pruned: false)
            }
            guard !record.pruned else { throw APIError.adapterVersionPruned(name, version) }
            let current = self.registry.get(name)
            if let current, current.version == version, record.active { return (current, current) }
            let file: String
            do {
                file = try history.existingFile(name: name, version: version)
                guard try FileDigest.sha256Hex(path: file) == record.sha256 else {
                    throw AdapterHistoryError.io(path: file, reason: "its SHA-256 is not the one recorded")
                }
            } catch {
                throw APIError(status: .conflict, message: "Version \(version) of adapter '\(name)' cannot be served again: \(error).",
                               type: "invalid_request_error", param: "version", code: "adapter_version_unavailable")
            }
            let restored: AdapterVersion
            if let cached = self.cachedPin(name: name, version: version) {
                restored = cached
            } else {
                restored = try await runBlocking { try self.registry.read(name: name, path: file, version: version) }
            }
            try AdapterHistory.copyAtomically(from: file, to: (directory as NSString).appendingPathComponent(name + ".gguf"))
            try await store.activateAdapterVersion(name: name, version: version)
            let replaced = self.registry.serve(restored)
            await self.refreshRecords(logger: logger)
            logger?.notice("adapter '\(name)' rolled back to version \(version) (was \(replaced.map { String($0.version) } ?? "not served"))")
            return (restored, replaced)
        }
    }

    private func cachedPin(name: String, version: Int) -> AdapterVersion? {
        lock.withLock { pinned.first { $0.key == AdapterVersionKey(name: name, version: version) }?.version }
    }

    /// The store's versions of every name, for resolving pins; a failure keeps the previous mirror.
    private func refreshRecords(logger: Logger?) async {
        guard let store else { return }
        do {
            let all = try await store.adapterVersions()
            let byName = Dictionary(grouping: all, by: \.name)
            lock.withLock { records = byName }
        } catch {
            logger?.error("cannot read the adapter versions from the store: \(error)")
        }
    }

    /// The version `model: "<model>:<name>@<version>"` asks for: the served one, a cached one, or its kept file read
    /// now (the least recently used cached pin makes room). 404 for an unknown or pruned version.
    func pinnedVersion(name: String, version: Int) throws -> AdapterVersion {
        if let served = registry.get(name), served.version == version { return served }
        if let cached = lock.withLock({ () -> AdapterVersion? in
            guard let i = pinned.firstIndex(where: { $0.key == AdapterVersionKey(name: name, version: version) }) else { return nil }
            let entry = pinned.remove(at: i)
            pinned.append(entry)
            return entry.version
        }) { return cached }
        let known = lock.withLock { records[name] ?? [] }
        guard !known.isEmpty || registry.get(name) != nil else { throw APIError.adapterNotFound(name, param: "model") }
        guard let record = known.first(where: { $0.version == version }), !record.pruned, let history else {
            let pruned = known.contains { $0.version == version && $0.pruned }
            throw APIError.adapterVersionNotFound(name, version, param: "model", pruned: pruned)
        }
        let loaded: AdapterVersion
        do {
            let file = try history.existingFile(name: name, version: version)
            guard try FileDigest.sha256Hex(path: file) == record.sha256 else {
                throw AdapterHistoryError.io(path: file, reason: "its SHA-256 is not the one recorded")
            }
            loaded = try registry.read(name: name, path: file, version: version)
        } catch {
            throw APIError.adapterVersionNotFound(name, version, param: "model", pruned: false, reason: "\(error)")
        }
        lock.withLock {
            pinned.removeAll { $0.key == record.key }
            pinned.append((record.key, loaded))
            if pinned.count > Self.maxPinnedVersions { pinned.removeFirst(pinned.count - Self.maxPinnedVersions) }
        }
        return loaded
    }

    /// One version as `GET /v1/adapters/{id}/versions` and the metrics report it.
    struct VersionEntry: Sendable {
        var record: AdapterVersionRecord
        var served: Bool
        var quality: AdapterVersionQuality
    }

    /// Every recorded version of `name`, oldest first, with what it served; nil when the name is neither recorded nor
    /// loaded. A name loaded without a store shows its served version alone.
    func versions(of name: String) async throws -> [VersionEntry]? {
        let served = registry.get(name)
        guard let store, history != nil else {
            guard let served else { return nil }
            let record = AdapterVersionRecord(name: name, version: served.version, path: served.source ?? "", sha256: "",
                                              objectives: served.metadata.objectives, weights: served.metadata.weights,
                                              method: served.metadata.method ?? "manual", created: served.loadedAt, active: true)
            return [VersionEntry(record: record, served: true, quality: AdapterVersionQuality())]
        }
        let known = try await store.adapterVersions(name: name)
        guard !known.isEmpty || served != nil else { return nil }
        let quality = try await store.adapterVersionQuality(name: name)
        return known.map { VersionEntry(record: $0, served: $0.version == served?.version, quality: quality[$0.key] ?? AdapterVersionQuality()) }
    }

    /// The versions `/metrics` labels: every name served (at most `ServerMetrics.maxAdapterNames`, by name), each
    /// with its unpruned versions, at most `keep_versions` + 1 (the served one may be older than the newest kept).
    func metricVersions() async -> [VersionEntry] {
        guard let store, history != nil else { return [] }
        let names = registry.all().map(\.name).prefix(ServerMetrics.maxAdapterNames)
        guard !names.isEmpty, let quality = try? await store.adapterVersionQuality() else { return [] }
        let known = lock.withLock { records }
        return names.flatMap { name -> [VersionEntry] in
            let served = registry.get(name)?.version
            return (known[name] ?? []).filter { !$0.pruned }.map {
                VersionEntry(record: $0, served: $0.version == served, quality: quality[$0.key] ?? AdapterVersionQuality())
            }
        }
    }

    /// The file in `directory` a client named: a plain relative path that stays inside the directory.
    func resolveFile(_ path: String) throws -> String {
        guard directory != nil else {
            throw APIError(status: .forbidden, message: "This server has no adapters directory configured, so it loads no adapter files.",
                           type: "invalid_request_error", param: "path", code: "adapter_loading_disabled")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, path.utf8.count <= Self.maxPathBytes, !path.hasPrefix("/"),
              !parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }), path.hasSuffix(".gguf"),
              !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw APIError.invalidValue("path", "Invalid 'path': name a .gguf file inside the server's adapters directory, relative to it "
                                        + "(no '..', no control characters, at most \(Self.maxPathBytes) bytes).")
        }
        do {
            return try containedFile(path)
        } catch AdapterPathError.missing {
            throw APIError(status: .notFound, message: "No adapter file '\(path)' in the adapters directory.",
                           type: "invalid_request_error", param: "path", code: "adapter_file_not_found")
        } catch {
            throw APIError.invalidValue("path", "Invalid 'path': \(error)", code: "invalid_adapter_path")
        }
    }

    static let maxPathBytes = 1024

    enum AdapterPathError: Error, CustomStringConvertible {
        case missing
        case outside
        case notRegular

        var description: String {
            switch self {
            case .missing: return "no such file in the adapters directory"
            case .outside: return "it resolves (through a symbolic link) to a file outside the adapters directory"
            case .notRegular: return "it is not a regular file"
            }
        }
    }

    /// The real path of `relative` inside the adapters directory, after every symbolic link is resolved; a file
    /// that resolves outside the directory, or is not a regular file (a FIFO, a device, a folder), is refused.
    func containedFile(_ relative: String) throws -> String {
        guard let directory, let root = RealPath.resolve(directory) else { throw AdapterPathError.missing }
        guard let resolved = RealPath.resolve((directory as NSString).appendingPathComponent(relative)) else {
            throw AdapterPathError.missing
        }
        guard resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/") else { throw AdapterPathError.outside }
        guard RealPath.isRegularFile(resolved) else { throw AdapterPathError.notRegular }
        return resolved
    }

    /// A request's adapter mixture: from `model: "<base>:<adapter>"`, an explicit `adapters` list, or a `tradeoff`
    /// resolved over the trained weight grid; the base model when none is given. Pins the versions current now.
    func mixture(adapterFromModel: String?, options: GenerationOptions) throws -> AdapterMixture {
        let given = [adapterFromModel != nil, options.adapters != nil, options.tradeoff != nil].filter { $0 }.count
        if given > 1 {
            throw APIError.invalidValue(options.tradeoff != nil && options.adapters != nil ? "adapters" : "model",
                                        "Choose adapters one way: 'tradeoff', 'adapters', or a model id '<model>:<adapter>', not several.",
                                        code: "conflicting_parameters")
        }
        if let reference = adapterFromModel {
            // `<adapter>@<n>` pins version n; adapter names cannot hold '@'.
            let parts = reference.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            if parts.count == 2 {
                let digits = parts[1]
                guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let version = Int(digits),
                      (1...AdapterMetadata.maxVersion).contains(version) else {
                    throw APIError.invalidValue("model", "Invalid 'model': in '<model>:<adapter>@<version>' the version is a whole number from 1 to \(AdapterMetadata.maxVersion).")
                }
                return AdapterMixture(entries: [.init(version: try pinnedVersion(name: name, version: version), scale: 1, pinned: true)])
            }
            guard let version = registry.get(name) else { throw APIError.adapterNotFound(name, param: "model") }
            return AdapterMixture(entries: [.init(version: version, scale: 1)])
        }
        if let choices = options.adapters {
            guard choices.count <= maxMixture else {
                throw APIError.invalidValue("adapters", "Invalid 'adapters': at most \(maxMixture) adapters may be combined, got \(choices.count).")
            }
            var entries: [AdapterMixture.Entry] = []
            for (index, choice) in choices.enumerated() {
                let scale = choice.scale ?? 1
                guard scale.isFinite, abs(scale) <= Self.maxScale else {
                    throw APIError.invalidValue("adapters.\(index).scale", "Invalid 'adapters.\(index).scale': \(scale) must be a finite number in -\(Self.maxScale)...\(Self.maxScale).")
                }
                guard !entries.contains(where: { $0.version.name == choice.id }) else {
                    throw APIError.invalidValue("adapters.\(index).id", "Invalid 'adapters': '\(choice.id)' is listed twice.")
                }
                guard let version = registry.get(choice.id) else { throw APIError.adapterNotFound(choice.id, param: "adapters.\(index).id") }
                entries.append(.init(version: version, scale: scale))
            }
            return AdapterMixture(entries: entries)
        }
        if let tradeoff = options.tradeoff {
            do {
                return try resolver.resolve(tradeoff, available: registry.all())
            } catch let error as AdapterError {
                switch error {
                case .unknownObjective(let name):
                    throw APIError.invalidValue("tradeoff", "Invalid 'tradeoff': unknown objective '\(name)'; this server's objectives are \(resolver.objectives.joined(separator: ", ")).",
                                                code: "unknown_objective")
                default:
                    throw APIError.invalidValue("tradeoff", "Invalid 'tradeoff': \(error).")
                }
            }
        }
        return .base
    }

    /// Largest |scale| a request may give one adapter: enough to extrapolate, not enough to blow up the logits.
    static let maxScale = 8.0
}

extension APIError {
    static func adapterNotFound(_ name: String, param: String) -> APIError {
        APIError(status: .notFound, message: "The adapter '\(name)' is not loaded; GET /v1/adapters lists the adapters served here.",
                 type: "invalid_request_error", param: param, code: "adapter_not_found")
    }

    static func adapterVersionNotFound(_ name: String, _ version: Int, param: String, pruned: Bool, reason: String? = nil) -> APIError {
        let why = pruned ? "was pruned from the history (adapters.keep_versions)" : reason.map { "cannot be read: \($0)" } ?? "does not exist"
        return APIError(status: .notFound,
                        message: "Version \(version) of adapter '\(name)' \(why); GET /v1/adapters/\(name)/versions lists its versions.",
                        type: "invalid_request_error", param: param, code: "adapter_version_not_found")
    }

    static func adapterVersionPruned(_ name: String, _ version: Int) -> APIError {
        APIError(status: .conflict,
                 message: "Version \(version) of adapter '\(name)' was pruned from the history (adapters.keep_versions) and cannot be served again.",
                 type: "invalid_request_error", param: "version", code: "adapter_version_pruned")
    }
}

/// Runs async work one piece at a time, in arrival order (an actor alone would interleave work at each await).
final class AsyncGate: @unchecked Sendable {
    private let lock = NSLock()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        await enter()
        defer { leave() }
        return try await work()
    }

    private func enter() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = lock.withLock { () -> Bool in
                if busy { waiting.append(continuation); return false }
                busy = true
                return true
            }
            if admitted { continuation.resume() }
        }
    }

    private func leave() {
        let next = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            if waiting.isEmpty { busy = false; return nil }
            return waiting.removeFirst()
        }
        next?.resume()
    }
}

/// How a response reports the adapters that produced it (`mixture` beside OpenAI's fields).
struct MixtureReport: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var id: String
        var version: Int
        var scale: Double
        /// True when the request named this version (`<model>:<adapter>@<n>`); left out otherwise.
        var pinned: Bool?
    }
    @EncodedAsNull var tradeoff: [String: Double]?
    var adapters: [Entry]
    var baseModelOnly: Bool
    /// Why the base model served a request that asked for a trade-off.
    var note: String?

    init(_ mixture: AdapterMixture) {
        tradeoff = mixture.tradeoff
        adapters = mixture.entries.map { Entry(id: $0.version.name, version: $0.version.version, scale: $0.scale, pinned: $0.pinned ? true : nil) }
        baseModelOnly = mixture.isBase
        if mixture.isBase, mixture.tradeoff != nil {
            note = "no adapters are trained for these objectives yet: the base model served this request"
        }
    }

    private enum CodingKeys: String, CodingKey { case tradeoff, adapters, baseModelOnly = "base_model_only", note }
}
