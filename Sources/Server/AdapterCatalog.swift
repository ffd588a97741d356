import Adapters
import Foundation
import Logging
import Model

/// The server's adapters: the live registry, the trade-off resolver over the configured objectives, and the one
/// directory adapter files may be loaded from (a client names a file in it, never an arbitrary path).
final class AdapterCatalog: Sendable {
    let registry: AdapterRegistry
    let resolver: TradeoffResolver
    let directory: String?
    let maxMixture: Int

    init(registry: AdapterRegistry, objectives: [String], directory: String?, maxMixture: Int) {
        self.registry = registry
        resolver = TradeoffResolver(objectives: objectives)
        self.directory = directory
        self.maxMixture = maxMixture
    }

    /// Loads every `*.gguf` in the directory (creating it when missing). A file that cannot be used (corrupt,
    /// half-written, for another model) is logged and skipped: it never serves, and the others still do.
    func loadDirectory(logger: Logger) {
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
                let version = try registry.load(name: name, path: path)
                logger.info("adapter '\(version.reference)' loaded from \(file): rank \(version.adapter.rank), \(version.adapter.matrices.count) projections")
            } catch {
                logger.error("adapter file \(file) skipped: \(error)")
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
        if let name = adapterFromModel {
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
}

/// How a response reports the adapters that produced it (`mixture` beside OpenAI's fields).
struct MixtureReport: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var id: String
        var version: Int
        var scale: Double
    }
    @EncodedAsNull var tradeoff: [String: Double]?
    var adapters: [Entry]
    var baseModelOnly: Bool
    /// Why the base model served a request that asked for a trade-off.
    var note: String?

    init(_ mixture: AdapterMixture) {
        tradeoff = mixture.tradeoff
        adapters = mixture.entries.map { Entry(id: $0.version.name, version: $0.version.version, scale: $0.scale) }
        baseModelOnly = mixture.isBase
        if mixture.isBase, mixture.tradeoff != nil {
            note = "no adapters are trained for these objectives yet: the base model served this request"
        }
    }

    private enum CodingKeys: String, CodingKey { case tradeoff, adapters, baseModelOnly = "base_model_only", note }
}
