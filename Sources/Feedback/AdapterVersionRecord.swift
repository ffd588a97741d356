import Foundation
internal import GRDB

/// One adapter file the store knows: which name and version it serves as, where it is, what trained it.
public struct AdapterVersionRecord: Codable, Sendable, Equatable {
    public var name: String
    /// 1, 2, … per name, durable across restarts.
    public var version: Int
    public var path: String
    /// Hex SHA-256 of the file, checked before loading it.
    public var sha256: String
    public var objectives: [String]
    /// The weight vector it was trained at, one entry per objective.
    public var weights: [Double]
    /// "raco", "dpo-lw", "cagrad", …
    public var method: String
    /// The realignment job that produced it; nil for adapters loaded by hand.
    public var jobID: String?
    /// Stored with millisecond precision.
    public var created: Date
    /// Whether the server should serve this version of `name` (at most one per name).
    public var active: Bool
    /// Whether its file left the history (`adapters.keep_versions`): the number stays taken, it cannot be served.
    public var pruned: Bool

    public init(name: String, version: Int, path: String, sha256: String, objectives: [String], weights: [Double],
                method: String, jobID: String? = nil, created: Date = Date(), active: Bool = false, pruned: Bool = false) {
        self.name = name
        self.version = version
        self.path = path
        self.sha256 = sha256
        self.objectives = objectives
        self.weights = weights
        self.method = method
        self.jobID = jobID
        self.created = created
        self.active = active
        self.pruned = pruned
    }

    public var key: AdapterVersionKey { AdapterVersionKey(name: name, version: version) }

    enum CodingKeys: String, CodingKey {
        case name, version, path, sha256, objectives, weights, method
        case jobID = "job_id"
        case created, active, pruned
    }
}

/// Names one adapter version.
public struct AdapterVersionKey: Codable, Sendable, Hashable {
    public var name: String
    public var version: Int

    public init(name: String, version: Int) {
        self.name = name
        self.version = version
    }
}

extension AdapterVersionRecord {
    static let table = "adapter_version"

    /// Throws `FeedbackStoreError.corruptRow` for a row that cannot be read.
    init(row: Row) throws {
        let name = (try? row.decode(String.self, forColumn: "name")) ?? "(unreadable name)"
        let version = (try? row.decode(Int.self, forColumn: "version")).map(String.init) ?? "?"
        let stored = StoredRow(row, table: Self.table, key: "\(name)@\(version)")
        self.init(
            name: try stored.value("name"),
            version: try stored.value("version"),
            path: try stored.value("path"),
            sha256: try stored.value("sha256"),
            objectives: try stored.json([String].self, "objectives"),
            weights: try stored.json([Double].self, "weights"),
            method: try stored.value("method"),
            jobID: try stored.value("job_id"),
            created: try stored.value("created"),
            active: try stored.value("active"),
            pruned: try stored.value("pruned"))
    }
}
