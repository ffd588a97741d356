import Foundation
import Adapters
import GGUF
import Tokenizers

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
    /// A Jinja chat template file that replaces the model file's own `tokenizer.chat_template`.
    public var chatTemplatePath: String?
    /// The text of `chatTemplatePath`, read and parsed by `loadChatTemplate()`.
    public var chatTemplateSource: String?

    public var host: String
    public var port: Int
    /// One key per line; nil (or a file with no keys) leaves the server open, and then on loopback only.
    public var apiKeysFile: String?
    /// Keys accepted as `Authorization: Bearer <key>`, with their ids, scopes and rate limits, read from
    /// `apiKeysFile` by `loadAPIKeys()` (format: `APIKeyFile`).
    public var apiKeys: [APIKey]

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
    /// Retention: completions with no feedback are deleted this many days after they were made (nil: kept).
    public var keepDays: Int?
    /// Alignment objectives a request's `tradeoff` may name.
    public var objectives: [Objective]
    /// Adapters loaded at start (every `*.gguf` in it) and the only place `POST /v1/adapters` loads from; nil: none.
    public var adaptersDirectory: String?
    /// Most adapters one request's mixture may combine.
    public var maxMixtureAdapters: Int
    /// Promoted versions kept per adapter name in the adapters directory's history (`AdapterHistory`), for rollback
    /// and pinning; older files are deleted and their versions marked pruned. The served version is always kept.
    public var keepVersions = 10
    /// Re-alignment from feedback: method, grid, budget, policy.
    public var realign = RealignSettings()

    /// Host names (`Host` header, port ignored) the server answers besides IP addresses and `localhost`, which it
    /// always answers; `*` answers any. A name outside the list is refused: a page on another site that resolves its
    /// own name to this machine (DNS rebinding) would otherwise read and write the API from the user's browser.
    public var allowedHosts: [String] = []
    /// Origins (`https://app.example.com`) whose pages may call the API from a browser (CORS); `*` allows any.
    /// Empty: only pages served by this server itself.
    public var corsOrigins: [String] = []
    /// Seconds a connection may sit with no request in progress (including one whose headers trickle in).
    public var idleTimeout: Double = 60
    /// Seconds from a request's headers to the end of its body.
    public var readTimeout: Double = 30

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
        apiKeys: [APIKey] = [],
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
        // Upper bounds too: each value sizes threads, buffers or queues, so a typo must not become an allocation.
        try require(!modelPath.isEmpty, "model path is empty")
        try require(!modelPath.contains("\0") && !storePath.contains("\0") && !(chatTemplatePath?.contains("\0") ?? false),
                    "paths must not contain NUL")
        try require(chatTemplatePath.map { !$0.isEmpty } ?? true, "model.chat_template is empty")
        try require((0...Limits.threads).contains(threads), "threads must be 0 (all cores) to \(Limits.threads)")
        try require((2...Limits.context).contains(contextLimit), "context must be 2 to \(Limits.context) tokens")
        try require((0...65535).contains(port), "port must be in 0...65535")
        try require(keepDays.map { (1...36_500).contains($0) } ?? true, "store.keep_days must be 1 to 36500 (or absent: keep)")
        try require((1...Limits.batch).contains(maxBatch), "max_batch must be 1 to \(Limits.batch)")
        try require((0...Limits.queue).contains(maxQueued), "queue must be 0 to \(Limits.queue)")
        try require((1024...Limits.bodyBytes).contains(maxBodyBytes), "max_body_bytes must be 1024 to \(Limits.bodyBytes)")
        try require((1...Limits.context).contains(maxTokensCap), "max_tokens must be 1 to \(Limits.context)")
        try require((1...Limits.choices).contains(maxChoices), "max_choices must be 1 to \(Limits.choices)")
        try require(requestTimeout.isFinite && requestTimeout > 0 && requestTimeout <= Limits.seconds,
                    "request_timeout must be more than 0 and at most \(Int(Limits.seconds)) seconds")
        try require(idleTimeout.isFinite && idleTimeout > 0 && idleTimeout <= Limits.seconds,
                    "idle_timeout must be more than 0 and at most \(Int(Limits.seconds)) seconds")
        try require(readTimeout.isFinite && readTimeout > 0 && readTimeout <= Limits.seconds,
                    "read_timeout must be more than 0 and at most \(Int(Limits.seconds)) seconds")
        try require((1...Limits.mixture).contains(maxMixtureAdapters), "adapters.max_mixture must be 1 to \(Limits.mixture)")
        try require(AdapterHistory.keepRange.contains(keepVersions),
                    "adapters.keep_versions must be \(AdapterHistory.keepRange.lowerBound) to \(AdapterHistory.keepRange.upperBound)")
        try require(allowedHosts.allSatisfy { !$0.isEmpty && $0.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F } },
                    "server.allowed_hosts: each entry is a host name or address without spaces")
        try require(corsOrigins.allSatisfy { $0 == "*" || OriginPolicy.isSerialisedOrigin($0) },
                    "server.cors_origins: each entry is an origin such as https://app.example.com (scheme, host, optional port) or *")
        try realign.validate()
        // The one rule adapters and the trainer apply too; a server may have no objectives at all.
        if !objectives.isEmpty, let problem = ObjectiveName.problem(with: objectives.map(\.name)) {
            throw ConfigurationError("objectives: \(problem)")
        }
    }

    /// The largest values the configuration accepts.
    enum Limits {
        static let threads = 256
        static let context = 1 << 20
        static let batch = 256
        static let queue = 100_000
        static let bodyBytes = 1 << 30
        static let choices = 128
        static let seconds = 86_400.0
        static let mixture = 16
    }

    /// Reads `chatTemplatePath` into `chatTemplateSource` and parses it, so that a template the interpreter refuses
    /// stops the start with the construct named (docs/TOKENIZERS.md, "Chat templates").
    public mutating func loadChatTemplate() throws {
        guard let path = chatTemplatePath else {
            chatTemplateSource = nil
            return
        }
        guard RealPath.isRegularFile(path), let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the chat template file \(path) (it must be a regular file)")
        }
        guard data.count <= 1 << 20, let source = String(data: data, encoding: .utf8) else {
            throw ConfigurationError("the chat template file \(path) must be UTF-8 text of at most 1 MiB")
        }
        do {
            _ = try JinjaTemplate(source: source)
        } catch let error as TemplateError {
            throw ConfigurationError("the chat template file \(path) cannot be used: \(error)")
        }
        chatTemplateSource = source
    }

    /// Reads `apiKeysFile` into `apiKeys` (format: `APIKeyFile`).
    public mutating func loadAPIKeys() throws {
        guard let path = apiKeysFile, !path.isEmpty else { return }
        guard RealPath.isRegularFile(path), let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read the API keys file \(path) (it must be a regular file)")
        }
        apiKeys = try APIKeyFile.parse(String(decoding: data, as: UTF8.self), path: path)
    }
}

/// A configuration that cannot be used, with a message that says which value is wrong.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}
