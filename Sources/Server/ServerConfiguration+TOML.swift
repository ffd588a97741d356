import Foundation
import TOMLKit

extension ServerConfiguration {
    /// The defaults with every value the TOML document sets. Unknown keys are errors, so a typo is not silently ignored.
    public init(toml: String) throws {
        let file: ConfigurationFile
        do {
            file = try TOMLDecoder(strictDecoding: true).decode(ConfigurationFile.self, from: toml)
        } catch let error as TOMLParseError {
            throw ConfigurationError("invalid TOML at line \(error.source.begin.line): \(error.description)")
        } catch let error as UnexpectedKeysError {
            let keys = error.keys.values.map { path in path.map(\.stringValue).joined(separator: ".") }.sorted()
            throw ConfigurationError("unknown configuration keys: \(keys.joined(separator: ", "))")
        } catch let error as DecodingError {
            throw ConfigurationError("invalid configuration: \(Self.describe(error))")
        }
        self.init()
        try file.apply(to: &self)
    }

    /// TOMLKit reports a value of the wrong type as a missing key whose coding path already ends with that key.
    private static func describe(_ error: DecodingError) -> String {
        if case let .keyNotFound(key, context) = error, context.codingPath.last?.stringValue == key.stringValue {
            return "'\(DecodingError.dottedPath(context.codingPath) ?? key.stringValue)' has the wrong type"
        }
        return error.readableDescription
    }

    /// `init(toml:)` on the contents of a file.
    public init(contentsOfFile path: String) throws {
        // Reading a FIFO or a device would block or never end.
        guard RealPath.isRegularFile(path), let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the configuration file \(path)")
        }
        do {
            try self.init(toml: String(decoding: data, as: UTF8.self))
        } catch let error as ConfigurationError {
            throw ConfigurationError("\(path): \(error.description)")
        }
    }
}

/// The layout of `configs/raconteur.toml`; every key is optional and falls back to the default.
private struct ConfigurationFile: Decodable {
    struct ModelSection: Decodable {
        var path: String?
        var name: String?
        var threads: Int?
        var context: Int?
        var mmap: Bool?
        var chatTemplate: String?

        private enum CodingKeys: String, CodingKey { case path, name, threads, context, mmap, chatTemplate = "chat_template" }
    }
    struct ServerSection: Decodable {
        var host: String?
        var port: Int?
        var apiKeysFile: String?
        var allowedHosts: [String]?
        var corsOrigins: [String]?
        var idleTimeout: Number?
        var readTimeout: Number?

        private enum CodingKeys: String, CodingKey {
            case host, port, apiKeysFile = "api_keys_file", allowedHosts = "allowed_hosts", corsOrigins = "cors_origins"
            case idleTimeout = "idle_timeout", readTimeout = "read_timeout"
        }
    }
    struct LimitsSection: Decodable {
        var maxBatch: Int?
        var queue: Int?
        var maxBodyBytes: Int?
        var maxTokens: Int?
        var maxChoices: Int?
        var requestTimeout: Number?

