import Foundation
import Model

/// One immutable version of a named adapter. Requests hold it for their whole generation; replacing or
/// unloading the name never changes it, and it is freed when the last holder lets go.
public final class AdapterVersion: Sendable {
    public let name: String
    /// Serving version: with a store, the number it recorded for this file (durable across restarts, and lower than
    /// the last one after a rollback); without, one more than the name's previous version in this process, or the
    /// file's own `raconteur.version` when that is higher.
    public let version: Int
    public let adapter: LoRAAdapter
    public let metadata: AdapterMetadata
    public let loadedAt: Date
    public let source: String?

    init(name: String, version: Int, adapter: LoRAAdapter, metadata: AdapterMetadata, source: String?) {
        self.name = name
        self.version = version
        self.adapter = adapter
        self.metadata = metadata
        loadedAt = Date()
        self.source = source
    }

    /// `name@version`, how responses report it.
    public var reference: String { "\(name)@\(version)" }
}

/// The adapters a server has loaded, by name. Thread-safe; lookups return immutable versions.
public final class AdapterRegistry: @unchecked Sendable {
    private let lock = NSLock()
    private var current: [String: AdapterVersion] = [:]
    private var lastVersion: [String: Int] = [:]
    public let config: ModelConfig
    public let baseFingerprint: String?

    public init(config: ModelConfig, baseFingerprint: String? = nil) {
        self.config = config
        self.baseFingerprint = baseFingerprint
    }

    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)
        }
    }

    /// Adds `name`, or replaces it with a new version. Returns the version now served. `version` is the number to
    /// serve it as (the store's durable one); without it, one more than the last in this process or the file's own.
    @discardableResult
    public func register(name: String, adapter: LoRAAdapter, metadata: AdapterMetadata, source: String? = nil,
                         version: Int? = nil) throws -> AdapterVersion {
        let v = try makeVersion(name: name, adapter: adapter, metadata: metadata, source: source, version: version)
        lock.lock()
        defer { lock.unlock() }
        let number = version ?? max((lastVersion[name] ?? 0) + 1, metadata.version)
        let served = number == v.version ? v : AdapterVersion(name: name, version: number, adapter: adapter, metadata: metadata, source: source)
        lastVersion[name] = max(lastVersion[name] ?? 0, number)
        current[name] = served
        return served
    }

    /// Loads (or replaces) `name` from an adapter file, checked against the base model.
    @discardableResult
    public func load(name: String, path: String, version: Int? = nil) throws -> AdapterVersion {
        let (adapter, metadata) = try AdapterFile.read(path: path, config: config, baseFingerprint: baseFingerprint)
        return try register(name: name, adapter: adapter, metadata: metadata, source: path, version: version)
    }

    /// A version read from `path` and ready to serve, without serving it under its name: for a request pinned to an
    /// older version (`model: "<model>:<name>@<n>"`) and for a rollback before it swaps in (`serve`).
    public func read(name: String, path: String, version: Int) throws -> AdapterVersion {
        let (adapter, metadata) = try AdapterFile.read(path: path, config: config, baseFingerprint: baseFingerprint)
        return try makeVersion(name: name, adapter: adapter, metadata: metadata, source: path, version: version)
    }

    /// Makes `version` the one served under its name (a rollback: its number may be lower than the last one's).
    /// Requests that pinned the version it replaces keep it.
    @discardableResult
    public func serve(_ version: AdapterVersion) -> AdapterVersion? {
        lock.lock()
        defer { lock.unlock() }
        let previous = current[version.name]
        lastVersion[version.name] = max(lastVersion[version.name] ?? 0, version.version)
        current[version.name] = version
        return previous
    }

    private func makeVersion(name: String, adapter: LoRAAdapter, metadata: AdapterMetadata, source: String?,
                             version: Int?) throws -> AdapterVersion {
        guard Self.isValidName(name) else { throw AdapterError.invalidName(name) }
        try metadata.validate()   // bounds the version, so the arithmetic in `register` cannot overflow
        if let version, !(1...AdapterMetadata.maxVersion).contains(version) {
            throw AdapterError.invalidMetadata(key: AdapterFile.Key.version, reason: "\(version) is outside 1...\(AdapterMetadata.maxVersion)")
        }
        adapter.prepareForServing()   // before it is shared: the forward pass reads the 8-bit copies from now on
        return AdapterVersion(name: name, version: version ?? metadata.version, adapter: adapter, metadata: metadata, source: source)
    }

    /// Loads every `*.gguf` adapter in `directory`, named after the file. Returns the names loaded.
    public func loadDirectory(_ directory: String) throws -> [String] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".gguf") }.sorted()
        return try files.map { f in
            let name = String(f.dropLast(5))
            try load(name: name, path: (directory as NSString).appendingPathComponent(f))
            return name
        }
    }

    @discardableResult
    public func unload(_ name: String) throws -> AdapterVersion {
        lock.lock()
        defer { lock.unlock() }
        guard let v = current.removeValue(forKey: name) else { throw AdapterError.notFound(name) }
        return v
    }

    public func get(_ name: String) -> AdapterVersion? {
        lock.lock()
        defer { lock.unlock() }
        return current[name]
    }

    /// Every loaded adapter's current version, by name.
    public func all() -> [AdapterVersion] {
        lock.lock()
        defer { lock.unlock() }
        return current.values.sorted { $0.name < $1.name }
    }
}
