import CommandLineSupport
import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Server

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the model over an OpenAI-compatible HTTP API (completions, chat, streaming, metrics)."
    )

    @Option(help: "Configuration file (TOML); flags override its values.")
    var config: String = "configs/raconteur.toml"
    @Option(help: ModelOptions.modelHelp) var model: String?
    @Option(help: "Address to listen on (loopback only when no API keys are configured).") var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (the chosen port is logged).") var port: Int?
    @Option(help: "Worker threads for the forward pass; 0 uses every core.") var threads: Int?
    @Option(help: "Tokens per sequence, prompt and completion together.") var ctx: Int?
    @Flag(name: .long, help: ModelOptions.mmapHelp) var mmap = false
    @Option(name: .customLong("max-batch"), help: "Sequences decoded together.") var maxBatch: Int?
    @Option(help: "Requests that may wait for a batch slot; more are answered 429.") var queue: Int?
    @Option(name: .customLong("api-keys"), help: "File with one API key per line.") var apiKeys: String?
    @Option(help: "Directory of adapter files: every *.gguf in it is loaded at start, and POST /v1/adapters loads from it.")
    var adapters: String?
    @Option(name: .customLong("keep-versions"), help: "Promoted versions kept per adapter for rollback and pinning (1 to 1000; default 10).")
    var keepVersions: Int?
    @Option(help: "Feedback store (SQLite file).") var store: String?
    @Option(help: "Alignment objectives, comma-separated (e.g. concise,detailed).") var objectives: String?
    @Option(name: .customLong("chat-template"), help: "Jinja chat template file used instead of the model file's own.")
    var chatTemplate: String?
    @Flag(name: .customLong("no-starter"),
          help: "Do not train the starter adapters at start-up (otherwise: when the adapters directory is empty and a bundled preference set fits the model and objectives).")
    var noStarter = false

    func run() throws {
        let settings = try loadConfiguration()
        try waitFor { try await Self.serve(settings) }
    }

    static func serve(_ configuration: ServerConfiguration) async throws {
        var settings = configuration
        var logger = Logger(label: "raconteur")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info

        if settings.isOpen {
            if !Self.isLoopback(settings.host) {
                logger.warning("no API keys are configured: listening on 127.0.0.1 instead of \(settings.host)")
                settings.host = "127.0.0.1"
            }
            logger.notice("no API keys are configured: the API is open to anyone who can reach \(settings.host) (loopback only)")
        } else {
            logger.notice("API keys required: \(settings.apiKeys.count) key(s) loaded from \(settings.apiKeysFile ?? "")")
            let plain = settings.apiKeys.filter(\.isPlain).count
            if plain > 0 {
                logger.notice("\(plain) key(s) in \(settings.apiKeysFile ?? "") name no scopes and may use every route; add scopes=inference,feedback or scopes=admin (docs/SERVER.md, \"API keys\")")
            }
        }
        logger.notice("loading \(settings.modelPath) as '\(settings.servedModelID)' with \(settings.effectiveThreads) thread(s)")
        let app = try await buildApplication(settings, logger: logger)
        try await app.runService()
    }

    /// The configuration file (when it exists, or when asked for by name), then the flags on top.
    func loadConfiguration() throws -> ServerConfiguration {
        var settings = ServerConfiguration()
        let explicitlyNamed = CommandLine.arguments.contains { $0 == "--config" || $0.hasPrefix("--config=") }
        do {
            if FileManager.default.fileExists(atPath: config) || explicitlyNamed {
                settings = try ServerConfiguration(contentsOfFile: config)
            }
            if let model { settings.modelPath = try ModelCatalogue.resolve(model); settings.modelName = nil }
            if let host { settings.host = host }
            if let port { settings.port = port }
            if let threads { settings.threads = threads }
            if let ctx { settings.contextLimit = ctx }
            if mmap { settings.modelStorage = .mapped }
            if let maxBatch { settings.maxBatch = maxBatch }
            if let queue { settings.maxQueued = queue }
            if let apiKeys { settings.apiKeysFile = apiKeys }
            if let adapters { settings.adaptersDirectory = adapters }
            if let keepVersions { settings.keepVersions = keepVersions }
            if let store { settings.storePath = store }
            if let chatTemplate { settings.chatTemplatePath = chatTemplate }
            if noStarter { settings.realign.starter = false }
            if let objectives {
                settings.objectives = objectives.split(separator: ",").map {
                    ServerConfiguration.Objective(name: $0.trimmingCharacters(in: .whitespaces))
                }
            }
            try settings.validate()
            try settings.loadAPIKeys()
            try settings.loadChatTemplate()
        } catch let error as ConfigurationError {
            throw CommandFailure(error.description)
        }
        return settings
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// Runs async work from a synchronous command and waits for it. The root command is synchronous (only `serve` is
/// async), so the main thread blocks here while the work runs on Swift concurrency's own threads.
func waitFor(_ work: @escaping @Sendable () async throws -> Void) throws {
    final class Outcome: @unchecked Sendable {
        var error: (any Error)?
    }
    let outcome = Outcome()
    let finished = DispatchSemaphore(value: 0)
    Task {
        do { try await work() } catch { outcome.error = error }
        finished.signal()
    }
    finished.wait()
    if let error = outcome.error { throw error }
}
