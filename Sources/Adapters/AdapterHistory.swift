#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Why a version's file cannot be kept in, or read from, the history.
public enum AdapterHistoryError: Error, CustomStringConvertible, Equatable {
    case invalidName(String)
    case versionOutOfRange(Int)
    /// A path of the history is a symbolic link or not what it should be (a folder, a regular file).
    case notContained(String)
    case missing(String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let name): return "'\(name)' cannot name a history folder"
        case .versionOutOfRange(let v): return "version \(v) is outside 1...\(AdapterMetadata.maxVersion)"
        case .notContained(let path): return "\(path) is a symbolic link or not a plain folder or file; the history never follows links"
        case .missing(let path): return "\(path) does not exist"
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// Every promoted version's file, kept under `<adapters>/.history/<name>/v<version>.gguf` so that a rollback or a
/// pinned request can serve it again. A hidden folder: the adapters directory's own `*.gguf` files are what the
/// server serves at start, and the history must not be loaded as adapters. Nothing in it is reached through a
/// symbolic link: each folder and file is checked with lstat(2) before it is used, so a link planted in the
/// adapters directory cannot send reads or writes elsewhere.
public struct AdapterHistory: Sendable {
    public static let folderName = ".history"
    /// `adapters.keep_versions`: versions kept per adapter name (the served one always among them).
    public static let keepRange = 1...1000
    public static let defaultKeep = 10

    /// The adapters directory.
    public let directory: String
    public let keepVersions: Int

    public init(directory: String, keepVersions: Int = defaultKeep) throws {
        guard Self.keepRange.contains(keepVersions) else {
            throw AdapterHistoryError.io(path: directory, reason: "keep_versions \(keepVersions) is outside \(Self.keepRange)")
        }
        self.directory = directory
        self.keepVersions = keepVersions
    }

    var root: String { (directory as NSString).appendingPathComponent(Self.folderName) }

    /// `<adapters>/.history/<name>`; refuses names that would leave it ("." and "..", which registry names allow).
    public func folder(for name: String) throws -> String {
        guard AdapterRegistry.isValidName(name), name != ".", name != ".." else { throw AdapterHistoryError.invalidName(name) }
        return (root as NSString).appendingPathComponent(name)
    }

    public func path(name: String, version: Int) throws -> String {
        guard (1...AdapterMetadata.maxVersion).contains(version) else { throw AdapterHistoryError.versionOutOfRange(version) }
        return (try folder(for: name) as NSString).appendingPathComponent("v\(version).gguf")
    }

    /// Copies `source` into the history as `version` of `name` (a temporary file, then a rename), creating the
    /// folders as needed. Returns the kept file's path.
    @discardableResult
    public func keep(_ source: String, name: String, version: Int) throws -> String {
        let destination = try path(name: name, version: version)
        try Self.ensureFolder(root, create: true)
        try Self.ensureFolder(try folder(for: name), create: true)
        try Self.copyAtomically(from: source, to: destination)
        return destination
    }

    /// The kept file of `version`, when it is there as a regular file reached through no symbolic link.
    public func existingFile(name: String, version: Int) throws -> String {
        let file = try path(name: name, version: version)
        try Self.ensureFolder(root, create: false)
        try Self.ensureFolder(try folder(for: name), create: false)
        switch Self.kind(file) {
        case .regular: return file
        case .none: throw AdapterHistoryError.missing(file)
        default: throw AdapterHistoryError.notContained(file)
        }
    }

    /// Deletes a kept file (a missing one is already gone).
    public func remove(name: String, version: Int) throws {
        let file = try path(name: name, version: version)
        for folder in [root, try folder(for: name)] {
            switch Self.kind(folder) {
            case .folder: continue
            case .none: return
            default: throw AdapterHistoryError.notContained(folder)
            }
        }
        guard unlink(file) == 0 || errno == ENOENT else { throw AdapterHistoryError.io(path: file, reason: String(cString: strerror(errno))) }
    }

    /// The versions to prune when `versions` are kept and `active` is served: the oldest, until `keep` remain, never
    /// the served one (so at most `keep` remain, or `keep + 1` when the served version is older than the newest `keep`).
    public static func versionsToPrune(_ versions: [Int], active: Int?, keep: Int) -> [Int] {
        let newestFirst = Set(versions).sorted(by: >)
        guard newestFirst.count > keep else { return [] }
        let kept = Set(newestFirst.prefix(max(keep, 0)))
        return newestFirst.filter { !kept.contains($0) && $0 != active }.sorted()
    }

    /// Writes a copy of `source` at `destination` through a temporary file in its folder and a rename, so a reader
    /// (or a restart) sees the old file or the new one, never half of one; a link at `destination` is replaced,
    /// not followed.
    public static func copyAtomically(from source: String, to destination: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: source))
        } catch {
            throw AdapterHistoryError.io(path: source, reason: "\(error)")
        }
        let folder = (destination as NSString).deletingLastPathComponent
        let temporary = (folder as NSString).appendingPathComponent(".incoming-\(UUID().uuidString).gguf")
        do {
            try data.write(to: URL(fileURLWithPath: temporary), options: [.withoutOverwriting])
            guard rename(temporary, destination) == 0 else {
                throw AdapterHistoryError.io(path: destination, reason: String(cString: strerror(errno)))
            }
        } catch {
            unlink(temporary)
            if let error = error as? AdapterHistoryError { throw error }
            throw AdapterHistoryError.io(path: destination, reason: "\(error)")
        }
    }

    enum Kind { case regular, folder, other }

    /// What is at `path` itself (lstat: a symbolic link is `other`); nil when nothing is.
    static func kind(_ path: String) -> Kind? {
        var status = stat()
        guard !path.utf8.contains(0), lstat(path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .folder
        default: return .other
        }
    }

    /// Checks `path` is a real folder (not a link to one), creating it when asked and missing.
    static func ensureFolder(_ path: String, create: Bool) throws {
        switch kind(path) {
        case .folder: return
        case .none:
            guard create else { throw AdapterHistoryError.missing(path) }
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
                throw AdapterHistoryError.io(path: path, reason: String(cString: strerror(errno)))
            }
            guard kind(path) == .folder else { throw AdapterHistoryError.notContained(path) }
        default: throw AdapterHistoryError.notContained(path)
        }
    }
}