        private enum CodingKeys: String, CodingKey {
            case queue
            case maxBatch = "max_batch", maxBodyBytes = "max_body_bytes", maxTokens = "max_tokens"
            case maxChoices = "max_choices", requestTimeout = "request_timeout"
        }
    }
    /// A TOML integer or float: TOMLKit decodes neither as the other.
    struct Number: Decodable {
        var value: Double

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let integer = try? container.decode(Int.self) {
                value = Double(integer)
            } else {
                value = try container.decode(Double.self)
            }
        }
    }
    struct StoreSection: Decodable {
        var path: String?
        var keepDays: Int?

        private enum CodingKeys: String, CodingKey {
            case path, keepDays = "keep_days"
        }
    }
    struct AdaptersSection: Decodable {
        var directory: String?
        var maxMixture: Int?
        var keepVersions: Int?

        private enum CodingKeys: String, CodingKey { case directory, maxMixture = "max_mixture", keepVersions = "keep_versions" }
    }

    struct RealignSection: Decodable {
        var method: String?
        var gridPoints: Int?
        var steps: Int?
        var minPairs: Int?
        var autoAfterPairs: Int?
        var threads: Int?
        var maxPause: Number?
        var rank: Int?
        var learningRate: Number?
        var beta: Number?
        var c: Number?
        var batchSize: Int?
        var heldOut: Number?
        var maxTokens: Int?
        var seed: Int?
        var starter: Bool?
        var starterSteps: Int?

        private enum CodingKeys: String, CodingKey {
            case method, steps, threads, rank, beta, c, seed, starter
            case starterSteps = "starter_steps"
            case gridPoints = "grid_points", minPairs = "min_pairs", autoAfterPairs = "auto_after_pairs"
            case maxPause = "max_pause", learningRate = "learning_rate", batchSize = "batch_size"
            case heldOut = "held_out", maxTokens = "max_tokens"
        }

        /// The job settings through the checks a `POST /v1/realign` body goes through; then the server's own.
        func apply(to r: inout RealignSettings) throws {
            let overrides = RealignOverrides(method: method, steps: steps, minPairs: minPairs, learningRate: learningRate?.value,
                                             beta: beta?.value, c: c?.value, rank: rank, batchSize: batchSize,
                                             heldOut: heldOut?.value, seed: seed)
            do {
                try overrides.apply(to: &r)
            } catch {
                throw ConfigurationError("realign.\(error.field): \(error.message)")
            }
            if let gridPoints { r.gridPoints = gridPoints }
            if let autoAfterPairs { r.autoAfterPairs = autoAfterPairs }
            if let threads { r.training.threads = threads }
            if let maxPause { r.maxPauseSeconds = maxPause.value }
            if let maxTokens { r.training.maxTokensPerSequence = maxTokens }
            if let starter { r.starter = starter }
            if let starterSteps { r.starterSteps = starterSteps }
        }
    }

    var model: ModelSection?
    var realign: RealignSection?
    var server: ServerSection?
    var limits: LimitsSection?
    var store: StoreSection?
    var adapters: AdaptersSection?
    var objectives: [ServerConfiguration.Objective]?

    func apply(to configuration: inout ServerConfiguration) throws {
        if let value = model?.path { configuration.modelPath = value }
        if let value = model?.name { configuration.modelName = value.isEmpty ? nil : value }
        if let value = model?.threads { configuration.threads = value }
        if let value = model?.context { configuration.contextLimit = value }
        if let value = model?.mmap { configuration.modelStorage = value ? .mapped : .resident }
        if let value = model?.chatTemplate { configuration.chatTemplatePath = value }
        if let value = server?.host { configuration.host = value }
        if let value = server?.port { configuration.port = value }
        if let value = server?.apiKeysFile { configuration.apiKeysFile = value.isEmpty ? nil : value }
        if let value = server?.allowedHosts { configuration.allowedHosts = value }
        if let value = server?.corsOrigins { configuration.corsOrigins = value }
        if let value = server?.idleTimeout { configuration.idleTimeout = value.value }
        if let value = server?.readTimeout { configuration.readTimeout = value.value }
        if let value = limits?.maxBatch { configuration.maxBatch = value }
        if let value = limits?.queue { configuration.maxQueued = value }
        if let value = limits?.maxBodyBytes { configuration.maxBodyBytes = value }
        if let value = limits?.maxTokens { configuration.maxTokensCap = value }
        if let value = limits?.maxChoices { configuration.maxChoices = value }
        if let value = limits?.requestTimeout { configuration.requestTimeout = value.value }
        if let value = store?.path { configuration.storePath = value }
        if let value = store?.keepDays { configuration.keepDays = value }
        if let value = adapters?.directory { configuration.adaptersDirectory = value.isEmpty ? nil : value }
        if let value = adapters?.maxMixture { configuration.maxMixtureAdapters = value }
        if let value = adapters?.keepVersions { configuration.keepVersions = value }
        if let value = objectives { configuration.objectives = value }
        try realign?.apply(to: &configuration.realign)
    }
}
