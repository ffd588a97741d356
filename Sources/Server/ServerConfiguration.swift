import Foundation
import GGUF

/// Everything the server needs to start: read from `configs/raconteur.toml`, then overridden by flags.
public struct ServerConfiguration: Sendable, Equatable {
    /// Path of the GGUF model to serve.
    public var modelPath: String
    /// The id clients send as `model`; nil means the model file's name without `.gguf`.
    public var modelName: String?
    /// Worker threads for the forward pass; 0 means every core.
    public var threads: Int
    /// Tokens per sequence (prompt + completion), capped by the model's own context length.
    public var contextLimit: Int
    /// Where the model's weights live: read into memory on huge pages, or a mapping of the file (`FileStorage`).
    public var modelStorage: FileStorage

    public var host: String
    public var port: Int
    /// One key per line; nil (or a file with no keys) leaves the server open, and then on loopback only.
    public var apiKeysFile: String?
    /// Keys accepted as `Authorization: Bearer <key>`, read from `apiKeysFile` by `loadAPIKeys()`.
    public var apiKeys: Set<String>

    /// Sequences decoded together in one batched forward pass.
    public var maxBatch: Int
    /// Requests that may wait for a free batch slot; beyond that a request is answered 429.
    public var maxQueued: Int
    /// Largest request body accepted; larger ones are answered 413.
    public var maxBodyBytes: Int
    /// Upper bound on a request's `max_tokens`.
    public var maxTokensCap: Int
    /// Upper bound on `n` times the number of prompts in one request.
    public var maxChoices: Int
    /// Seconds a request may take from arrival to its last token; then it is cancelled and answered 504.
    public var requestTimeout: Double

    /// Feedback store: completions, preference pairs, realignment jobs.
    public var storePath: String
    /// Alignment objectives a request's `tradeoff` may name.
    public var objectives: [Objective]
    /// Adapters loaded at start (every `*.gguf` in it) and the only place `POST /v1/adapters` loads from; nil: none.
    public var adaptersDirectory: String?
    /// Most adapters one request's mixture may combine.
    public var maxMixtureAdapters: Int
    /// Re-alignment from feedback: method, grid, budget, policy.
    public var realign = RealignSettings()

    public struct Objective: Sendable, Equatable, Codable {
        public var name: String
        public var description: String

        public init(name: String, description: String = "") {
            self.name = name
            self.description = description
        }

        private enum CodingKeys: String, CodingKey { case name, description }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            description = try container.decodeIfPresent(String.self, forKey: .description) ?? ""
        }
    }

    public init(
        modelPath: String = "models/SmolLM2-135M-Instruct.Q4_1.gguf",
        modelName: String? = nil,
        threads: Int = 0,
        contextLimit: Int = 2048,
        modelStorage: FileStorage = .resident,
        host: String = "127.0.0.1",
        port: Int = 8080,
        apiKeysFile: String? = nil,
        apiKeys: Set<String> = [],
        maxBatch: Int = 8,
        maxQueued: Int = 64,
        maxBodyBytes: Int = 1 << 20,
        maxTokensCap: Int = 2048,
        maxChoices: Int = 16,
        requestTimeout: Double = 300,
        storePath: String = "data/raconteur.sqlite",
        objectives: [Objective] = [Objective(name: "concise"), Objective(name: "detailed")],
        adaptersDirectory: String? = "data/adapters",
        maxMixtureAdapters: Int = 4
    ) {
        self.modelPath = modelPath
        self.modelName = modelName
        self.threads = threads
        self.contextLimit = contextLimit
        self.modelStorage = modelStorage
        self.host = host
        self.port = port
        self.apiKeysFile = apiKeysFile
        self.apiKeys = apiKeys
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
        self.maxBodyBytes = maxBodyBytes
        self.maxTokensCap = maxTokensCap
        self.maxChoices = maxChoices
        self.requestTimeout = requestTimeout
        self.storePath = storePath
        self.objectives = objectives
        self.adaptersDirectory = adaptersDirectory
        self.maxMixtureAdapters = maxMixtureAdapters
    }

    /// The id the server answers to in `model` and lists in `/v1/models`.
    public var servedModelID: String {
        if let modelName, !modelName.isEmpty { return modelName }
        let file = URL(fileURLWithPath: modelPath).lastPathComponent
        return file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
    }

    /// Threads to give the model: `threads`, or every core when it is 0.
    public var effectiveThreads: Int {
        threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
    }

    /// Whether no key is required (then the server must listen on loopback only).
    public var isOpen: Bool { apiKeys.isEmpty }

    /// Checks the values a typo or a bad flag could make nonsensical.
    public func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw ConfigurationError(message) }
        }
        try require(!modelPath.isEmpty, "model path is empty")
        try require(threads >= 0, "threads must be 0 (all cores) or more")
        try require(contextLimit >= 2, "context must be at least 2 tokens")
        try require((0...65535).contains(port), "port must be in 0...65535")
        try require(maxBatch >= 1, "max_batch must be at least 1")
        try require(maxQueued >= 0, "queue must be at least 0")
        try require(maxBodyBytes >= 1024, "max_body_bytes must be at least 1024")
        try require(maxTokensCap >= 1, "max_tokens must be at least 1")
        try require(maxChoices >= 1, "max_choices must be at least 1")
        try require(requestTimeout > 0, "request_timeout must be positive")
        try require(maxMixtureAdapters >= 1, "adapters.max_mixture must be at least 1")
        try realign.validate()
        let names = objectives.map(\.name)
        try require(Set(names).count == names.count, "objective names must be unique")
        try require(!names.contains(""), "an objective needs a name")
        try require(names.allSatisfy(Self.isValidObjectiveName), "objective names are letters, digits, '-' and '_' (at most 64)")
    }

    static func isValidObjectiveName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
    }

    /// Reads `apiKeysFile` into `apiKeys`: one key per line; blank lines and lines starting with # are skipped.
    public mutating func loadAPIKeys() throws {
        guard let path = apiKeysFile, !path.isEmpty else { return }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the API keys file \(path)")
        }
        apiKeys = Self.parseAPIKeys(String(decoding: data, as: UTF8.self))
    }

    static func parseAPIKeys(_ text: String) -> Set<String> {
        var keys = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            let key = line.trimmingCharacters(in: .whitespaces)
            if !key.isEmpty && !key.hasPrefix("#") { keys.insert(key) }
        }
        return keys
    }
}

/// A configuration that cannot be used, with a message that says which value is wrong.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}
